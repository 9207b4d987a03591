"""A report as a Rich table, JSON or CSV: the same rows and figures in all three."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from skipjack.reports.aggregate import Row, summarise
from skipjack.reports.records import Problem

BAR_WIDTH = 16
COLUMNS = (
    "key",
    "kind",
    "requests",
    "input",
    "cache_read",
    "cache_write",
    "output",
    "total_tokens",
    "cost",
    "provider_cost",
    "unpriced",
    "cache_hit_ratio",
    "saved",
    "models",
)


def row_dict(row: Row) -> dict[str, Any]:
    return {
        "key": row.key,
        "kind": row.kind,
        "requests": row.requests,
        "input": row.input,
        "cache_read": row.cache_read,
        "cache_write": row.cache_write,
        "output": row.output,
        "total_tokens": row.total_tokens,
        "cost": row.cost,
        "provider_cost": row.provider_cost,
        "unpriced": row.unpriced,
        "cache_hit_ratio": row.cache_hit_ratio,
        "saved": row.saved,
        "models": list(row.models),
    }


def totals(rows: Sequence[Row]) -> Row:
    """The sum of `rows` (a row with the key "total")."""
    import math

    return Row(
        key="total",
        kind=None,
        requests=sum(r.requests for r in rows),
        input=sum(r.input for r in rows),
        cache_read=sum(r.cache_read for r in rows),
        cache_write=sum(r.cache_write for r in rows),
        output=sum(r.output for r in rows),
        cost=math.fsum(r.cost for r in rows),
        provider_cost=math.fsum(r.provider_cost for r in rows),
        unpriced=sum(r.unpriced for r in rows),
        saved=math.fsum(r.saved for r in rows),
        models=tuple(sorted({m for r in rows for m in r.models})),
    )


def as_json(view: str, rows: Sequence[Row], problems: Sequence[Problem]) -> str:
    total = totals(rows)
    document = {
        "view": view,
        "rows": [row_dict(r) for r in rows],
        "totals": row_dict(total) | {"computed_cost": total.cost - total.provider_cost},
        "problems": [{"path": str(p.path), "line": p.line, "why": p.why} for p in problems],
    }
    return json.dumps(document, indent=2)


def as_csv(rows: Sequence[Row]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in [*rows, totals(rows)]:
        d = row_dict(r)
        d["models"] = " ".join(d["models"])
        d["kind"] = d["kind"] or ""
        # repr-exact floats, so a script summing the CSV gets what the JSON says.
        writer.writerow([repr(v) if isinstance(v, float) else v for v in (d[c] for c in COLUMNS)])
    return out.getvalue()


def usd(x: float, unpriced: int = 0) -> str:
    """`$1.2345`; with unpriced requests `$1.2345+?`, and `?` when nothing was priced."""
    if unpriced and x == 0:
        return "?"
    text = f"${x:.4f}" if x < 1 else f"${x:,.2f}"
    return text + ("+?" if unpriced else "")


def tokens(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1_000:.0f}k"
    return f"{n:,}"


def as_table(view: str, rows: Sequence[Row], *, width: int | None = None) -> Any:
    """A Rich renderable: one row per group, a bar of its cost, and the totals."""
    from rich.table import Table
    from rich.text import Text

    by_kind = any(r.kind for r in rows)
    table = Table(title=f"skipjack usage — {view}", title_justify="left", show_footer=True, width=width)
    total = totals(rows)
    top = max((r.cost for r in rows), default=0.0)
    table.add_column(_label(view), footer="total", no_wrap=True)
    if by_kind:
        table.add_column("kind", footer="")
    for name, figure in (
        ("input", total.input),
        ("cache read", total.cache_read),
        ("cache write", total.cache_write),
        ("output", total.output),
        ("tokens", total.total_tokens),
    ):
        table.add_column(name, justify="right", footer=tokens(figure))
    table.add_column("reqs", justify="right", footer=f"{total.requests:,}")
    table.add_column("hit", justify="right", footer=f"{total.cache_hit_ratio:.0%}")
    table.add_column("saved", justify="right", footer=usd(total.saved, total.unpriced))
    table.add_column("cost", justify="right", footer=usd(total.cost, total.unpriced))
    table.add_column("", footer="", no_wrap=True)
    for r in rows:
        bar = Text("█" * _bar(r.cost, top), style="cyan")
        cells: list[Any] = [r.key]
        if by_kind:
            cells.append(r.kind or "")
        cells += [
            tokens(r.input),
            tokens(r.cache_read),
            tokens(r.cache_write),
            tokens(r.output),
            tokens(r.total_tokens),
            f"{r.requests:,}",
            f"{r.cache_hit_ratio:.0%}",
            usd(r.saved, r.unpriced),
            usd(r.cost, r.unpriced),
            bar,
        ]
        table.add_row(*cells)
    return table


def footnotes(rows: Sequence[Row], problems: Sequence[Problem]) -> list[str]:
    total = totals(rows)
    notes = []
    if total.provider_cost:
        notes.append(
            f"of {usd(total.cost)}: {usd(total.provider_cost)} reported by providers, "
            f"{usd(total.cost - total.provider_cost)} computed from prices"
        )
    if total.unpriced:
        notes.append(
            f"{total.unpriced:,} request(s) to models with no known price are not in the cost (shown as ?); "
            "set their prices under [providers] in your config"
        )
    if problems:
        notes.append(f"{len(problems):,} unreadable line(s) or file(s) skipped (listed on stderr)")
    return notes


def _bar(cost: float, top: float) -> int:
    if top <= 0 or cost <= 0:
        return 0
    return max(1, round(BAR_WIDTH * cost / top))


def _label(view: str) -> str:
    return {
        "daily": "day",
        "weekly": "week",
        "monthly": "month",
        "sessions": "session",
        "models": "model",
        "projects": "project",
    }.get(view, view)


__all__ = ["as_csv", "as_json", "as_table", "footnotes", "row_dict", "summarise", "totals", "usd"]
