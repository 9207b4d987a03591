"""Load-robust start-up cost of a one-turn `skipjack run`: CPU time (from `wait4`, the process
tree) and, with `--callgrind`, instruction counts of the main process (valgrind), for one or
more agent trees interleaved run by run. Instruction counts barely move with the machine's
load (±0.1%), so they compare trees on a busy machine where wall time cannot.

    env -u PYTHONDONTWRITEBYTECODE .cache/bench-venv/bin/python bench/startup_cost.py \\
        --runs 10 [--callgrind] before=/tmp/main-export/python after=python

Each tree is run by this interpreter with the tree first on PYTHONPATH (bytecode is cached,
as in an install), against the scripted loopback server, in `agent_overhead`'s repository.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import agent_overhead as ao

from skipjack.testing import ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--callgrind", action="store_true", help="count instructions (slow: ~15 s a run)")
    parser.add_argument("trees", nargs="+", help="name=path of a tree's python/ directory")
    args = parser.parse_args()
    trees = dict(t.split("=", 1) for t in args.trees)
    wall: dict[str, list[float]] = {name: [] for name in trees}
    cpu: dict[str, list[float]] = {name: [] for name in trees}
    instructions: dict[str, list[float]] = {name: [] for name in trees}
    start_load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as td, SSEServer() as server:
        tmp = Path(td)
        repo = ao.make_repo(tmp, server)
        for i in range(args.runs + 1):  # the first round warms the file cache and bytecode
            for name, path in trees.items():
                ao.AGENT_PYTHONPATH = str(Path(path).resolve())
                env = ao.isolated_env(tmp)
                server.enqueue(turn_reply(ScriptedTurn(text="hello")))
                before = len(server.requests)
                if args.callgrind:
                    out = tmp / f"callgrind.{name}.{i}"
                    proc = subprocess.run(
                        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(ao.SKIPJACK), "run", "hi"],
                        cwd=repo,
                        env=env,
                        capture_output=True,
                        text=True,
                        check=False,
                    )
                    found = re.search(r"Collected : (\d+)", proc.stderr)
                    if proc.returncode != 0 or found is None or len(server.requests) != before + 1:
                        raise SystemExit(f"{name}: run failed ({proc.returncode}): {proc.stderr[-2000:]}")
                    if i:
                        instructions[name].append(int(found.group(1)) / 1e6)
                    continue
                t0, code, seconds, err = ao.spawn_run(["hi"], repo, env)
                if code != 0 or len(server.requests) != before + 1:
                    raise SystemExit(f"{name}: run failed ({code}): {err}")
                if i:
                    wall[name].append((server.requests[before].received_at - t0) * 1000)
                    cpu[name].append(seconds * 1000)
    print(
        f"{args.runs} runs each, load {start_load:.2f} -> {os.getloadavg()[0]:.2f}, {time.strftime('%Y-%m-%d %H:%M')}"
    )
    for name in trees:
        if args.callgrind:
            print(f"{name}: instructions of the one-turn run, millions {ao.cell(instructions[name])}")
        else:
            print(f"{name}: start -> first request, ms {ao.cell(wall[name])}; CPU of the run, ms {ao.cell(cpu[name])}")


if __name__ == "__main__":
    main()
