"""Limits end a run between turns; failed and cut-off model turns leave a usable history."""

from __future__ import annotations

import pytest

from skipjack.agent import Limits
from skipjack.llm import AssistantMessage, ToolResultMessage, UserMessage
from skipjack.testing import Reply, ScriptedModel, ScriptedToolCall, ScriptedTurn

from .helpers import EchoTool, make_agent, text_of


def tool_turn(n: int, prompt_tokens: int = 1000, completion_tokens: int = 500) -> ScriptedTurn:
    return ScriptedTurn(
        tool_calls=[ScriptedToolCall("echo", {"text": str(n)}, id=f"c{n}")],
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )


async def test_max_turns(scripted: ScriptedModel) -> None:
    scripted.enqueue(*[tool_turn(n) for n in range(5)])
    agent = make_agent(scripted, [EchoTool()], limits=Limits(max_turns=2))
    result = await agent.prompt("loop forever")
    assert result.stop_reason == "max_turns"
    assert result.turns == 2
    assert len(scripted.requests) == 2
    assert isinstance(agent.messages[-1], ToolResultMessage), "the last turn was finished, not cut short"


async def test_max_cost_sums_the_runs_canonical_cost(scripted: ScriptedModel) -> None:
    # Each turn: 1000 in at $3/M + 500 out at $15/M = $0.0105.
    scripted.enqueue(*[tool_turn(n) for n in range(5)])
    agent = make_agent(scripted, [EchoTool()], limits=Limits(max_cost=0.025))
    result = await agent.prompt("spend")
    assert result.stop_reason == "max_cost"
    assert result.turns == 3
    assert result.usage.cost.total == pytest.approx(3 * 0.0105)
    assert agent.usage_totals().cost.total == pytest.approx(3 * 0.0105)


async def test_max_tokens(scripted: ScriptedModel) -> None:
    scripted.enqueue(*[tool_turn(n, prompt_tokens=100, completion_tokens=50) for n in range(5)])
    agent = make_agent(scripted, [EchoTool()], limits=Limits(max_tokens=300))
    result = await agent.prompt("talk")
    assert result.stop_reason == "max_tokens"
    assert result.turns == 2
    assert result.usage.total_tokens == 300


async def test_limits_count_per_run_and_usage_totals_span_runs(scripted: ScriptedModel) -> None:
    scripted.enqueue(tool_turn(1), tool_turn(2), ScriptedTurn(text="a"), ScriptedTurn(text="b"))
    agent = make_agent(scripted, [EchoTool()], limits=Limits(max_turns=2))
    first = await agent.prompt("one")
    assert first.stop_reason == "max_turns"
    second = await agent.prompt("two")
    assert second.stop_reason == "completed"
    assert second.turns == 1
    assert agent.usage_totals().total_tokens == first.usage.total_tokens + second.usage.total_tokens


@pytest.mark.parametrize("arguments", ['{"text": "abc', {"text": "complete"}], ids=["truncated", "complete"])
async def test_tool_calls_of_a_length_stop_are_not_run(
    scripted: ScriptedModel, arguments: dict[str, object] | str
) -> None:
    echo = EchoTool()
    scripted.enqueue(
        ScriptedTurn(text="Writing", tool_calls=[ScriptedToolCall("echo", arguments, id="c1")], finish_reason="length"),
        ScriptedTurn(text="I will keep it shorter."),
    )
    agent = make_agent(scripted, [echo])
    result = await agent.prompt("write a lot")
    assert echo.calls == []
    cut = agent.messages[1]
    assert isinstance(cut, AssistantMessage)
    assert cut.stop_reason == "length"
    (tool_result,) = [m for m in agent.messages if isinstance(m, ToolResultMessage)]
    assert tool_result.is_error
    assert 'output token limit (stop reason "length")' in text_of(tool_result)
    # The model is told, and gets to try again.
    assert result.stop_reason == "completed"
    assert result.turns == 2
    assert scripted.request_messages(1)[-1]["role"] == "tool"


async def test_error_turn_is_recorded_and_the_next_prompt_works(scripted: ScriptedModel) -> None:
    scripted.enqueue(Reply.error(400, {"error": {"message": "messages[0]: unsupported thing"}}))
    agent = make_agent(scripted)
    result = await agent.prompt("first")
    assert result.stop_reason == "error"
    assert result.error_kind == "bad_request"
    assert result.error_message is not None
    assert "unsupported thing" in result.error_message
    _, failed = agent.messages
    assert isinstance(failed, AssistantMessage)
    assert failed.stop_reason == "error"
    assert failed.error_kind == "bad_request"

    scripted.enqueue(ScriptedTurn(text="Recovered."))
    again = await agent.prompt("second")
    assert again.stop_reason == "completed"
    # The empty failed turn is not replayed to the model.
    assert scripted.request_messages(1)[1:] == [
        {"role": "user", "content": "first"},
        {"role": "user", "content": "second"},
    ]
    assert [type(m) for m in agent.messages] == [UserMessage, AssistantMessage, UserMessage, AssistantMessage]


async def test_error_mid_stream_keeps_partial_text(scripted: ScriptedModel) -> None:
    partial = b'data: {"choices":[{"index":0,"delta":{"content":"Half an ans"}}]}\n\n'
    scripted.enqueue(Reply.sse(partial))  # the body ends without a finish: an invalid response
    agent = make_agent(scripted)
    result = await agent.prompt("q")
    assert result.stop_reason == "error"
    assert result.error_kind == "invalid_response"
    failed = agent.messages[-1]
    assert isinstance(failed, AssistantMessage)
    assert failed.text == "Half an ans"
    assert len(scripted.requests) == 1, "content had streamed: no silent retry"
