"""What the OS sandbox adds to a shell command: milliseconds added to `true`.

Run from a checkout with skipjack importable (`PYTHONPATH=python python bench/sandbox_cost.py`).
Prints medians of N runs of:
- raw: `bash -c true` against the bwrap command line of each mode around it;
- through the bash tool: `BashTool.execute("true")` without a sandbox and in each mode.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from skipjack.agent.tool import ToolContext
from skipjack.safety.sandbox import SandboxPolicy, probe, sandbox_for
from skipjack.tools.bash import BashArgs, BashTool

MODES = {"read-only": "plan", "workspace-write": "ask", "full-access": "yolo"}


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def raw(argv: list[str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL)
        samples.append(time.perf_counter() - start)
    return median_ms(samples)


async def tool(policy: SandboxPolicy | None, cwd: Path, runs: int) -> float:
    bash = BashTool(sandbox=lambda: policy)
    ctx = ToolContext(cwd=cwd)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        out = await bash.execute(BashArgs(command="true"), ctx)
        samples.append(time.perf_counter() - start)
        assert not out.is_error, out
    return median_ms(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    opts = parser.parse_args()
    support = probe()
    if not support.available:
        raise SystemExit(f"no sandbox here: {support.reason}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        base = raw(["bash", "-c", "true"], opts.runs)
        print(f"raw, median of {opts.runs}: bash -c true {base:.1f} ms")
        for mode, approval in MODES.items():
            with sandbox_for(approval, root).command(["bash", "-c", "true"], root) as argv:
                ms = raw(argv, opts.runs)
            print(f"  bwrap {mode:<16} {ms:6.1f} ms  (+{ms - base:.1f} ms)")
        plain = asyncio.run(tool(None, root, opts.runs))
        print(f"BashTool('true'), median of {opts.runs}: no sandbox {plain:.1f} ms")
        for mode, approval in MODES.items():
            ms = asyncio.run(tool(sandbox_for(approval, root), root, opts.runs))
            print(f"  {mode:<22} {ms:6.1f} ms  (+{ms - plain:.1f} ms)")


if __name__ == "__main__":
    main()
