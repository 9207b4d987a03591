"""The OpenAI Responses wire API through `skipjack.llm.stream` over real loopback HTTP:
fixtures chunked over a socket, reasoning replayed on the next request, a 429 with
Retry-After, and cancel closing the socket."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from tests.conftest import SSE_FIXTURES
from tests.llm.helpers import collect, model_for, types

from skipjack.llm import (
    AssistantMessage,
    Context,
    ContextOverflowError,
    RateLimitedError,
    ServerError,
    ToolCall,
    ToolResultMessage,
    UserMessage,
    stream,
)
from skipjack.llm.errors import AbortedError
from skipjack.llm.events import Done, Error, Retry, TextDelta, ThinkingEnd
from skipjack.testing import (
    Reply,
    ScriptedToolCall,
    ScriptedTurn,
    SSEServer,
    Stall,
    encrypted_reasoning,
    responses_turn,
    sse_body,
)

RESPONSES = "openai-responses"
FIXTURES = sorted((SSE_FIXTURES / "openai_responses").glob("*.sse"))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
async def test_every_responses_fixture_over_http(sse_server: SSEServer, fixture: Path) -> None:
    sse_server.enqueue(Reply.sse(fixture.read_bytes(), chunk_size=7))
    events, message, error = await collect(model_for(sse_server.url, api=RESPONSES), api_key="sk-k")
    terminal = [e for e in events if isinstance(e, Done | Error)]
    assert len(terminal) == 1
    assert events[-1] is terminal[0]
    req = sse_server.requests[0]
    assert req.path == "/v1/responses"
    assert req.headers["authorization"] == "Bearer sk-k"
    body = req.json()
    assert (body["stream"], body["store"]) == (True, False)
    failing = any(word in fixture.stem for word in ("failed", "error", "truncated"))
    assert (error is not None) == failing, error
    assert message.api == RESPONSES
    u = message.usage
    assert u.total_tokens == u.input + u.output + u.cache_read + u.cache_write


async def test_classified_errors_keep_the_partial_message(sse_server: SSEServer) -> None:
    for name, kind in [
        ("failed_server_error", ServerError),
        ("failed_context_overflow", ContextOverflowError),
        ("error_event_midstream", RateLimitedError),
    ]:
        sse_server.enqueue(Reply.sse((SSE_FIXTURES / "openai_responses" / f"{name}.sse").read_bytes()))
        _, message, error = await collect(model_for(sse_server.url, api=RESPONSES))
        assert isinstance(error, kind), (name, error)
        assert message.stop_reason == "error"
    # A rate limit reported inside a 200 stream is not retried by the transport.
    assert len(sse_server.requests) == 3


async def test_text_usage_and_cost(sse_server: SSEServer) -> None:
    turn = ScriptedTurn(text="Hello wörld 🦀", prompt_tokens=1000, completion_tokens=50, cached_tokens=200)
    sse_server.enqueue(Reply.sse(responses_turn(turn), chunk_size=5))
    events, message, error = await collect(model_for(sse_server.url, api=RESPONSES))
    assert error is None
    assert types(events)[0] == "start"
    assert types(events)[-1] == "done"
    assert "".join(e.delta for e in events if isinstance(e, TextDelta)) == "Hello wörld 🦀"
    u = message.usage
    assert (u.input, u.cache_read, u.output) == (800, 200, 50)
    assert u.cost.total == pytest.approx(800 * 3.0 / 1e6 + 200 * 0.3 / 1e6 + 50 * 15.0 / 1e6)


async def test_reasoning_and_calls_are_replayed_on_the_next_request(sse_server: SSEServer) -> None:
    calls = [ScriptedToolCall("read", {"path": "a.py"}, id="c1"), ScriptedToolCall("read", {"path": "b.py"}, id="c2")]
    sse_server.enqueue(
        Reply.sse(responses_turn(ScriptedTurn(thinking="Both files.", tool_calls=calls)), chunk_size=3),
        Reply.sse(responses_turn(ScriptedTurn(text="done"), turn_index=1)),
    )
    model = model_for(sse_server.url, api=RESPONSES, reasoning=True)
    first = stream(model, Context(system_prompt="sys", messages=[UserMessage("go")]), session_id="s-1")
    events = [e async for e in first]
    turn: AssistantMessage = await first.result()
    thinking = next(e for e in events if isinstance(e, ThinkingEnd))
    assert thinking.thinking == "Both files."
    assert turn.tool_calls == [ToolCall("c1", "read", {"path": "a.py"}), ToolCall("c2", "read", {"path": "b.py"})]
    assert turn.stop_reason == "tool_use"
    history = [
        UserMessage("go"),
        turn,
        ToolResultMessage("c1", "read", "A"),
        ToolResultMessage("c2", "read", "B"),
    ]
    second = stream(model, Context(system_prompt="sys", messages=history), session_id="s-1")
    _ = [e async for e in second]
    assert (await second.result()).text == "done"
    body = sse_server.requests[1].json()
    assert body["instructions"] == "sys"
    assert body["include"] == ["reasoning.encrypted_content"]
    assert body["input"] == [
        {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "go"}]},
        {
            "type": "reasoning",
            "id": "rs_0",
            "summary": [{"type": "summary_text", "text": "Both files."}],
            "encrypted_content": encrypted_reasoning(0),
        },
        {"type": "function_call", "call_id": "c1", "name": "read", "arguments": '{"path":"a.py"}'},
        {"type": "function_call", "call_id": "c2", "name": "read", "arguments": '{"path":"b.py"}'},
        {"type": "function_call_output", "call_id": "c1", "output": "A"},
        {"type": "function_call_output", "call_id": "c2", "output": "B"},
    ]


async def test_429_with_retry_after_is_honoured(sse_server: SSEServer) -> None:
    sse_server.enqueue(
        Reply.error(
            429,
            {"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}},
            headers={"retry-after": "1"},
        ),
        Reply.sse(responses_turn(ScriptedTurn(text="recovered"))),
    )
    started = time.monotonic()
    events, message, error = await collect(model_for(sse_server.url, api=RESPONSES))
    waited = time.monotonic() - started
    assert error is None
    retry = next(e for e in events if isinstance(e, Retry))
    assert retry.delay_ms == 1000
    assert isinstance(retry.error, RateLimitedError)
    assert 0.9 < waited < 5
    assert message.text == "recovered"
    assert [r.path for r in sse_server.requests] == ["/v1/responses", "/v1/responses"]


async def test_cancel_closes_the_socket_promptly_and_keeps_partial(sse_server: SSEServer) -> None:
    body = responses_turn(ScriptedTurn(text="partial answer", chunk_chars=8))
    head = body[: body.index(b"event: response.completed")]
    sse_server.enqueue(Reply(body=[head, Stall()]))
    s = stream(model_for(sse_server.url, api=RESPONSES), Context(messages=[UserMessage("hi")]))
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
    assert message.text.startswith("partial ")
    for _ in range(100):
        if sse_server.disconnects:
            break
        await asyncio.sleep(0.005)
    assert sse_server.disconnects, "the server never saw the connection close"
    assert sse_server.disconnects[0] - cancelled_at < 0.05


def _failed_first(code: str, message: str) -> bytes:
    created = {"type": "response.created", "response": {"id": "resp_x", "status": "in_progress"}}
    failed = {"type": "response.failed", "response": {"id": "resp_x", "error": {"code": code, "message": message}}}
    return sse_body([created, failed], done=False, event_names=["response.created", "response.failed"])


async def test_an_error_before_any_content_is_retried_like_its_status(sse_server: SSEServer) -> None:
    sse_server.enqueue(
        Reply.sse(_failed_first("server_error", "The server had an error")),
        Reply.sse(responses_turn(ScriptedTurn(text="recovered"))),
    )
    events, message, error = await collect(model_for(sse_server.url, api=RESPONSES))
    assert error is None
    retry = next(e for e in events if isinstance(e, Retry))
    assert isinstance(retry.error, ServerError)
    assert message.text == "recovered"
    assert len(sse_server.requests) == 2


async def test_overflow_and_exhausted_quota_are_not_retried(sse_server: SSEServer) -> None:
    sse_server.enqueue(
        Reply.sse(_failed_first("context_length_exceeded", "Your input exceeds the context window")),
        Reply.sse(_failed_first("insufficient_quota", "You exceeded your current quota")),
    )
    _, _, overflow = await collect(model_for(sse_server.url, api=RESPONSES))
    assert isinstance(overflow, ContextOverflowError)
    _, _, quota = await collect(model_for(sse_server.url, api=RESPONSES))
    assert isinstance(quota, RateLimitedError)
    assert len(sse_server.requests) == 2
