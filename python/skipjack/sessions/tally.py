"""Running usage totals that equal `sum_usage` of everything added, bit for bit.

A session's cost is asked after every turn (the UI's status line, `rpc` state); summing the
whole session each time made a long session's turns slower and slower. Token counts are
integers; costs keep Shewchuk's exact partial sums (the algorithm behind `math.fsum`, whose
recipe is copied here because the stdlib keeps its partials private), so the total is the
correctly rounded exact sum, the same float `math.fsum` over all the items gives.
"""

from __future__ import annotations

import math

from skipjack.llm.types import Cost, Usage

_COST_FIELDS = ("input", "output", "cache_read", "cache_write", "total")


class _ExactSum:
    __slots__ = ("partials",)

    def __init__(self) -> None:
        self.partials: list[float] = []

    def add(self, x: float) -> None:
        # Shewchuk (1997), as in the Python recipe `msum`: non-overlapping partials whose
        # exact sum is the exact sum of every value added.
        partials = self.partials
        i = 0
        for y in partials:
            if abs(x) < abs(y):
                x, y = y, x
            hi = x + y
            lo = y - (hi - x)
            if lo:
                partials[i] = lo
                i += 1
            x = hi
        partials[i:] = [x]

    def value(self) -> float:
        return math.fsum(self.partials)


class UsageTally:
    """`add(usage)` in O(1); `total()` is `sum_usage` of every usage added."""

    def __init__(self) -> None:
        self.input = 0
        self.output = 0
        self.cache_read = 0
        self.cache_write = 0
        self.total_tokens = 0
        self._costs = {name: _ExactSum() for name in _COST_FIELDS}

    def add(self, usage: Usage) -> None:
        self.input += usage.input
        self.output += usage.output
        self.cache_read += usage.cache_read
        self.cache_write += usage.cache_write
        self.total_tokens += usage.total_tokens
        for name, acc in self._costs.items():
            acc.add(getattr(usage.cost, name))

    def total(self) -> Usage:
        c = {name: acc.value() for name, acc in self._costs.items()}
        return Usage(
            input=self.input,
            output=self.output,
            cache_read=self.cache_read,
            cache_write=self.cache_write,
            total_tokens=self.total_tokens,
            cost=Cost(**c),
        )
