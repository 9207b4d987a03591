"""What checkpoints cost on a 10,000-file repository.

Run from a checkout with skipjack importable:
    PYTHONPATH=python python bench/snapshot_bench.py [--files 10000] [--runs 20] [--turns 100]

Prints (and with --json, one JSON object):
- cold: the first snapshot of the tree (shadow repository created, every file hashed);
- unchanged: a checkpoint when nothing changed (median);
- five_changed: a checkpoint after 5 files changed (median and p90): `Checkpointer.before_turn`,
  i.e. the snapshot plus the session entry, as the controller takes it before a prompt;
- after 100 turns that each change 5 files and add one (two snapshots a turn, as the
  controller takes them): the shadow repository's size, before and after `sessions gc`
  packs it, against the size of the project's files.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from skipjack.checkpoints import Checkpointer, SnapshotStore
from skipjack.checkpoints.store import directory_size
from skipjack.sessions import SessionStore

WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota"]
WORDS += ["kappa", "lambda", "mu", "nu", "xi", "omicron", "pi", "rho", "sigma"]


def make_repo(root: Path, files: int, rng: random.Random) -> int:
    """`files` source-like files (0.2-6 KB) in a tree 3 levels deep, a git repository, and an
    ignored build folder of 1,000 more files that must cost nothing."""
    total = 0
    for i in range(files):
        d = root / f"pkg{i % 40}" / f"mod{(i // 40) % 25}"
        d.mkdir(parents=True, exist_ok=True)
        body = "\n".join(" ".join(rng.choices(WORDS, k=12)) for _ in range(rng.randint(3, 80))) + "\n"
        (d / f"file{i}.py").write_text(body)
        total += len(body)
    (root / "build").mkdir()
    for i in range(1000):
        (root / "build" / f"obj{i}.o").write_bytes(os.urandom(512))
    (root / ".gitignore").write_text("build/\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return total


def change_files(root: Path, files: int, count: int, rng: random.Random, turn: int) -> None:
    for i in rng.sample(range(files), count):
        path = root / f"pkg{i % 40}" / f"mod{(i // 40) % 25}" / f"file{i}.py"
        with path.open("a") as f:
            f.write(f"# turn {turn}: {' '.join(rng.choices(WORDS, k=8))}\n")


def cpu() -> float:
    """CPU seconds of this process and its finished children (the git commands): on a shared,
    loaded machine the fair figure for what a checkpoint costs; wall time is printed too."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--turns", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rng = random.Random(19)
    load_start = round(os.getloadavg()[0], 1)
    with tempfile.TemporaryDirectory(prefix="snapshot-bench-") as tmp:
        base = Path(tmp)
        project = base / "project"
        project.mkdir()
        data = base / "data"
        env = {**os.environ, "SKIPJACK_DATA_DIR": str(data)}
        content_bytes = make_repo(project, args.files, rng)
        project_disk = directory_size(project) - directory_size(project / "build") - directory_size(project / ".git")

        checkpointer = Checkpointer.for_project(project, env=env)
        store: SnapshotStore = checkpointer.snapshots
        started, started_cpu = time.perf_counter(), cpu()
        store.snapshot()
        cold = time.perf_counter() - started
        cold_cpu = cpu() - started_cpu

        sessions = SessionStore(env=env)
        session = sessions.create(project, "bench/model")

        unchanged = []
        for _ in range(args.runs):
            started = time.perf_counter()
            checkpointer.before_turn(session)
            unchanged.append(time.perf_counter() - started)

        five = []
        five_cpu = []
        for run in range(args.runs):
            change_files(project, args.files, 5, rng, run)
            started, started_cpu = time.perf_counter(), cpu()
            checkpointer.before_turn(session)
            five.append(time.perf_counter() - started)
            five_cpu.append(cpu() - started_cpu)

        size_before_turns = store.size_bytes()
        turn_times = []
        for turn in range(args.turns):
            started = time.perf_counter()
            checkpoint_id, _ = checkpointer.before_turn(session)
            turn_times.append(time.perf_counter() - started)
            change_files(project, args.files, 5, rng, 1000 + turn)
            (project / "generated").mkdir(exist_ok=True)
            (project / "generated" / f"out{turn}.txt").write_text(f"turn {turn}\n" * 50)
            checkpointer.after_turn(session, checkpoint_id)
        loose = store.size_bytes()
        keep = set()
        from skipjack.checkpoints.gc import live_trees

        keep, _ = live_trees(sessions.project_path(project), 0)
        started = time.perf_counter()
        store.gc(keep)
        gc_seconds = time.perf_counter() - started
        packed = store.size_bytes()
        session.close()

    five_sorted = sorted(five)
    load_end = round(os.getloadavg()[0], 1)
    result = {
        "files": args.files,
        "project_content_mb": round(content_bytes / 1e6, 2),
        "project_on_disk_mb": round(project_disk / 1e6, 2),
        "load_average_at_start": load_start,
        "cold_first_snapshot_ms": ms(cold),
        "cold_first_snapshot_cpu_ms": ms(cold_cpu),
        "unchanged_checkpoint_ms_median": ms(statistics.median(unchanged)),
        "five_changed_checkpoint_ms_median": ms(statistics.median(five)),
        "five_changed_checkpoint_ms_p90": ms(five_sorted[int(len(five_sorted) * 0.9) - 1]),
        "five_changed_checkpoint_ms_max": ms(max(five)),
        "five_changed_checkpoint_cpu_ms_median": ms(statistics.median(five_cpu)),
        "turn_checkpoint_ms_median_over_turns": ms(statistics.median(turn_times)),
        "store_mb_after_first_snapshots": round(size_before_turns / 1e6, 2),
        "turns": args.turns,
        "store_mb_after_turns_loose": round(loose / 1e6, 2),
        "store_mb_after_turns_gc_packed": round(packed / 1e6, 2),
        "gc_seconds": round(gc_seconds, 2),
        "snapshots_kept": len(keep),
        "load_average_at_end": load_end,
    }
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:<40} {value}")


if __name__ == "__main__":
    main()
