from __future__ import annotations

from typing import Any

from skipjack.llm import AssistantMessage, Context, Model, Price, UserMessage, stream
from skipjack.llm.events import StreamEvent
from skipjack.llm.types import Api, RetryPolicy, Timeouts

PRICE = Price(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
FAST_RETRY = RetryPolicy(max_retries=3, base_delay_ms=10, max_delay_ms=2_000)


def model_for(url: str, api: Api = "openai-chat", **kw: Any) -> Model:
    return Model(provider="test", id="test-model", api=api, base_url=url, price=PRICE, **kw)


async def collect(model: Model, text: str = "hi", **kw: Any) -> tuple[list[StreamEvent], AssistantMessage, Any]:
    kw.setdefault("retry", FAST_RETRY)
    kw.setdefault("timeouts", Timeouts(connect_ms=2_000, first_byte_ms=5_000, idle_ms=5_000))
    s = stream(model, Context(messages=[UserMessage(text)]), **kw)
    events = [e async for e in s]
    message = await s.result()
    return events, message, s.error


def types(events: list[StreamEvent]) -> list[str]:
    return [e.type for e in events]
