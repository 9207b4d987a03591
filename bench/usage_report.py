"""How fast `skipjack usage` reads a long-time user's history.

Writes about `--gib` GiB of session files (realistic entries: user prompts, assistant replies
with canonical usage, tool results of a few KiB, compactions, retried requests) across 20
projects and a year of days, then times `skipjack usage monthly --json` over them, checking the
report's request count against the number of requests written (a figure from a broken run
cannot pass). Goal (issue 23): 1 GiB in at most 5 s.

    python bench/usage_report.py [--gib 1.0] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from skipjack.llm.types import AssistantMessage, Cost, TextContent, ToolCall, ToolResultMessage, Usage, UserMessage
from skipjack.sessions.format import FORMAT_VERSION, MessageEntry, SessionHeader, UsageEntry, encoder
from skipjack.sessions.store import project_dir_name

MODELS = [("anthropic", "claude-sonnet-4-5", 3.0, 15.0), ("openai", "gpt-5", 1.25, 10.0), ("anyapi", "x/y", 0, 0)]


def write_corpus(root: Path, target_bytes: int, rng: random.Random) -> tuple[int, int]:
    """Session files under `root` until `target_bytes` are written; returns (bytes, requests)."""
    written = requests = 0
    tool_output = "".join(rng.choice("abcdefghij \n") for _ in range(6_000))
    n = 0
    start = 1_735_689_600_000  # 2025-01-01
    while written < target_bytes:
        n += 1
        project = f"/home/dev/project-{n % 20}"
        folder = root / project_dir_name(Path(project))
        folder.mkdir(parents=True, exist_ok=True)
        ts = start + rng.randrange(365 * 86_400_000)
        header = SessionHeader(FORMAT_VERSION, f"20250101-000000-{n:06x}", ts, project, project, None)
        lines = [encoder.encode(header)]
        parent = None
        for i in range(400):
            ts += rng.randrange(1_000, 60_000)
            provider, model, pin, pout = rng.choice(MODELS)
            inp, out, cached = rng.randrange(50, 5_000), rng.randrange(10, 2_000), rng.randrange(0, 80_000)
            cost = Cost(inp * pin / 1e6, out * pout / 1e6, cached * pin / 1e7, 0.0, 0.0)
            cost = Cost(cost.input, cost.output, cost.cache_read, 0.0, cost.input + cost.output + cost.cache_read)
            usage = Usage(inp, out, cached, 0, inp + out + cached, cost)
            source = "unknown" if pin == 0 else "computed"
            eid = f"{i:08x}"
            if i % 3 == 0:
                entry = MessageEntry(eid, parent, ts, UserMessage(f"please fix test {i}", timestamp=ts))
            elif i % 3 == 1:
                call = ToolCall(f"call_{i}", "bash", {"command": "pytest -q"})
                message = AssistantMessage(
                    [TextContent("Running the tests."), call], "openai-chat", provider, model, usage, "tool_use",
                    cost_source=source, timestamp=ts,
                )  # fmt: skip
                entry = MessageEntry(eid, parent, ts, message)
                requests += 1
            elif i % 97 == 2:
                entry = UsageEntry(eid, parent, ts, f"{provider}/{model}", usage, "retried", cost_source=source)
                requests += 1
            else:
                result = ToolResultMessage(f"call_{i - 1}", "bash", [TextContent(tool_output)], timestamp=ts)
                entry = MessageEntry(eid, parent, ts, result)
            lines.append(encoder.encode(entry))
            parent = eid
        data = b"\n".join(lines) + b"\n"
        (folder / f"{header.id}.jsonl").write_bytes(data)
        written += len(data)
    return written, requests


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", type=float, default=1.0)
    ap.add_argument("--keep", type=Path, help="write the corpus here and keep it")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    base = args.keep or Path(tempfile.mkdtemp(prefix="skipjack-usage-bench-"))
    data = base / "data"
    try:
        rng = random.Random(1)
        t0 = time.perf_counter()
        size, requests = write_corpus(data / "sessions", int(args.gib * 2**30), rng)
        print(f"wrote {size / 2**30:.2f} GiB, {requests:,} requests in {time.perf_counter() - t0:.1f} s", flush=True)
        skipjack = Path(sys.executable).parent / "skipjack"
        env = os.environ | {"SKIPJACK_DATA_DIR": str(data), "SKIPJACK_CONFIG_DIR": str(base / "config")}
        timings = []
        for _ in range(args.runs):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            out = subprocess.run(
                [str(skipjack), "usage", "monthly", "--json"], env=env, capture_output=True, text=True, check=True
            )
            wall = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            report = json.loads(out.stdout)
            got = report["totals"]["requests"]
            if got != requests:
                print(f"FAILED: the report counted {got:,} requests, {requests:,} were written")
                return 1
            cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
            timings.append(wall)
            print(f"usage monthly: {wall:.2f} s wall, {cpu:.2f} s CPU, peak RSS {after.ru_maxrss / 1024:.0f} MiB")
        best = min(timings)
        print(f"best of {args.runs}: {best:.2f} s for {size / 2**30:.2f} GiB = {size / 2**20 / best:.0f} MiB/s")
        return 0
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
