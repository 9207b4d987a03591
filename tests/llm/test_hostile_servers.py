"""The core against hostile servers (issue 13): size caps, the total deadline, an idle timer
that keep-alives cannot fool, retries of an error event at the start of a 200 body, and a
connect timeout that is honoured per request."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.llm.helpers import collect, model_for, types

from skipjack.llm import InvalidResponseError, LLMTimeoutError, ServerError, StreamLimits
from skipjack.llm.events import Retry
from skipjack.llm.types import RetryPolicy, Timeouts
from skipjack.testing import Pause, Reply, ScriptedTurn, SSEServer, openai_turn

MiB = 1 << 20
OK = openai_turn(ScriptedTurn(text="recovered"))
PYTHON_DIR = Path(__file__).resolve().parents[2] / "python"


def chat_text(text: str) -> bytes:
    return b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": text}}]}).encode() + b"\n\n"


def anthropic_error(kind: str) -> bytes:
    data = {"type": "error", "error": {"type": kind, "message": "Overloaded"}}
    return b"event: error\ndata: " + json.dumps(data).encode() + b"\n\n"


ANTHROPIC_OK = b"".join(
    b"event: %s\ndata: %s\n\n" % (e["type"].encode(), json.dumps(e).encode())
    for e in [
        {"type": "message_start", "message": {"id": "msg_ok", "usage": {"input_tokens": 3}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "recovered"}},
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 2}},
        {"type": "message_stop"},
    ]
)

# A client in its own process, so its peak RSS is its own: it streams from the URL given
# and prints the error, the elapsed time and its memory before and after.
RSS_CLIENT = textwrap.dedent(
    """
    import asyncio, json, resource, sys, time
    from skipjack.llm import Context, Model, UserMessage, stream

    def rss_kib():
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))

    async def main():
        model = Model(provider="t", id="m", api="openai-chat", base_url=sys.argv[1])
        before = rss_kib()
        started = time.monotonic()
        s = stream(model, Context(messages=[UserMessage("hi")]))
        await s.result()
        print(json.dumps({
            "kind": s.error.kind if s.error else None,
            "message": s.error.message if s.error else None,
            "elapsed": time.monotonic() - started,
            "rss_before_kib": before,
            "peak_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }))

    asyncio.run(main())
    """
)


def test_a_1_gib_line_without_a_newline_ends_classified_with_bounded_memory(sse_server: SSEServer) -> None:
    chunk = b"x" * MiB
    sse_server.enqueue(Reply(body=[b"data: ", *([chunk] * 1024)]))
    env = {**os.environ, "PYTHONPATH": str(PYTHON_DIR)}
    done = subprocess.run(
        [sys.executable, "-c", RSS_CLIENT, sse_server.url],
        capture_output=True,
        text=True,
        timeout=20,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["kind"] == "invalid_response", report
    assert "16 MiB" in report["message"], report
    assert "limits.max_event_bytes" in report["message"], report
    growth_mib = (report["peak_kib"] - report["rss_before_kib"]) / 1024
    # The default 16 MiB cap (a doubling buffer may reserve twice that), bytes in flight and
    # allocator slack: 60-96 MiB measured alone, 186 MiB once in a full run under load; the
    # code before the cap grew past 2 GiB (the line is 1 GiB).
    assert growth_mib < 256, report
    assert report["elapsed"] < 10, report


async def test_text_past_the_configured_cap_ends_the_stream(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply(body=[chat_text("y" * 1000)] * 200))
    events, message, error = await collect(model_for(sse_server.url), limits=StreamLimits(max_message_bytes=50_000))
    assert isinstance(error, InvalidResponseError)
    assert "limits.max_message_bytes" in error.message
    assert len(message.text) == 50_000
    assert message.stop_reason == "error"
    assert types(events)[-1] == "error"


async def test_tool_arguments_past_the_configured_cap_end_the_stream(sse_server: SSEServer) -> None:
    def call(args: str, first: bool = False) -> bytes:
        tc: dict[str, object] = {"index": 0, "function": {"arguments": args}}
        if first:
            tc.update(id="c1", type="function", function={"name": "write", "arguments": args})
        body = {"choices": [{"index": 0, "delta": {"tool_calls": [tc]}}]}
        return b"data: " + json.dumps(body).encode() + b"\n\n"

    sse_server.enqueue(Reply(body=[call('{"content":"', first=True), *[call("a" * 1000)] * 100]))
    events, _, error = await collect(model_for(sse_server.url), limits=StreamLimits(max_tool_args_bytes=20_000))
    assert isinstance(error, InvalidResponseError)
    assert "limits.max_tool_args_bytes" in error.message
    streamed = sum(len(e.delta) for e in events if e.type == "toolcall_delta")
    assert streamed <= 20_000


async def test_an_event_within_the_cap_passes_and_one_past_it_fails(sse_server: SSEServer) -> None:
    big = chat_text("z" * 3000)
    sse_server.enqueue(Reply.sse(big + openai_turn(ScriptedTurn(text="!"))), Reply.sse(big))
    _, message, error = await collect(model_for(sse_server.url), limits=StreamLimits(max_event_bytes=len(big)))
    assert error is None
    assert message.text == "z" * 3000 + "!"
    _, _, error = await collect(model_for(sse_server.url), limits=StreamLimits(max_event_bytes=2000))
    assert isinstance(error, InvalidResponseError)


@pytest.mark.parametrize("keep_alive", [b": keep-alive\n\n", b"\n", b"\r\n", b":\n", b": ping\r\r", b"event: ping\n\n"])
async def test_keep_alives_alone_do_not_hold_the_idle_timer_off(sse_server: SSEServer, keep_alive: bytes) -> None:
    sse_server.enqueue(Reply(body=[chat_text("before "), *[keep_alive, Pause(0.1)] * 200]))
    started = time.monotonic()
    _, message, error = await collect(model_for(sse_server.url), timeouts=Timeouts(idle_ms=600))
    elapsed = time.monotonic() - started
    assert isinstance(error, LLMTimeoutError)
    assert "timeouts.idle_ms" in error.message
    assert message.text == "before "
    assert 0.6 <= elapsed < 3, elapsed


async def test_events_trickling_forever_end_at_the_total_deadline(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply(body=[*[chat_text("."), Pause(0.1)] * 300]))
    started = time.monotonic()
    _, message, error = await collect(model_for(sse_server.url), timeouts=Timeouts(idle_ms=500, total_ms=1500))
    elapsed = time.monotonic() - started
    assert isinstance(error, LLMTimeoutError)
    assert "timeouts.total_ms" in error.message
    assert message.text.startswith("...")
    assert 1.5 <= elapsed < 3.5, elapsed


async def test_a_first_event_error_is_retried_then_succeeds(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply.sse(anthropic_error("overloaded_error")), Reply.sse(ANTHROPIC_OK))
    events, message, error = await collect(model_for(sse_server.url, api="anthropic-messages"))
    assert error is None
    assert message.text == "recovered"
    retries = [e for e in events if isinstance(e, Retry)]
    assert len(retries) == 1
    assert isinstance(retries[0].error, ServerError)
    assert len(sse_server.requests) == 2
    assert types(events).count("start") == 1


async def test_an_openai_rate_limit_chunk_before_content_is_retried(sse_server: SSEServer) -> None:
    chunk = b'data: {"error":{"message":"Rate limit reached","code":429}}\n\n'
    sse_server.enqueue(Reply.sse(chunk), Reply.sse(OK))
    events, message, error = await collect(model_for(sse_server.url))
    assert error is None
    assert message.text == "recovered"
    assert [e.attempt for e in events if isinstance(e, Retry)] == [1]


async def test_an_error_event_after_content_is_not_retried(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply.sse(chat_text("partial") + b'data: {"error":{"message":"busy","code":503}}\n\n'))
    sse_server.enqueue(Reply.sse(OK))
    events, message, error = await collect(model_for(sse_server.url))
    assert isinstance(error, ServerError)
    assert message.text == "partial"
    assert not [e for e in events if isinstance(e, Retry)]
    assert len(sse_server.requests) == 1


@pytest.fixture
def black_hole() -> Iterator[str]:
    """A listener whose accept queue is full and never drained: connects to it hang, as to an
    address that drops SYNs, without leaving the loopback interface."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fill = []
    for _ in range(4):
        s = socket.socket()
        s.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            s.connect(("127.0.0.1", port))
        fill.append(s)
    time.sleep(0.05)
    probe = socket.socket()
    probe.settimeout(0.3)
    with pytest.raises(TimeoutError):
        probe.connect(("127.0.0.1", port))
    probe.close()
    yield f"http://127.0.0.1:{port}/v1"
    for s in [*fill, listener]:
        s.close()


async def test_connect_ms_is_honoured_per_request(black_hole: str) -> None:
    for connect_ms in (400, 1200, 400):
        started = time.monotonic()
        _, _, error = await collect(
            model_for(black_hole),
            retry=RetryPolicy(max_retries=0),
            timeouts=Timeouts(connect_ms=connect_ms, first_byte_ms=10_000),
        )
        elapsed_ms = (time.monotonic() - started) * 1000
        assert isinstance(error, LLMTimeoutError)
        assert "timeouts.connect_ms" in error.message
        assert connect_ms <= elapsed_ms < connect_ms + 600, (connect_ms, elapsed_ms)
