"""The benchmark report: figures as `median (min-max)` cells, ratios against skipjack, markdown."""

from __future__ import annotations

import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

Cell = str
"""A formatted figure, or the reason there is none."""


def cell(values: list[float], *, runs: int | None = None, wanted: int = 5, digits: int | None = None) -> Cell:
    """`median (min-max)`, noting the run count when fewer runs than asked fit the budget."""
    med = statistics.median(values)
    d = digits if digits is not None else (2 if med < 10 else 1 if med < 100 else 0)
    text = f"{med:.{d}f} ({min(values):.{d}f}-{max(values):.{d}f})"
    if runs is not None and runs < wanted:
        text += f" [{runs} run{'s' if runs > 1 else ''}]"
    return text


def median_ms(runs: list[dict[str, float]], key: str) -> Cell:
    return cell([r[key] * 1000 for r in runs], digits=1)


def _median(c: Cell) -> float | None:
    m = re.match(r"([0-9.]+) \(", c)
    return float(m.group(1)) if m else None


def ratio(c: Cell, base: Cell, *, higher_is_better: bool = False) -> str:
    """How many times worse than skipjack (`x2.0`), or better (`x0.5`)."""
    a, b = _median(c), _median(base)
    if a is None or b is None or a == 0 or b == 0:
        return ""
    r = b / a if higher_is_better else a / b
    return f" x{r:.1f}" if r >= 0.95 else f" x{r:.2f}"


@dataclass
class Report:
    clients: list[str]
    labels: dict[str, str]
    runs: int
    largest: int = 100_000
    machine: str = ""
    server: dict[str, Cell] = field(default_factory=dict)
    cpu: dict[str, dict[str, Cell]] = field(default_factory=lambda: defaultdict(dict))
    rate: dict[str, dict[str, Cell]] = field(default_factory=lambda: defaultdict(dict))
    memory: dict[str, Cell] = field(default_factory=dict)
    ttfd_warm: dict[str, Cell] = field(default_factory=dict)
    ttfd_fresh: dict[str, Cell] = field(default_factory=dict)
    connections: dict[str, Cell] = field(default_factory=dict)
    cancel: dict[str, Cell] = field(default_factory=dict)
    concurrent: dict[str, tuple[Cell, Cell]] = field(default_factory=dict)
    startup: dict[str, Cell] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)

    def _table(self, title: str, columns: dict[str, dict[str, Cell]], *, higher_is_better: bool = False) -> list[str]:
        heads = list(columns)
        lines = [f"### {title}", "", "| client | " + " | ".join(heads) + " |", "|---" * (len(heads) + 1) + "|"]
        for c in self.clients:
            row = []
            for h in heads:
                value = columns[h].get(c, "—")
                base = columns[h].get("skipjack", "")
                row.append(value + ("" if c == "skipjack" else ratio(value, base, higher_is_better=higher_is_better)))
            lines.append(f"| {self.labels[c]} | " + " | ".join(row) + " |")
        return [*lines, ""]

    def _responses_vs_chat(self, burst: dict[str, dict[str, Cell]]) -> list[str]:
        """The Responses API's CPU per event against chat completions' on the same deltas;
        the bound is 1.5x (issue 15)."""
        rows = []
        for workload, cells in burst.items():
            chat, responses = _median(cells.get("skipjack", "")), _median(cells.get("skipjack-responses", ""))
            if chat and responses:
                r = responses / chat
                rows.append(f"| {workload} | {chat:.2f} | {responses:.2f} | x{r:.2f} | {'yes' if r <= 1.5 else 'NO'} |")
        if not rows:
            return []
        head = ["### Responses API vs chat completions (client CPU µs per delta, burst)", ""]
        head += ["| workload | chat | Responses | ratio | within x1.5 |", "|---|---|---|---|---|"]
        return [*head, *rows, ""]

    def markdown(self) -> str:
        out = [
            "## Stream benchmark",
            "",
            f"Machine: {self.machine}. Median (min-max) over {self.runs} timed runs after one untimed",
            "request, each client in its own process; `xN` is the figure relative to skipjack's",
            "(higher = worse for costs, lower = worse for rates).",
            "",
        ]
        if self.server:
            s = self.server
            out += [
                f"Server check: `curl -N` drains 100k events at {s['curl_100k_events_per_s']} k events/s while the",
                f"server spends {s['server_cpu_us_per_event']} µs CPU per event; a paced 1k stream takes",
                f"{s['paced_1000_wall_s']} s (ideal 1.000).",
                "",
            ]
        burst = {k.replace("-burst", ""): v for k, v in self.cpu.items() if k.endswith("burst")}
        out += self._table("Client CPU per event, µs (burst)", burst)
        out += self._responses_vs_chat(burst)
        rates = {k.replace("-burst", ""): v for k, v in self.rate.items()}
        out += self._table("Events per second, thousands (burst)", rates, higher_is_better=True)
        paced = {k.replace("-paced", " @1/ms"): v for k, v in self.cpu.items() if k.endswith("paced")}
        out += self._table("Client CPU per event, µs (paced at 1 event/ms)", paced)
        paced50 = {k.replace("-paced50", " @50/s"): v for k, v in self.cpu.items() if k.endswith("paced50")}
        if paced50:
            out += self._table("Client CPU per event, µs (paced at 50 events/s)", paced50)
        out += self._table(
            "Latency, memory, connections, concurrency",
            {
                "first delta, warm (ms)": self.ttfd_warm,
                "first delta, fresh (ms)": self.ttfd_fresh,
                f"peak RSS growth, {self.largest // 1000}k text (MiB)": self.memory,
                "connections / 3 requests": self.connections,
                "cancel → socket closed (ms)": self.cancel,
                "64 streams x 1k @1/ms: wall (s)": {c: v[0] for c, v in self.concurrent.items()},
                "64 streams: CPU µs/event": {c: v[1] for c, v in self.concurrent.items()},
            },
        )
        if self.startup:
            out += ["### Startup (ms, 10 runs)", "", "| command | wall |", "|---|---|"]
            out += [f"| {k} | {v} |" for k, v in self.startup.items()]
            out.append("")
        return "\n".join(out)
