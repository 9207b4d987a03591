"""Run limits: a run that reaches one ends with it as its stop reason."""

from __future__ import annotations

import msgspec

from skipjack.agent.events import RunStopReason
from skipjack.llm.types import Usage


class Limits(msgspec.Struct, frozen=True):
    """Per-run caps, checked after each turn the loop would otherwise continue from.

    A turn is never cut short: the limit stops the next model call, so the history stays
    whole (every tool call answered).
    """

    max_turns: int | None = None
    """Model calls per run."""
    max_cost: float | None = None
    """USD, summed from the run's assistant messages' `usage.cost.total`."""
    max_tokens: int | None = None
    """Tokens (`usage.total_tokens`) summed over the run's assistant messages."""

    def reached(self, turns: int, usage: Usage) -> RunStopReason | None:
        if self.max_turns is not None and turns >= self.max_turns:
            return "max_turns"
        if self.max_cost is not None and usage.cost.total >= self.max_cost:
            return "max_cost"
        if self.max_tokens is not None and usage.total_tokens >= self.max_tokens:
            return "max_tokens"
        return None
