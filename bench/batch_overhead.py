"""What `skipjack batch` costs beyond the agents' own work: 50 trivial tasks (scripted model,
one tool call each), local pool vs Ray, against the same 50 runs done by hand.

    python bench/batch_overhead.py [--tasks 50] [--no-ray]

Figures: wall and CPU (the whole process tree, from RUSAGE_CHILDREN) per task for
(a) a shell-loop baseline: `git clone` + `skipjack run --json` per task, sequentially;
(b) `skipjack batch run --concurrency 1` (same work, plus scheduling, patch and files);
(c) the same on `--ray local`. Overhead = (b or c) - (a), per task. Ray's CPU is
not fully counted: its raylet and workers are not all reaped children of the batch process. Every run must pass its
check, or the figure is not reported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.batch.conftest import answered, make_repo, script_tasks

from skipjack.testing import SSEServer

SKIPJACK = str(Path(sys.executable).parent / "skipjack")


def children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def measure(label: str, fn: object, n: int) -> dict[str, float]:
    cpu0, t0 = children_cpu(), time.perf_counter()
    fn()  # type: ignore[operator]
    wall, cpu = time.perf_counter() - t0, children_cpu() - cpu0
    print(f"{label:<28} wall {wall / n * 1000:8.1f} ms/task   CPU {cpu / n * 1000:8.1f} ms/task", flush=True)
    return {"wall_per_task_s": wall / n, "cpu_per_task_s": cpu / n}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=50)
    ap.add_argument("--no-ray", action="store_true")
    args = ap.parse_args()
    n = args.tasks
    base = Path(tempfile.mkdtemp(prefix="skipjack-batch-bench-"))
    try:
        with SSEServer() as server:
            config = base / "config"
            config.mkdir()
            (config / "config.toml").write_text(
                f'model = "scripted/m1"\n[providers.scripted]\nbase_url = "{server.url}"\napi = "openai-chat"\n'
                "[providers.scripted.models.m1]\nprice = { input = 3.0, output = 15.0 }\n"
            )
            env = os.environ | {"SKIPJACK_CONFIG_DIR": str(config), "SKIPJACK_DATA_DIR": str(base / "data")}
            repos = [make_repo(base / "repos" / f"r{i}") for i in range(n)]
            tasks = base / "tasks.jsonl"
            tasks.write_text("".join(json.dumps({"id": f"t{i}", "repo": str(r), "prompt": "go",
                                                  "check": "grep -q skipjack hello.py"}) + "\n"
                                     for i, r in enumerate(repos)))  # fmt: skip

            def by_hand() -> None:
                script_tasks(server, n)
                for i, repo in enumerate(repos):
                    work = base / "hand" / f"t{i}"
                    subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True)
                    subprocess.run([SKIPJACK, "run", "--json", "--approval", "auto-edit", "--cwd", str(work)],
                                   input=b"go", env=env, stdout=subprocess.DEVNULL, check=True)  # fmt: skip
                    if "skipjack" not in (work / "hello.py").read_text():
                        raise SystemExit(f"baseline task {i} did not complete")

            def batch(extra: list[str], out: str) -> None:
                script_tasks(server, n)
                subprocess.run([SKIPJACK, "batch", "run", str(tasks), "--out", str(base / out), *extra],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)  # fmt: skip

            rows = {"by hand (clone + run)": measure("by hand (clone + run)", by_hand, n)}
            rows["batch, local pool"] = measure("batch, local pool", lambda: batch(["--concurrency", "1"], "local"), n)
            if not args.no_ray:
                rows["batch, Ray (local)"] = measure(
                    "batch, Ray (local)", lambda: batch(["--ray", "local", "--concurrency", "1"], "ray"), n
                )
            assert not any(not answered(r) for r in server.requests[-1:])
        hand = rows["by hand (clone + run)"]
        for label, row in rows.items():
            if label != "by hand (clone + run)":
                wall = (row["wall_per_task_s"] - hand["wall_per_task_s"]) * 1000
                cpu = (row["cpu_per_task_s"] - hand["cpu_per_task_s"]) * 1000
                print(f"overhead, {label}: wall {wall:+.1f} ms/task, CPU {cpu:+.1f} ms/task")
        print(f"load at end: {os.getloadavg()[0]:.2f}")
        return 0
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
