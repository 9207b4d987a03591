"""Sums of canonical usage: per run, per agent, per session."""

from __future__ import annotations

from collections.abc import Iterable

from skipjack.llm.types import AssistantMessage, Cost, Message, Usage


def add_usage(a: Usage, b: Usage) -> Usage:
    """Field-by-field sum of two usages (tokens and each cost component)."""
    return Usage(
        input=a.input + b.input,
        output=a.output + b.output,
        cache_read=a.cache_read + b.cache_read,
        cache_write=a.cache_write + b.cache_write,
        total_tokens=a.total_tokens + b.total_tokens,
        cost=Cost(
            input=a.cost.input + b.cost.input,
            output=a.cost.output + b.cost.output,
            cache_read=a.cost.cache_read + b.cost.cache_read,
            cache_write=a.cost.cache_write + b.cost.cache_write,
            total=a.cost.total + b.cost.total,
        ),
    )


def sum_usage(usages: Iterable[Usage]) -> Usage:
    total = Usage.zero()
    for usage in usages:
        total = add_usage(total, usage)
    return total


def messages_usage(messages: Iterable[Message]) -> Usage:
    """The usage of every assistant message in `messages`, summed."""
    return sum_usage(m.usage for m in messages if isinstance(m, AssistantMessage))
