"""Stream one prompt's answer to stdout, with usage and cost on stderr."""

from __future__ import annotations

import os
import sys

from skipjack.llm import Context, Model, Price, UserMessage, stream
from skipjack.llm.events import Error, Retry, TextDelta


def model_from_env() -> Model:
    """Until the registry lands: an OpenAI-compatible model from the environment."""
    return Model(
        provider=os.environ.get("SKIPJACK_PROVIDER", "openai"),
        id=os.environ.get("SKIPJACK_MODEL", "gpt-4o-mini"),
        api="openai-chat",
        base_url=os.environ.get("SKIPJACK_BASE_URL", "https://api.openai.com/v1"),
        price=Price(
            input=float(os.environ.get("SKIPJACK_PRICE_INPUT", "0.15")),
            output=float(os.environ.get("SKIPJACK_PRICE_OUTPUT", "0.6")),
        ),
        api_key_env=os.environ.get("SKIPJACK_API_KEY_ENV", "OPENAI_API_KEY"),
    )


async def run_prompt(prompt: str) -> int:
    model = model_from_env()
    s = stream(model, Context(messages=[UserMessage(prompt)]))
    async for event in s:
        if isinstance(event, TextDelta):
            sys.stdout.write(event.delta)
            sys.stdout.flush()
        elif isinstance(event, Retry):
            print(f"retrying in {event.delay_ms / 1000:.1f} s: {event.error}", file=sys.stderr)
        elif isinstance(event, Error):
            print(f"\nerror ({event.error.kind}): {event.error}", file=sys.stderr)
            return 1
    message = await s.result()
    u = message.usage
    print(
        f"\n[{u.input} in, {u.cache_read} cached, {u.output} out · ${u.cost.total:.6f}]",
        file=sys.stderr,
    )
    return 0
