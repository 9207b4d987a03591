"""`skipjack.llm.stream` over real loopback HTTP: the whole Rust path, fixture by fixture."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tests.conftest import SSE_FIXTURES
from tests.llm.helpers import collect, model_for, types

from skipjack.llm import ToolCall
from skipjack.llm.events import Done, Error, TextDelta, ToolCallEnd
from skipjack.testing import Reply, ScriptedToolCall, ScriptedTurn, SSEServer, openai_turn


async def test_text_answer_has_events_usage_and_real_cost(sse_server: SSEServer) -> None:
    body = openai_turn(ScriptedTurn(text="Hello wörld 🦀", prompt_tokens=1000, completion_tokens=50, cached_tokens=200))
    sse_server.enqueue(Reply.sse(body))
    events, message, error = await collect(model_for(sse_server.url))
    assert error is None
    assert types(events) == ["start", "text_start", "text_delta", "text_delta", "text_end", "done"]
    assert "".join(e.delta for e in events if isinstance(e, TextDelta)) == "Hello wörld 🦀"
    assert message.text == "Hello wörld 🦀"
    assert message.stop_reason == "stop"
    u = message.usage
    assert (u.input, u.cache_read, u.cache_write, u.output, u.total_tokens) == (800, 200, 0, 50, 1050)
    assert u.cost.input == pytest.approx(800 * 3.0 / 1e6)
    assert u.cost.cache_read == pytest.approx(200 * 0.3 / 1e6)
    assert u.cost.output == pytest.approx(50 * 15.0 / 1e6)
    assert u.cost.total == pytest.approx(u.cost.input + u.cost.cache_read + u.cost.output)
    assert u.cost.total > 0
    assert message.cost_source == "computed"


async def test_request_body_and_key_header(sse_server: SSEServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_PROVIDER_KEY", "sk-right")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong-provider")
    sse_server.enqueue(Reply.sse(openai_turn(ScriptedTurn(text="ok"))))
    model = model_for(sse_server.url, api_key_env="TEST_PROVIDER_KEY")
    await collect(model, "question", max_tokens=123, temperature=0.5)
    req = sse_server.requests[0]
    assert req.path == "/v1/chat/completions"
    assert req.headers["authorization"] == "Bearer sk-right"
    body = req.json()
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["messages"][-1]["role"] == "user"
    assert body["temperature"] == 0.5


async def test_no_key_sends_no_authorization(sse_server: SSEServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-other")
    sse_server.enqueue(Reply.sse(openai_turn(ScriptedTurn(text="ok"))))
    await collect(model_for(sse_server.url))
    assert "authorization" not in sse_server.requests[0].headers


async def test_parallel_tool_calls_keep_their_arguments(sse_server: SSEServer) -> None:
    calls = [
        ScriptedToolCall("read", {"path": "a.py"}, id="c1"),
        ScriptedToolCall("read", {"path": "b.py", "limit": 5}, id="c2"),
    ]
    sse_server.enqueue(Reply.sse(openai_turn(ScriptedTurn(tool_calls=calls))))
    events, message, _ = await collect(model_for(sse_server.url))
    ends = [e.tool_call for e in events if isinstance(e, ToolCallEnd)]
    assert ends == message.tool_calls
    assert message.tool_calls == [
        ToolCall("c1", "read", {"path": "a.py"}),
        ToolCall("c2", "read", {"path": "b.py", "limit": 5}),
    ]
    assert message.stop_reason == "tool_use"


@pytest.mark.parametrize("fixture", sorted((SSE_FIXTURES / "openai").glob("*.sse")), ids=lambda p: p.stem)
async def test_every_openai_fixture_ends_in_one_terminal_event(sse_server: SSEServer, fixture: Path) -> None:
    sse_server.enqueue(Reply.sse(fixture.read_bytes(), chunk_size=7))
    events, message, error = await collect(model_for(sse_server.url))
    terminal = [e for e in events if isinstance(e, Done | Error)]
    assert len(terminal) == 1
    assert events[-1] is terminal[0]
    assert (error is None) == isinstance(terminal[0], Done)
    assert message.usage.total_tokens == message.usage.input + message.usage.output + (
        message.usage.cache_read + message.usage.cache_write
    )


@pytest.mark.parametrize("fixture", sorted((SSE_FIXTURES / "anthropic").glob("*.sse")), ids=lambda p: p.stem)
async def test_every_anthropic_fixture_over_http(sse_server: SSEServer, fixture: Path) -> None:
    sse_server.enqueue(Reply.sse(fixture.read_bytes(), chunk_size=11))
    events, _, error = await collect(model_for(sse_server.root_url, api="anthropic-messages"), api_key="k")
    assert sum(isinstance(e, Done | Error) for e in events) == 1
    req = sse_server.requests[0]
    assert req.path == "/v1/messages"
    assert req.headers["x-api-key"] == "k"
    assert "authorization" not in req.headers
    if "error" in fixture.stem or "truncated" in fixture.stem:
        assert error is not None


async def test_one_byte_at_a_time_gives_the_same_message(sse_server: SSEServer) -> None:
    body = openai_turn(ScriptedTurn(text="naïve 日本語 ✓", tool_calls=[ScriptedToolCall("f", {"k": "é"})]))
    sse_server.enqueue(Reply.sse(body), Reply.sse(body, chunk_size=1, pause=0.0005))
    _, whole, _ = await collect(model_for(sse_server.url))
    _, trickled, _ = await collect(model_for(sse_server.url))
    assert trickled.content == whole.content
    assert trickled.usage == whole.usage


async def test_connections_are_reused_across_requests(sse_server: SSEServer) -> None:
    for _ in range(3):
        sse_server.enqueue(Reply.sse(openai_turn(ScriptedTurn(text="x"))))
    for _ in range(3):
        await collect(model_for(sse_server.url))
        # hyper marks a connection idle from its own task once the body ends; a request sent
        # in that same instant can miss it and dial anew. In an agent a tool run or a user
        # turn always separates two requests, which this gap stands for.
        await asyncio.sleep(0.02)
    assert len(sse_server.requests) == 3
    assert sse_server.connections_opened == 1
