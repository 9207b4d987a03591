"""Live Azure OpenAI checks: skipped without an Azure resource and credential (they cost a
few cents). They prove what loopback tests cannot: that Azure accepts the request as built
with the key in `api-key` (or an Entra ID bearer token), over both wire APIs, with the
deployment name as the model id.

    AZURE_RESOURCE_NAME=...  AZURE_API_KEY=... (or AZURE_OPENAI_AD_TOKEN=...)
    SKIPJACK_LIVE_AZURE_RESPONSES_DEPLOYMENT   a reasoning deployment (default gpt-5-mini)
    SKIPJACK_LIVE_AZURE_CHAT_DEPLOYMENT        a chat deployment (default gpt-4.1-mini)
    SKIPJACK_LIVE_AZURE_BASE_MODEL             the registry model the Responses deployment
                                               serves (default: its own name)
"""

from __future__ import annotations

import os

import msgspec
import pytest

from skipjack.config.schema import ModelConfig, ProviderConfig
from skipjack.llm import Context, Tool, ToolResultMessage, UserMessage, stream
from skipjack.llm.types import AssistantMessage, Model, ReasoningEffort, RetryPolicy, ThinkingContent
from skipjack.models.registry import Registry

pytestmark = pytest.mark.skipif(
    not os.environ.get("AZURE_RESOURCE_NAME")
    or not (os.environ.get("AZURE_API_KEY") or os.environ.get("AZURE_OPENAI_AD_TOKEN")),
    reason="needs AZURE_RESOURCE_NAME and AZURE_API_KEY or AZURE_OPENAI_AD_TOKEN (live test)",
)

WEATHER = Tool(
    name="get_weather",
    description="The current weather in a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)
RETRY = RetryPolicy(max_retries=2, base_delay_ms=1000, max_delay_ms=20_000)


def _deployment(env_name: str, default: str, base_model: str | None = None) -> Model:
    deployment = os.environ.get(env_name, default)
    base = base_model or deployment
    custom = {"azure": ProviderConfig(models={deployment: ModelConfig(base_model=base)})}
    return Registry.bundled().with_custom(custom).get_model(f"azure/{deployment}")


async def _run(model: Model, context: Context, reasoning: ReasoningEffort | None = None) -> AssistantMessage:
    s = stream(model, context, max_tokens=2000, retry=RETRY, reasoning=reasoning)
    _ = [e async for e in s]
    message = await s.result()
    assert s.error is None, s.error
    return message


async def test_responses_deployment_calls_a_tool_and_accepts_its_replayed_reasoning() -> None:
    base = os.environ.get("SKIPJACK_LIVE_AZURE_BASE_MODEL")
    model = _deployment("SKIPJACK_LIVE_AZURE_RESPONSES_DEPLOYMENT", "gpt-5-mini", base)
    assert model.api == "openai-responses"
    assert model.base_url == f"https://{os.environ['AZURE_RESOURCE_NAME']}.openai.azure.com/openai/v1"
    system = "Use the get_weather tool to answer; then answer in one short sentence."
    history: list[UserMessage | AssistantMessage | ToolResultMessage] = [UserMessage("What's the weather in Oslo?")]
    first = await _run(model, Context(system_prompt=system, messages=list(history), tools=[WEATHER]), reasoning="low")
    assert first.stop_reason == "tool_use", first
    call = first.tool_calls[0]
    assert any(isinstance(b, ThinkingContent) and b.signature for b in first.content), "no encrypted reasoning"
    history += [first, ToolResultMessage(call.id, call.name, "Sunny, 21 °C.")]
    second = await _run(model, Context(system_prompt=system, messages=history, tools=[WEATHER]), reasoning="low")
    assert second.stop_reason == "stop", second
    assert "21" in second.text
    assert second.usage.cost.total > 0


async def test_chat_deployment_answers() -> None:
    model = _deployment("SKIPJACK_LIVE_AZURE_CHAT_DEPLOYMENT", "gpt-4.1-mini")
    model = msgspec.structs.replace(model, api="openai-chat")
    message = await _run(model, Context(messages=[UserMessage("Reply with the single word: pong")]))
    assert message.stop_reason == "stop", message
    assert "pong" in message.text.lower()
    assert message.usage.input > 0
