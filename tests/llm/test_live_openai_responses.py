"""Live OpenAI Responses checks: skipped without OPENAI_API_KEY (they cost a few cents).

They prove what fixtures cannot: that OpenAI accepts the request as built, that reasoning
comes back encrypted and is accepted again when replayed statelessly, and that usage and
cost are reported. Model: SKIPJACK_LIVE_RESPONSES_MODEL, default openai/gpt-5.1-codex-mini.
"""

from __future__ import annotations

import os

import pytest

from skipjack import models
from skipjack.llm import Context, Tool, ToolResultMessage, UserMessage, stream
from skipjack.llm.types import AssistantMessage, Model, RetryPolicy, ThinkingContent

pytestmark = pytest.mark.skipif(not os.environ.get("OPENAI_API_KEY"), reason="needs OPENAI_API_KEY (live test)")

WEATHER = Tool(
    name="get_weather",
    description="The current weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def _model() -> Model:
    ref = os.environ.get("SKIPJACK_LIVE_RESPONSES_MODEL", "openai/gpt-5.1-codex-mini")
    model = models.get_model(ref)
    assert model.api == "openai-responses", ref
    return model


async def _run(context: Context) -> AssistantMessage:
    s = stream(
        _model(),
        context,
        reasoning="low",
        max_tokens=2000,
        session_id="skipjack-live-test",
        retry=RetryPolicy(max_retries=2, base_delay_ms=1000, max_delay_ms=20_000),
    )
    _ = [e async for e in s]
    message = await s.result()
    assert s.error is None, s.error
    return message


async def test_tool_call_then_replayed_reasoning_is_accepted() -> None:
    system = "Use the get_weather tool to answer; then answer in one short sentence."
    history: list[UserMessage | AssistantMessage | ToolResultMessage] = [UserMessage("What's the weather in Oslo?")]
    first = await _run(Context(system_prompt=system, messages=list(history), tools=[WEATHER]))
    assert first.stop_reason == "tool_use", first
    call = first.tool_calls[0]
    assert call.name == "get_weather"
    assert "oslo" in str(call.arguments.get("city", "")).lower()
    assert first.usage.output > 0
    assert first.usage.cost.total > 0
    replayable = [b for b in first.content if isinstance(b, ThinkingContent) and b.signature]
    assert replayable, "no encrypted reasoning came back"
    history += [first, ToolResultMessage(call.id, call.name, "Sunny, 21 °C.")]
    # The server rejects a malformed or foreign reasoning item, so success means it was accepted.
    second = await _run(Context(system_prompt=system, messages=history, tools=[WEATHER]))
    assert second.stop_reason == "stop", second
    assert "21" in second.text
