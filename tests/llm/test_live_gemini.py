"""Live Gemini and Vertex AI checks: skipped without credentials (they cost a few cents).

They prove what fixtures cannot: that Google accepts the request as built (schemas converted,
thinking configured), that a tool-call turn comes back signed and is accepted when replayed
with its `thoughtSignature`s, and that usage and cost are reported.

- Gemini API: GEMINI_API_KEY (or GOOGLE_API_KEY); model SKIPJACK_LIVE_GEMINI_MODEL,
  default google/gemini-2.5-flash.
- Vertex AI: GOOGLE_VERTEX_PROJECT and GOOGLE_VERTEX_LOCATION plus Application Default
  Credentials (GOOGLE_APPLICATION_CREDENTIALS or `gcloud auth application-default login`);
  models SKIPJACK_LIVE_VERTEX_MODEL (default google-vertex/gemini-2.5-flash) and
  SKIPJACK_LIVE_VERTEX_CLAUDE_MODEL (default google-vertex-anthropic/claude-haiku-4-5@20251001).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skipjack import models
from skipjack.llm import Context, Tool, ToolResultMessage, UserMessage, stream
from skipjack.llm.types import AssistantMessage, Model, RetryPolicy

WEATHER = Tool(
    name="get_weather",
    description="The current weather in a city.",
    parameters={
        "type": "object",
        "additionalProperties": False,
        "properties": {"city": {"type": "string"}, "unit": {"type": ["string", "null"], "enum": ["c", "f", None]}},
        "required": ["city"],
    },
)
_ADC = Path.home() / ".config" / "gcloud" / "application_default_credentials.json"
_HAS_ADC = bool(os.environ.get("GOOGLE_APPLICATION_CREDENTIALS")) or _ADC.is_file()
_HAS_VERTEX = bool(os.environ.get("GOOGLE_VERTEX_PROJECT") and os.environ.get("GOOGLE_VERTEX_LOCATION")) and _HAS_ADC
_GEMINI_KEY = next((os.environ[k] for k in ("GEMINI_API_KEY", "GOOGLE_API_KEY") if os.environ.get(k)), None)

needs_gemini = pytest.mark.skipif(_GEMINI_KEY is None, reason="needs GEMINI_API_KEY (live test)")
needs_vertex = pytest.mark.skipif(
    not _HAS_VERTEX, reason="needs GOOGLE_VERTEX_PROJECT, GOOGLE_VERTEX_LOCATION and Google credentials (live test)"
)


async def _run(model: Model, context: Context, api_key: str | None) -> AssistantMessage:
    s = stream(
        model,
        context,
        api_key=api_key,
        reasoning="low",
        max_tokens=2000,
        retry=RetryPolicy(max_retries=2, base_delay_ms=1000, max_delay_ms=30_000),
    )
    _ = [e async for e in s]
    message = await s.result()
    assert s.error is None, s.error
    return message


async def _tool_round_trip(model: Model, api_key: str | None) -> None:
    system = "Use the get_weather tool to answer; then answer in one short sentence."
    history: list[UserMessage | AssistantMessage | ToolResultMessage] = [UserMessage("What's the weather in Oslo?")]
    first = await _run(model, Context(system_prompt=system, messages=list(history), tools=[WEATHER]), api_key)
    assert first.stop_reason == "tool_use", first
    call = first.tool_calls[0]
    assert call.name == "get_weather"
    assert "oslo" in str(call.arguments.get("city", "")).lower()
    assert first.usage.output > 0
    assert first.usage.cost.total > 0
    history += [first, ToolResultMessage(call.id, call.name, "12 °C and raining")]
    second = await _run(model, Context(system_prompt=system, messages=history, tools=[WEATHER]), api_key)
    assert second.stop_reason == "stop", second
    assert "12" in second.text or "rain" in second.text.lower()


@needs_gemini
async def test_gemini_tool_call_replayed_with_signatures() -> None:
    model = models.get_model(os.environ.get("SKIPJACK_LIVE_GEMINI_MODEL", "google/gemini-2.5-flash"))
    assert model.api == "google-gemini"
    await _tool_round_trip(model, _GEMINI_KEY)


@needs_vertex
async def test_vertex_gemini_tool_call_with_adc() -> None:
    model = models.get_model(os.environ.get("SKIPJACK_LIVE_VERTEX_MODEL", "google-vertex/gemini-2.5-flash"))
    assert model.api == "google-vertex"
    await _tool_round_trip(model, None)


@needs_vertex
async def test_vertex_claude_tool_call_with_adc() -> None:
    ref = os.environ.get("SKIPJACK_LIVE_VERTEX_CLAUDE_MODEL", "google-vertex-anthropic/claude-haiku-4-5@20251001")
    model = models.get_model(ref)
    assert model.api == "google-vertex-anthropic"
    await _tool_round_trip(model, None)
