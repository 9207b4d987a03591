"""Sums of canonical usage: per run, per agent, per session, per model.

Costs are summed with `math.fsum`, so a total over thousands of small per-request costs is
the correctly rounded sum of the figures the core computed, not an accumulation of float
rounding errors; every total in skipjack goes through here, so they all agree.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from skipjack.llm.types import AssistantMessage, Cost, Message, Usage


def sum_usage(usages: Iterable[Usage]) -> Usage:
    items = list(usages)
    return Usage(
        input=sum(u.input for u in items),
        output=sum(u.output for u in items),
        cache_read=sum(u.cache_read for u in items),
        cache_write=sum(u.cache_write for u in items),
        total_tokens=sum(u.total_tokens for u in items),
        cost=Cost(
            input=math.fsum(u.cost.input for u in items),
            output=math.fsum(u.cost.output for u in items),
            cache_read=math.fsum(u.cost.cache_read for u in items),
            cache_write=math.fsum(u.cost.cache_write for u in items),
            total=math.fsum(u.cost.total for u in items),
        ),
    )


def add_usage(a: Usage, b: Usage) -> Usage:
    return sum_usage((a, b))


def messages_usage(messages: Iterable[Message]) -> Usage:
    """The usage of every assistant message in `messages`, summed."""
    return sum_usage(m.usage for m in messages if isinstance(m, AssistantMessage))


def unpriced_requests(messages: Iterable[Message]) -> int:
    """Assistant messages whose cost is unknown (their model has no price)."""
    return sum(1 for m in messages if isinstance(m, AssistantMessage) and m.cost_source == "unknown")


def cost_text(total: float, unpriced: int = 0) -> str:
    """`$0.0123`; `$0.0123 + ? (2 unpriced)` when some requests have no known price, and
    `? (2 unpriced)` when none had one, so an unknown cost never reads as $0."""
    if not unpriced:
        return f"${total:.4f}"
    note = f"? ({unpriced} unpriced)"
    return note if total == 0 else f"${total:.4f} + {note}"
