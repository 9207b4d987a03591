"""Abort mid-stream, mid-tool and mid-hook: nothing keeps running, the history stays whole."""

from __future__ import annotations

import asyncio
import time

import pytest

from skipjack.agent import AgentEnd, Hooks, MessageUpdate, ToolExecutionEnd, ToolExecutionStart
from skipjack.llm import AssistantMessage, Message, ToolCall, ToolResultMessage, UserMessage
from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn, stalled_reply

from .helpers import GateTool, Recorder, SubprocessTool, make_agent, process_gone, text_of


def assert_every_call_answered_once(messages: list[Message]) -> None:
    calls = [c.id for m in messages if isinstance(m, AssistantMessage) for c in m.tool_calls]
    results = [m.tool_call_id for m in messages if isinstance(m, ToolResultMessage)]
    assert sorted(calls) == sorted(results)


def assert_tool_events_paired(rec: Recorder) -> None:
    """Each call: exactly one start, then exactly one end."""
    tool_events = [(e.type, e.tool_call_id) for e in rec.events if isinstance(e, ToolExecutionStart | ToolExecutionEnd)]
    ids = {call_id for _, call_id in tool_events}
    for call_id in ids:
        assert [t for t, c in tool_events if c == call_id] == ["tool_execution_start", "tool_execution_end"]


def assert_nothing_else_running() -> None:
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []


async def test_abort_mid_stream_keeps_the_partial_message(scripted: ScriptedModel) -> None:
    scripted.enqueue(stalled_reply(ScriptedTurn(text="Let me think about this carefully")))
    agent = make_agent(scripted)
    rec = Recorder(agent)
    run = asyncio.create_task(agent.prompt("question"))
    await rec.wait_for(lambda e: isinstance(e, MessageUpdate) and e.event.type == "text_delta")
    aborted_at = time.monotonic()
    agent.abort()
    result = await run

    assert time.monotonic() - aborted_at < 2
    assert result.stop_reason == "aborted"
    assert not agent.is_running
    _, partial = agent.messages
    assert isinstance(partial, AssistantMessage)
    assert partial.stop_reason == "aborted"
    assert partial.text.startswith("Let me")
    end = rec.events[-1]
    assert isinstance(end, AgentEnd)
    assert end.stop_reason == "aborted"
    for _ in range(200):
        if scripted.server.disconnects:
            break
        await asyncio.sleep(0.01)
    assert scripted.server.disconnects, "the request was not cancelled"
    assert_nothing_else_running()

    # The agent takes the next prompt, and the partial answer is part of the conversation.
    scripted.enqueue(ScriptedTurn(text="Fine."))
    again = await agent.prompt("go on")
    assert again.stop_reason == "completed"
    sent = scripted.request_messages(1)
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "user"]
    assert sent[2]["content"] == partial.text


async def test_abort_mid_stream_answers_streamed_tool_calls(scripted: ScriptedModel) -> None:
    calls = [ScriptedToolCall("gate", {"name": "a"}, id="c1")]
    scripted.enqueue(stalled_reply(ScriptedTurn(text="Running it.", tool_calls=calls)))
    gate = GateTool()
    agent = make_agent(scripted, [gate])
    rec = Recorder(agent)
    run = asyncio.create_task(agent.prompt("go"))
    await rec.wait_for(lambda e: isinstance(e, MessageUpdate) and e.event.type == "toolcall_delta")
    agent.abort()
    result = await run
    assert result.stop_reason == "aborted"
    assert gate.started == []
    assert_every_call_answered_once(agent.messages)
    partial = agent.messages[1]
    assert isinstance(partial, AssistantMessage)
    assert partial.stop_reason == "aborted"
    assert [c.id for c in partial.tool_calls] == ["c1"]
    results = [m for m in agent.messages if isinstance(m, ToolResultMessage)]
    assert [text_of(r) for r in results] == ["not run: the user stopped the run"]

    scripted.enqueue(ScriptedTurn(text="ok"))
    assert (await agent.prompt("again")).stop_reason == "completed"
    sent = scripted.request_messages(1)
    sent_calls = [c["id"] for m in sent if m["role"] == "assistant" for c in m.get("tool_calls", [])]
    sent_results = [m["tool_call_id"] for m in sent if m["role"] == "tool"]
    assert sent_calls == sent_results == ["c1"]


async def test_abort_mid_tool_kills_the_subprocess(scripted: ScriptedModel) -> None:
    proc_tool = SubprocessTool()
    gate = GateTool()
    gate.gate("quick").set()
    calls = [
        ScriptedToolCall("gate", {"name": "quick"}, id="c1"),
        ScriptedToolCall("long_command", {}, id="c2"),
        ScriptedToolCall("gate", {"name": "queued"}, id="c3"),
    ]
    scripted.enqueue(ScriptedTurn(tool_calls=calls))
    agent = make_agent(scripted, [proc_tool, gate], tool_concurrency=2)
    rec = Recorder(agent)
    run = asyncio.create_task(agent.prompt("run it"))
    await asyncio.wait_for(proc_tool.spawned.wait(), 10)
    await rec.wait_for(lambda e: isinstance(e, ToolExecutionStart) and e.tool_call_id == "c3")
    assert proc_tool.pid is not None
    assert not process_gone(proc_tool.pid)
    started = time.monotonic()
    agent.abort()
    result = await run

    assert time.monotonic() - started < 5
    assert result.stop_reason == "aborted"
    assert process_gone(proc_tool.pid)
    by_id = {m.tool_call_id: m for m in agent.messages if isinstance(m, ToolResultMessage)}
    assert text_of(by_id["c1"]) == "quick done"
    assert text_of(by_id["c2"]) == "aborted: the user stopped the run while this call was running"
    # An interrupted call's result keeps what it had printed (the gate tool streams a line).
    assert text_of(by_id["c3"]) == (
        "aborted: the user stopped the run while this call was running; its output until then was:\n" + "queued waiting"
    )
    assert by_id["c2"].is_error
    assert [m.tool_call_id for m in agent.messages if isinstance(m, ToolResultMessage)] == ["c1", "c2", "c3"]
    assert len(scripted.requests) == 1, "no model call after abort"
    assert_tool_events_paired(rec)
    assert_nothing_else_running()

    scripted.enqueue(ScriptedTurn(text="Okay, stopped."))
    again = await agent.prompt("what happened?")
    assert again.stop_reason == "completed"
    assert [m["role"] for m in scripted.request_messages(1)][-5:] == ["assistant", "tool", "tool", "tool", "user"]


async def test_abort_while_a_call_waits_for_approval(scripted: ScriptedModel) -> None:
    asked = asyncio.Event()

    async def approve(call: ToolCall, args: object) -> None:
        asked.set()
        await asyncio.Event().wait()  # a person who never answers

    gate = GateTool()
    scripted.enqueue(ScriptedTurn(tool_calls=[ScriptedToolCall("gate", {"name": "a"}, id="c1")]))
    agent = make_agent(scripted, [gate], hooks=Hooks(before_tool_call=approve))
    run = asyncio.create_task(agent.prompt("go"))
    await asyncio.wait_for(asked.wait(), 10)
    agent.abort()
    result = await run
    assert result.stop_reason == "aborted"
    assert gate.started == []
    assert_every_call_answered_once(agent.messages)
    assert_nothing_else_running()


async def test_abort_during_a_context_hook(scripted: ScriptedModel) -> None:
    entered = asyncio.Event()

    async def slow_compaction(messages: list[Message]) -> list[Message]:
        entered.set()
        await asyncio.sleep(30)
        return messages

    agent = make_agent(scripted, hooks=Hooks(transform_context=slow_compaction))
    run = asyncio.create_task(agent.prompt("hi"))
    await asyncio.wait_for(entered.wait(), 10)
    agent.abort()
    result = await run
    assert result.stop_reason == "aborted"
    assert scripted.requests == []
    assert isinstance(agent.messages[0], UserMessage)
    last = agent.messages[-1]
    assert isinstance(last, AssistantMessage)
    assert (last.stop_reason, last.content) == ("aborted", [])
    assert_nothing_else_running()


async def test_cancelling_the_prompt_task_cleans_up_too(scripted: ScriptedModel) -> None:
    proc_tool = SubprocessTool()
    gate = GateTool()
    gate.gate("quick").set()
    calls = [ScriptedToolCall("gate", {"name": "quick"}, id="c1"), ScriptedToolCall("long_command", {}, id="c2")]
    scripted.enqueue(ScriptedTurn(tool_calls=calls))
    agent = make_agent(scripted, [proc_tool, gate])
    rec = Recorder(agent)
    run = asyncio.create_task(agent.prompt("go"))
    await asyncio.wait_for(proc_tool.spawned.wait(), 10)
    await rec.wait_for(lambda e: isinstance(e, ToolExecutionEnd) and e.tool_call_id == "c1")
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert proc_tool.pid is not None
    assert process_gone(proc_tool.pid)
    assert not agent.is_running
    assert_every_call_answered_once(agent.messages)
    by_id = {m.tool_call_id: text_of(m) for m in agent.messages if isinstance(m, ToolResultMessage)}
    assert by_id == {"c1": "quick done", "c2": "aborted: the user stopped the run while this call was running"}
    assert_tool_events_paired(rec)
    end = rec.events[-1]
    assert isinstance(end, AgentEnd)
    assert end.stop_reason == "aborted"
    assert_nothing_else_running()


async def test_abort_when_idle_is_harmless(scripted: ScriptedModel) -> None:
    agent = make_agent(scripted)
    agent.abort()
    scripted.enqueue(ScriptedTurn(text="hi"))
    assert (await agent.prompt("hello")).stop_reason == "completed"
