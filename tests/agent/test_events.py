"""The events a run emits: exact order for a two-tool turn, JSON form, retries, usage."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from itertools import groupby

import pytest

from skipjack.agent import (
    AgentEnd,
    MessageEnd,
    MessageUpdate,
    ModelRetry,
    ToolExecutionEnd,
    ToolExecutionStart,
    ToolExecutionUpdate,
    TurnEnd,
    event_to_json,
)
from skipjack.llm import AssistantMessage, ToolResultMessage, UserMessage
from skipjack.testing import Reply, ScriptedModel, ScriptedToolCall, ScriptedTurn

from .helpers import GateTool, Recorder, make_agent, text_of


def collapse(types: Sequence[str]) -> list[str]:
    """Runs of one message_update / delta type shown once (their number depends on chunking)."""
    return [t for t, run in groupby(types) for _ in ([0] if t == "message_update" or "delta" in t else list(run))]


async def test_text_only_run(scripted: ScriptedModel) -> None:
    scripted.enqueue(ScriptedTurn(text="Hello there.", prompt_tokens=100, completion_tokens=20))
    agent = make_agent(scripted)
    rec = Recorder(agent)
    result = await agent.prompt("hi")
    assert result.stop_reason == "completed"
    assert result.turns == 1
    assert result.message is not None
    assert result.message.text == "Hello there."
    assert collapse(rec.types()) == [
        "agent_start",
        "turn_start",
        "message_start",
        "message_end",
        "message_start",
        "message_update",
        "message_end",
        "turn_end",
        "agent_end",
    ]
    updates = [e.event.type for e in rec.events if isinstance(e, MessageUpdate)]
    assert collapse(updates) == ["text_start", "text_delta", "text_end"]
    assert [type(m) for m in agent.messages] == [UserMessage, AssistantMessage]
    assert (result.usage.input, result.usage.output) == (100, 20)
    assert result.usage.cost.total == pytest.approx(100 * 3.0 / 1e6 + 20 * 15.0 / 1e6)
    assert agent.usage_totals() == result.usage
    body = scripted.request_body(0)
    assert body["messages"][0] == {"role": "system", "content": "You are a test."}
    assert body["messages"][1] == {"role": "user", "content": "hi"}


async def test_exact_event_order_for_a_two_tool_turn(scripted: ScriptedModel) -> None:
    gate = GateTool()
    calls = [ScriptedToolCall("gate", {"name": "a"}, id="c1"), ScriptedToolCall("gate", {"name": "b"}, id="c2")]
    scripted.enqueue(ScriptedTurn(text="Checking.", tool_calls=calls), ScriptedTurn(text="Both done."))
    agent = make_agent(scripted, [gate])
    rec = Recorder(agent)
    run = asyncio.create_task(agent.prompt("go"))
    # Both calls must be running at once; b finishes first, so its end comes first.
    await rec.wait_for(lambda e: isinstance(e, ToolExecutionUpdate) and e.tool_call_id == "c2")
    gate.gate("b").set()
    await rec.wait_for(lambda e: isinstance(e, ToolExecutionEnd) and e.tool_call_id == "c2")
    gate.gate("a").set()
    result = await run

    assert result.stop_reason == "completed"
    assert result.turns == 2
    assert collapse(rec.types()) == [
        "agent_start",
        "turn_start",
        "message_start",  # user
        "message_end",
        "message_start",  # assistant
        "message_update",
        "message_end",
        "tool_execution_start",  # c1
        "tool_execution_update",
        "tool_execution_start",  # c2
        "tool_execution_update",
        "tool_execution_end",  # c2
        "tool_execution_end",  # c1
        "message_start",  # result c1
        "message_end",
        "message_start",  # result c2
        "message_end",
        "turn_end",
        "turn_start",
        "message_start",  # assistant
        "message_update",
        "message_end",
        "turn_end",
        "agent_end",
    ]
    tool_events = [e for e in rec.events if isinstance(e, ToolExecutionStart | ToolExecutionEnd)]
    assert [(e.type, e.tool_call_id) for e in tool_events] == [
        ("tool_execution_start", "c1"),
        ("tool_execution_start", "c2"),
        ("tool_execution_end", "c2"),
        ("tool_execution_end", "c1"),
    ]
    first_turn_updates = []
    for e in rec.events:
        if isinstance(e, MessageUpdate):
            first_turn_updates.append(e.event.type)
        if isinstance(e, TurnEnd):
            break
    # The chat-completions protocol closes tool calls only at the finish chunk.
    assert collapse(first_turn_updates) == [
        "text_start",
        "text_delta",
        "text_end",
        "toolcall_start",
        "toolcall_delta",
        "toolcall_start",
        "toolcall_delta",
        "toolcall_end",
        "toolcall_end",
    ]
    ends = [e.message for e in rec.events if isinstance(e, MessageEnd)]
    assert ends == agent.messages, "message_end events replay the history exactly"
    results = [m for m in agent.messages if isinstance(m, ToolResultMessage)]
    assert [(r.tool_call_id, text_of(r)) for r in results] == [("c1", "a done"), ("c2", "b done")]
    turn_end = next(e for e in rec.events if isinstance(e, TurnEnd))
    assert turn_end.tool_results == results
    assert turn_end.message.tool_calls[0].id == "c1"


async def test_every_event_serialises_to_json(scripted: ScriptedModel) -> None:
    gate = GateTool()
    gate.gate("a").set()
    scripted.enqueue(
        ScriptedTurn(thinking="hmm", text="On it.", tool_calls=[ScriptedToolCall("gate", {"name": "a"}, id="c1")]),
        ScriptedTurn(text="Done."),
    )
    agent = make_agent(scripted, [gate])
    rec = Recorder(agent)
    await agent.prompt("go")
    lines = [json.dumps(event_to_json(e)) for e in rec.events]
    decoded = [json.loads(line) for line in lines]
    assert [d["type"] for d in decoded] == rec.types()
    updates = [d["event"] for d in decoded if d["type"] == "message_update"]
    assert {"type": "thinking_delta", "index": 0, "delta": "hmm"} in updates
    call_end = next(u for u in updates if u["type"] == "toolcall_end")
    assert call_end["tool_call"] == {
        "type": "tool_call",
        "id": "c1",
        "name": "gate",
        "arguments": {"name": "a"},
        "arguments_error": None,
    }
    text_end = next(u for u in updates if u["type"] == "text_end")
    assert text_end == {"type": "text_end", "index": 1, "text": "On it."}
    tool_update = next(d for d in decoded if d["type"] == "tool_execution_update")
    assert tool_update == {"type": "tool_execution_update", "tool_call_id": "c1", "chunk": "a waiting\n"}
    end = decoded[-1]
    assert end["type"] == "agent_end"
    assert end["stop_reason"] == "completed"
    assert end["usage"]["cost"]["total"] > 0
    message_end = next(d for d in decoded if d["type"] == "message_end" and d["message"]["role"] == "tool_result")
    assert message_end["message"]["tool_call_id"] == "c1"


async def test_retry_is_reported_before_the_message(scripted: ScriptedModel) -> None:
    scripted.enqueue(Reply.error(503, {"error": {"message": "overloaded"}}), ScriptedTurn(text="ok"))
    agent = make_agent(scripted)
    rec = Recorder(agent)
    result = await agent.prompt("hi")
    assert result.stop_reason == "completed"
    retry = next(e for e in rec.events if isinstance(e, ModelRetry))
    assert (retry.attempt, retry.error_kind) == (1, "server")
    assert "overloaded" in retry.error_message
    types = rec.types()
    assert types.index("retry") < types.index("message_update")
    assert event_to_json(retry)["type"] == "retry"


async def test_events_stream_for_headless_consumers(scripted: ScriptedModel) -> None:
    scripted.enqueue(ScriptedTurn(text="streamed"))
    agent = make_agent(scripted)
    seen: list[str] = []
    async with agent.events() as events:
        run = asyncio.create_task(agent.prompt("hi"))
        async for event in events:
            seen.append(event.type)
            if isinstance(event, AgentEnd):
                break
    await run
    assert seen[0] == "agent_start"
    assert seen[-1] == "agent_end"
    assert "message_update" in seen
    # Closed streams stop delivering and end iteration at once.
    scripted.enqueue(ScriptedTurn(text="again"))
    await agent.prompt("again")
    assert [e async for e in events] == []


def test_type_attribute_equals_the_serialised_tag() -> None:
    from typing import get_args

    from skipjack.agent import AgentEvent

    classes = get_args(AgentEvent)
    assert len(classes) == 11
    for cls in classes:
        assert cls.type == cls.__struct_config__.tag, cls
    assert len({cls.type for cls in classes}) == len(classes)
