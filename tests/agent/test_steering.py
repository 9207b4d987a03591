"""Steering skips tool calls not yet started; follow-ups continue a run that would stop."""

from __future__ import annotations

import asyncio

import pytest

from skipjack.agent import AgentEnd, AgentEvent, AgentStart, MessageUpdate, ToolExecutionStart, TurnStart
from skipjack.llm import AssistantMessage, ToolResultMessage, UserMessage
from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn

from .helpers import GateTool, Recorder, make_agent, text_of


async def test_steering_skips_calls_not_yet_started_and_arrives_before_the_next_call(
    scripted: ScriptedModel,
) -> None:
    gate = GateTool()
    calls = [ScriptedToolCall("gate", {"name": n}, id=f"c_{n}") for n in ("a", "b", "c")]
    scripted.enqueue(ScriptedTurn(tool_calls=calls), ScriptedTurn(text="Changing course."))
    agent = make_agent(scripted, [gate], tool_concurrency=1)
    rec = Recorder(agent)
    run = asyncio.create_task(agent.prompt("do three things"))
    await rec.wait_for(lambda e: isinstance(e, ToolExecutionStart) and e.tool_call_id == "c_a")
    agent.steer("stop, do something else")
    gate.gate("a").set()
    result = await run

    assert result.stop_reason == "completed"
    assert gate.started == ["a"], "b and c never ran"
    results = [m for m in agent.messages if isinstance(m, ToolResultMessage)]
    assert [(r.tool_call_id, r.is_error, text_of(r)) for r in results] == [
        ("c_a", False, "a done"),
        ("c_b", True, "skipped: the user sent a new message before this call started"),
        ("c_c", True, "skipped: the user sent a new message before this call started"),
    ]
    # The next request carries all three results, then the steering message.
    roles = [(m["role"], m.get("content")) for m in scripted.request_messages(1)[1:]]
    assert roles[0][0] == "user"
    assert roles[1][0] == "assistant"
    assert [r for r, _ in roles[2:5]] == ["tool", "tool", "tool"]
    assert roles[5] == ("user", "stop, do something else")
    assert len(roles) == 6
    assert isinstance(agent.messages[-2], UserMessage)
    assert isinstance(agent.messages[-1], AssistantMessage)


async def test_steering_after_the_model_stopped_continues_the_run(scripted: ScriptedModel) -> None:
    scripted.enqueue(ScriptedTurn(text="First answer."), ScriptedTurn(text="Second answer."))
    agent = make_agent(scripted)
    rec = Recorder(agent)

    def steer_once(event: AgentEvent) -> None:
        # While the first answer streams: the run must not stop with the message pending.
        if isinstance(event, MessageUpdate) and "also this" not in str(agent.messages):
            agent.steer("also this")

    unsubscribe = agent.subscribe(steer_once)
    result = await agent.prompt("question")
    unsubscribe()
    assert result.stop_reason == "completed"
    assert result.turns == 2
    assert len(scripted.requests) == 2
    assert scripted.request_messages(1)[-1] == {"role": "user", "content": "also this"}
    assert rec.types().count("agent_start") == 1


async def test_follow_ups_restart_the_loop_after_it_would_stop(scripted: ScriptedModel) -> None:
    scripted.enqueue(ScriptedTurn(text="Answer one."), ScriptedTurn(text="Answer two."), ScriptedTurn(text="Three."))
    agent = make_agent(scripted)
    rec = Recorder(agent)
    # Queued during turn 2: held until that turn's answer is in, then it starts turn 3.
    agent.subscribe(lambda e: agent.follow_up("and then?") if isinstance(e, TurnStart) and e.turn == 2 else None)
    agent.follow_up("one more")
    result = await agent.prompt("first")

    assert result.stop_reason == "completed"
    assert result.turns == 3
    assert result.message is not None
    assert result.message.text == "Three."
    assert [(type(m).__name__, getattr(m, "text", None) or getattr(m, "content", None)) for m in agent.messages] == [
        ("UserMessage", "first"),
        ("AssistantMessage", "Answer one."),
        ("UserMessage", "one more"),
        ("AssistantMessage", "Answer two."),
        ("UserMessage", "and then?"),
        ("AssistantMessage", "Three."),
    ]
    assert scripted.request_messages(1)[-1] == {"role": "user", "content": "one more"}
    assert scripted.request_messages(2)[-1] == {"role": "user", "content": "and then?"}
    assert [type(e) for e in rec.events if isinstance(e, AgentStart | AgentEnd)] == [AgentStart, AgentEnd]


async def test_queued_follow_up_does_not_preempt_tool_calls(scripted: ScriptedModel) -> None:
    gate = GateTool()
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("gate", {"name": "a"}, id="c1")]),
        ScriptedTurn(text="Tool done."),
        ScriptedTurn(text="Follow-up answered."),
    )
    agent = make_agent(scripted, [gate])
    rec = Recorder(agent)
    run = asyncio.create_task(agent.prompt("go"))
    await rec.wait_for(lambda e: isinstance(e, ToolExecutionStart))
    agent.follow_up("later")
    gate.gate("a").set()
    result = await run
    assert result.turns == 3
    results = [m for m in agent.messages if isinstance(m, ToolResultMessage)]
    assert [text_of(r) for r in results] == ["a done"], "a follow-up skips nothing"
    assert scripted.request_messages(1)[-1]["role"] == "tool"
    assert scripted.request_messages(2)[-1] == {"role": "user", "content": "later"}


async def test_prompt_while_running_is_refused(scripted: ScriptedModel) -> None:
    gate = GateTool()
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("gate", {"name": "a"}, id="c1")]), ScriptedTurn(text="k")
    )
    agent = make_agent(scripted, [gate])
    rec = Recorder(agent)
    run = asyncio.create_task(agent.prompt("go"))
    await rec.wait_for(lambda e: isinstance(e, ToolExecutionStart))
    with pytest.raises(RuntimeError, match="steer"):
        await agent.prompt("me too")
    gate.gate("a").set()
    assert (await run).stop_reason == "completed"
    assert len(scripted.requests) == 2
