"""Requests grouped into a report's rows, and the totals under them.

Costs are summed with `math.fsum`, as every other total in skipjack, so a row is the correctly
rounded sum of its requests. A request whose model has no known price adds its tokens but not
its cost: it is counted in `unpriced`, and a row with unpriced requests never reads as $0.
"""

from __future__ import annotations

import datetime
import functools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from skipjack.reports.records import Kind, Request

View: TypeAlias = Literal["daily", "weekly", "monthly", "sessions", "models", "projects"]
VIEWS: tuple[View, ...] = ("daily", "weekly", "monthly", "sessions", "models", "projects")


@dataclass(frozen=True)
class Row:
    key: str
    kind: Kind | None
    """Set when the report is broken out by kind (`--by kind`)."""
    requests: int
    input: int
    cache_read: int
    cache_write: int
    output: int
    cost: float
    """USD of the priced requests (computed and provider-reported)."""
    provider_cost: float
    """The part of `cost` the provider reported itself."""
    unpriced: int
    """Requests whose cost is unknown (no price for their model)."""
    saved: float
    models: tuple[str, ...]

    @property
    def total_tokens(self) -> int:
        return self.input + self.cache_read + self.cache_write + self.output

    @property
    def cache_hit_ratio(self) -> float:
        """cache_read ÷ (input + cache_read); 0 when nothing was sent."""
        prompt = self.input + self.cache_read
        return self.cache_read / prompt if prompt else 0.0


@dataclass(frozen=True)
class Filters:
    since: datetime.date | None = None
    until: datetime.date | None = None
    project: str | None = None
    """A resolved project root; None for every project."""
    model: str | None = None
    provider: str | None = None

    def keep(self, r: Request) -> bool:
        if self.since is not None or self.until is not None:
            day = local_day(r.ts)
            if self.since is not None and day < self.since:
                return False
            if self.until is not None and day > self.until:
                return False
        if self.project is not None and r.project != self.project:
            return False
        if self.provider is not None and r.provider != self.provider:
            return False
        return self.model is None or self.model in (r.model, f"{r.provider}/{r.model}")


def local_day(ts_ms: int) -> datetime.date:
    return _local_day_of_quarter_hour(ts_ms // 900_000)


@functools.lru_cache(maxsize=65_536)
def _local_day_of_quarter_hour(quarter: int) -> datetime.date:
    # Every UTC offset in use is a whole number of quarter hours, so a local midnight never
    # falls inside a quarter hour: one conversion serves all the requests within it.
    return datetime.datetime.fromtimestamp(quarter * 900).date()


def _week(r: Request) -> str:
    year, week, _ = local_day(r.ts).isocalendar()
    return f"{year}-W{week:02d}"


def key_function(view: View) -> Callable[[Request], str]:
    keys: dict[View, Callable[[Request], str]] = {
        "daily": lambda r: local_day(r.ts).isoformat(),
        "weekly": _week,
        "monthly": lambda r: local_day(r.ts).strftime("%Y-%m"),
        "sessions": lambda r: r.session,
        "models": lambda r: f"{r.provider}/{r.model}",
        "projects": lambda r: r.project,
    }
    return keys[view]


def group(requests: Iterable[Request], view: View, *, by_kind: bool = False) -> list[Row]:
    key_of = key_function(view)
    buckets: dict[tuple[str, Kind | None], list[Request]] = {}
    for r in requests:
        buckets.setdefault((key_of(r), r.kind if by_kind else None), []).append(r)
    rows = [summarise(key, kind, rs) for (key, kind), rs in buckets.items()]
    if view in ("daily", "weekly", "monthly", "sessions"):
        rows.sort(key=lambda row: (row.key, row.kind or ""))
    else:
        rows.sort(key=lambda row: (-row.cost, row.key, row.kind or ""))
    return rows


def summarise(key: str, kind: Kind | None, requests: Sequence[Request]) -> Row:
    priced = [r for r in requests if r.cost_source != "unknown"]
    return Row(
        key=key,
        kind=kind,
        requests=sum(r.requests for r in requests),
        input=sum(r.usage.input for r in requests),
        cache_read=sum(r.usage.cache_read for r in requests),
        cache_write=sum(r.usage.cache_write for r in requests),
        output=sum(r.usage.output for r in requests),
        cost=math.fsum(r.usage.cost.total for r in priced),
        provider_cost=math.fsum(r.usage.cost.total for r in priced if r.cost_source == "provider"),
        unpriced=sum(r.requests for r in requests if r.cost_source == "unknown"),
        saved=math.fsum(r.saved for r in priced),
        models=tuple(sorted({f"{r.provider}/{r.model}" for r in requests})),
    )
