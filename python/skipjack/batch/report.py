"""A batch's summary, from `DIR/results.jsonl`: at the end of a run and by `skipjack batch report`."""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from skipjack.batch.results import Results


def summarise(results: dict[str, dict[str, Any]], skipped_for_cost: list[str] | None = None) -> dict[str, Any]:
    rows = list(results.values())
    statuses = Counter(r.get("status") for r in rows)
    checked = [r for r in rows if r.get("check_exit") is not None]
    usage: defaultdict[str, int] = defaultdict(int)
    for r in rows:
        for key in ("input", "output", "cache_read", "cache_write", "total_tokens"):
            usage[key] += int((r.get("usage") or {}).get(key) or 0)
    prompt = usage["input"] + usage["cache_read"]
    errors: dict[str, list[str]] = defaultdict(list)
    for r in rows:
        if r.get("status") == "error" or r.get("error_kind"):
            errors[str(r.get("error_kind") or "unknown")].append(r["id"])
    slowest = sorted(rows, key=lambda r: -float(r.get("wall_s") or 0))[:5]
    return {
        "tasks": len(rows),
        "status": dict(statuses),
        "pass_rate": (statuses["passed"] / len(checked)) if checked else None,
        "cost": math.fsum(float(r.get("cost") or 0) for r in rows),
        "unpriced_requests": sum(int(r.get("unpriced_requests") or 0) for r in rows),
        "usage": dict(usage),
        "cache_hit_ratio": usage["cache_read"] / prompt if prompt else 0.0,
        "slowest": [{"id": r["id"], "wall_s": r.get("wall_s")} for r in slowest],
        "errors": {kind: sorted(ids) for kind, ids in sorted(errors.items())},
        "skipped_for_cost": skipped_for_cost or [],
        "per_task": [
            {
                "id": r["id"],
                "status": r.get("status"),
                "cost": r.get("cost"),
                "tokens": (r.get("usage") or {}).get("total_tokens", 0),
                "turns": r.get("turns"),
                "wall_s": r.get("wall_s"),
                "check_exit": r.get("check_exit"),
            }
            for r in sorted(rows, key=lambda r: r["id"])
        ],
    }


def load(out: Path) -> dict[str, dict[str, Any]]:
    return Results(out).load()


def as_json(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2)


def as_text(summary: dict[str, Any]) -> Any:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title="batch", title_justify="left")
    for name in ("task", "status", "turns", "tokens", "cost", "wall", "check"):
        table.add_column(name, justify="left" if name in ("task", "status") else "right")
    for t in summary["per_task"]:
        table.add_row(
            t["id"], str(t["status"]), str(t["turns"] or 0), f"{t['tokens']:,}", f"${float(t['cost'] or 0):.4f}",
            f"{float(t['wall_s'] or 0):.1f} s", "" if t["check_exit"] is None else str(t["check_exit"]),
        )  # fmt: skip
    status = ", ".join(f"{n} {s}" for s, n in sorted(summary["status"].items()))
    lines = [f"{summary['tasks']} tasks: {status}"]
    if summary["pass_rate"] is not None:
        lines.append(f"pass rate {summary['pass_rate']:.0%} of checked tasks")
    u = summary["usage"]
    unpriced = f" (+ {summary['unpriced_requests']} unpriced requests)" if summary["unpriced_requests"] else ""
    lines.append(
        f"cost ${summary['cost']:.4f}{unpriced}; {u.get('total_tokens', 0):,} tokens, cache hit "
        f"{summary['cache_hit_ratio']:.0%}"
    )
    if summary["slowest"]:
        lines.append("slowest: " + ", ".join(f"{s['id']} {float(s['wall_s'] or 0):.1f} s" for s in summary["slowest"]))
    for kind, ids in summary["errors"].items():
        lines.append(f"errors ({kind}): {', '.join(ids)}")
    if summary["skipped_for_cost"]:
        lines.append(f"not started (cost cap): {', '.join(summary['skipped_for_cost'])}")
    return Group(table, Text("\n".join(lines)))
