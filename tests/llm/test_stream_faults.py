"""The core against a misbehaving server: retries, timeouts, resets, truncation, cancel."""

from __future__ import annotations

import asyncio
import gc
import socket
import time

from tests.llm.helpers import collect, model_for, types

from skipjack.llm import (
    AuthError,
    Context,
    ContextOverflowError,
    InvalidResponseError,
    LLMTimeoutError,
    NetworkError,
    RateLimitedError,
    ServerError,
    UserMessage,
    stream,
)
from skipjack.llm.errors import AbortedError
from skipjack.llm.events import Error, Retry, TextDelta
from skipjack.llm.types import RetryPolicy, Timeouts
from skipjack.testing import Pause, Reply, Reset, ScriptedTurn, SSEServer, Stall, openai_turn

OK = openai_turn(ScriptedTurn(text="recovered"))
PARTIAL = b'data: {"choices":[{"index":0,"delta":{"content":"partial "}}]}\n\n'


async def test_503_then_success_is_retried_visibly(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply.error(503, {"error": {"message": "busy"}}), Reply.sse(OK))
    events, message, error = await collect(model_for(sse_server.url))
    assert error is None
    retries = [e for e in events if isinstance(e, Retry)]
    assert len(retries) == 1
    assert retries[0].attempt == 1
    assert isinstance(retries[0].error, ServerError)
    assert retries[0].error.status == 503
    assert message.text == "recovered"
    assert len(sse_server.requests) == 2


async def test_429_retry_after_is_honoured(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply.error(429, "slow down", headers={"retry-after": "1"}), Reply.sse(OK))
    started = time.monotonic()
    events, message, _ = await collect(model_for(sse_server.url))
    waited = time.monotonic() - started
    retry = next(e for e in events if isinstance(e, Retry))
    assert retry.delay_ms == 1000
    assert isinstance(retry.error, RateLimitedError)
    assert retry.error.retry_after == 1.0
    assert 0.9 < waited < 5
    assert message.text == "recovered"


async def test_retry_after_ms_header_wins(sse_server: SSEServer) -> None:
    headers = {"retry-after-ms": "30", "retry-after": "20"}
    sse_server.enqueue(Reply.error(429, "x", headers=headers), Reply.sse(OK))
    events, _, _ = await collect(model_for(sse_server.url))
    assert next(e for e in events if isinstance(e, Retry)).delay_ms == 30


async def test_wait_longer_than_the_cap_fails_fast_with_the_servers_figure(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply.error(429, "x", headers={"retry-after": "3600"}))
    started = time.monotonic()
    events, message, error = await collect(model_for(sse_server.url))
    assert time.monotonic() - started < 2
    assert isinstance(error, RateLimitedError)
    assert "3600 s" in error.message
    assert message.stop_reason == "error"
    assert types(events) == ["start", "error"]


async def test_retries_give_up_after_the_limit(sse_server: SSEServer) -> None:
    sse_server.enqueue(*[Reply.error(502, "bad gateway")] * 4)
    events, _, error = await collect(model_for(sse_server.url))
    assert isinstance(error, ServerError)
    assert [e.attempt for e in events if isinstance(e, Retry)] == [1, 2, 3]
    assert len(sse_server.requests) == 4


async def test_auth_error_is_not_retried(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply.error(401, {"error": {"message": "Incorrect API key provided"}}))
    _, message, error = await collect(model_for(sse_server.url))
    assert isinstance(error, AuthError)
    assert error.status == 401
    assert "Incorrect API key" in (message.error_message or "")
    assert message.error_kind == "auth"
    assert len(sse_server.requests) == 1


async def test_context_overflow_is_classified(sse_server: SSEServer) -> None:
    body = {"error": {"code": 400, "message": "the request exceeds the available context size",
                      "type": "exceed_context_size_error"}}  # fmt: skip
    sse_server.enqueue(Reply.error(400, body))
    _, _, error = await collect(model_for(sse_server.url))
    assert isinstance(error, ContextOverflowError)


async def test_stall_before_headers_times_out(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply(stall_before_headers=True))
    started = time.monotonic()
    _, _, error = await collect(
        model_for(sse_server.url),
        retry=RetryPolicy(max_retries=0),
        timeouts=Timeouts(first_byte_ms=300, idle_ms=5_000),
    )
    assert isinstance(error, LLMTimeoutError)
    assert time.monotonic() - started < 3


async def test_stall_mid_stream_keeps_partial_content(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply(body=[PARTIAL, Stall()]))
    events, message, error = await collect(model_for(sse_server.url), timeouts=Timeouts(idle_ms=300))
    assert isinstance(error, LLMTimeoutError)
    assert message.text == "partial "
    assert message.stop_reason == "error"
    assert types(events)[-1] == "error"


async def test_reset_mid_stream_keeps_partial_content(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply(body=[PARTIAL, Pause(0.05), Reset()]))
    _, message, error = await collect(model_for(sse_server.url))
    assert isinstance(error, NetworkError)
    assert message.text == "partial "
    assert len(sse_server.requests) == 1, "content was streamed: no silent replay"


async def test_truncated_stream_is_an_error_not_done(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply.sse(PARTIAL))
    _, message, error = await collect(model_for(sse_server.url))
    assert isinstance(error, InvalidResponseError)
    assert message.text == "partial "


async def test_unreachable_server_is_a_network_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    events, _, error = await collect(model_for(f"http://127.0.0.1:{port}/v1"), retry=RetryPolicy(1, 10, 100))
    assert isinstance(error, NetworkError)
    assert sum(isinstance(e, Retry) for e in events) == 1


async def test_cancel_closes_the_socket_promptly_and_keeps_partial(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply(body=[PARTIAL, Stall()]))
    s = stream(model_for(sse_server.url), Context(messages=[UserMessage("hi")]))
    async for event in s:
        if isinstance(event, TextDelta):
            break
    cancelled_at = time.monotonic()
    s.cancel()
    events = [e async for e in s]
    assert isinstance(events[-1], Error)
    assert isinstance(events[-1].error, AbortedError)
    message = await s.result()
    assert message.stop_reason == "aborted"
    assert message.text == "partial "
    for _ in range(100):
        if sse_server.disconnects:
            break
        await asyncio.sleep(0.005)
    assert sse_server.disconnects, "the server never saw the connection close"
    assert sse_server.disconnects[0] - cancelled_at < 0.05


async def test_dropping_the_stream_closes_the_connection(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply(body=[PARTIAL, Stall()]))
    s = stream(model_for(sse_server.url), Context(messages=[UserMessage("hi")]))
    async for event in s:
        if isinstance(event, TextDelta):
            break
    del s, event
    gc.collect()
    for _ in range(200):
        if sse_server.disconnects:
            break
        await asyncio.sleep(0.005)
    assert sse_server.disconnects


async def test_cancel_during_retry_wait_aborts(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply.error(503, "busy", headers={"retry-after": "30"}))
    s = stream(
        model_for(sse_server.url),
        Context(messages=[UserMessage("hi")]),
        retry=RetryPolicy(max_retries=2, max_delay_ms=60_000),
    )
    async for event in s:
        if isinstance(event, Retry):
            s.cancel()
    assert s.error is not None
    assert s.error.kind == "aborted"
