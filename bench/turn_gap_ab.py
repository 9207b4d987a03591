"""Per-turn gap of two skipjack builds, interleaved run by run, for a before/after figure on a
shared machine whose load moves between sittings.

    python bench/turn_gap_ab.py --a /path/to/old/venv/bin/skipjack --b .cache/venv/bin/skipjack \\
        [--rounds 10] [--runs 2] [--turns 30] [--fresh-home]

Each round runs `--runs` fresh `skipjack run` processes of `--turns` `read` turns with A, then
the same with B (`bench/agent_overhead.py`'s scripted server, repository and checks), so both
see the same load; the figures are the medians over every turn of every run. `--a-pythonpath`
and `--b-pythonpath` run the agent from a source tree instead of the executable's install.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import agent_overhead as ao


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--a", required=True, help="skipjack executable A (before)")
    p.add_argument("--b", required=True, help="skipjack executable B (after)")
    p.add_argument("--a-pythonpath")
    p.add_argument("--b-pythonpath")
    p.add_argument("--rounds", type=int, default=10)
    p.add_argument("--runs", type=int, default=2, help="runs of each side per round")
    p.add_argument("--turns", type=int, default=30)
    p.add_argument("--fresh-home", action="store_true", help="a HOME made just before each run, as bench/agent does")
    opts = p.parse_args()
    sides = {"A": (Path(opts.a), opts.a_pythonpath), "B": (Path(opts.b), opts.b_pythonpath)}
    gaps: dict[str, list[float]] = {k: [] for k in sides}
    cpus: dict[str, list[float]] = {k: [] for k in sides}
    load_start = os.getloadavg()[0]

    def read(t: int) -> ao.ScriptedToolCall:
        return ao.ScriptedToolCall("read", {"path": "notes.txt"}, id=f"r{t}")

    with tempfile.TemporaryDirectory(prefix="skipjack-ab-") as d:
        for r in range(opts.rounds):
            for name, (exe, pythonpath) in sides.items():
                ao.SKIPJACK, ao.AGENT_PYTHONPATH = exe, pythonpath
                g, c, (stable, pairs), _ = ao.multi_turn(
                    Path(d) / f"{name}{r}", opts.turns, opts.runs, read, "ask", opts.fresh_home
                )
                if stable != pairs:
                    raise SystemExit(f"{name}: {pairs - stable} request pairs lost their prefix")
                gaps[name] += g
                cpus[name] += c
    home = ", a fresh HOME each run" if opts.fresh_home else ""
    print(f"per-turn gap, `read`, {opts.rounds} rounds x {opts.runs} runs x {opts.turns} turns, interleaved{home}")
    for name, (exe, pythonpath) in sides.items():
        g = gaps[name]
        quartiles = statistics.quantiles(g, n=4)
        print(
            f"{name} {exe}{f' (PYTHONPATH={pythonpath})' if pythonpath else ''}:\n"
            f"  gap median {statistics.median(g):.2f} ms (quartiles {quartiles[0]:.2f}-{quartiles[2]:.2f}, "
            f"min {min(g):.2f}), {len(g)} turns; CPU per {opts.turns + 1}-request run "
            f"{statistics.median(cpus[name]):.0f} ms"
        )
    print(f"load (1 min) at start / end: {load_start:.2f} / {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
