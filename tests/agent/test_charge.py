"""Spending outside model turns (compaction summaries) counts toward limits and totals."""

from __future__ import annotations

from skipjack.agent import Agent, Hooks, Limits
from skipjack.llm.types import Cost, Message, Usage
from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import scripted_model, turn_reply

SUMMARY = Usage(1000, 200, 0, 0, 1200, Cost(0.5, 0.5, 0.0, 0.0, 1.0))


async def test_charged_usage_reaches_the_cost_limit_and_totals(sse_server: SSEServer) -> None:
    call = ScriptedToolCall("nothing_here", {}, id="c1")
    sse_server.enqueue(turn_reply(ScriptedTurn(tool_calls=[call])), turn_reply(ScriptedTurn(text="done")))
    agent = Agent(scripted_model(sse_server.url), limits=Limits(max_cost=0.9))

    async def charge_a_summary(messages: list[Message]) -> list[Message]:
        agent.charge(SUMMARY)  # what the compactor does after summarising
        return messages

    agent.hooks = Hooks(transform_context=charge_a_summary)
    result = await agent.prompt("go")
    assert result.stop_reason == "max_cost", "one model turn costs cents; the summary's $1 crossed the limit"
    assert result.turns == 1
    assert result.usage.cost.total > 1.0
    assert agent.usage_totals().cost.total == result.usage.cost.total
