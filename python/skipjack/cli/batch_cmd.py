"""`skipjack batch run TASKS.jsonl --out DIR` and `skipjack batch report DIR`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from skipjack.cli.inputs import positive_int, usd_amount
from skipjack.errors import UserError
from skipjack.user_paths import expand_user


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("batch", help="run many tasks headless, each in its own workspace (locally or on Ray)")
    bsub = p.add_subparsers(dest="batch_command", required=True)
    run = bsub.add_parser("run", help="run the tasks of a JSONL file; rerunning resumes")
    run.add_argument("tasks", type=Path, help="one JSON task per line: id, repo, prompt, ref, setup, check, ...")
    run.add_argument("--out", type=Path, required=True, help="results folder (one subfolder per task)")
    run.add_argument("--concurrency", type=positive_int, default=4, help="tasks at once (default 4)")
    run.add_argument("--max-cost", type=usd_amount, help="USD for the whole batch; no task starts past it")
    run.add_argument("--model", "-m", help="model for tasks that name none")
    run.add_argument(
        "--approval",
        choices=["ask", "auto-edit", "yolo", "plan"],
        default="auto-edit",
        help="approval mode of each run (default auto-edit; yolo runs commands, still sandboxed)",
    )
    run.add_argument("--retry-failed", action="store_true", help="rerun tasks that failed or errored before")
    run.add_argument("--task-timeout", type=positive_int, default=3600, help="seconds per agent run (default 3600)")
    run.add_argument("--ray", nargs="?", const="", metavar="ADDRESS",
                     help="run on a Ray cluster (ADDRESS, `auto`, `local`; default $RAY_ADDRESS or auto)")  # fmt: skip
    run.add_argument("--ray-cpus", type=float, default=1.0, help="CPUs per task on Ray (default 1)")
    run.add_argument("--ray-resources", type=json.loads, default=None, help="other Ray resources, e.g. '{\"GPU\": 1}'")
    rep = bsub.add_parser("report", help="the summary of a batch's results folder")
    rep.add_argument("out", type=Path)
    rep.add_argument("--json", action="store_true")


def run(args: argparse.Namespace, cwd: Path) -> int:
    from skipjack.batch import report

    if args.batch_command == "report":
        out = _folder(args.out, cwd)
        if not (out / "results.jsonl").is_file():
            raise UserError(f"{out} has no results.jsonl: not a batch results folder (or nothing finished yet)")
        summary = report.summarise(report.load(out))
        _print_summary(summary, args.json)
        return 0
    return _run(args, cwd)


def _folder(path: Path, cwd: Path) -> Path:
    path = expand_user(path)
    return path if path.is_absolute() else cwd / path


def _run(args: argparse.Namespace, cwd: Path) -> int:
    from skipjack.batch import report
    from skipjack.batch.gate import StartGate
    from skipjack.batch.pool import Backend, LocalBackend, run_batch
    from skipjack.batch.runner import RunConfig
    from skipjack.batch.tasks import load_tasks

    tasks_path = _folder(args.tasks, cwd)
    tasks = load_tasks(tasks_path, tasks_path.parent)
    out = _folder(args.out, cwd)
    out.mkdir(parents=True, exist_ok=True)
    config = RunConfig(approval=args.approval, model=args.model, timeout_s=float(args.task_timeout))
    gate = StartGate()
    backend: Backend
    if args.ray is not None:
        from skipjack.batch.ray_backend import RayBackend

        backend = RayBackend(out, args.ray or None, args.ray_cpus, args.ray_resources or {})
    else:
        backend = LocalBackend(out, args.concurrency, gate)
    progress = _Progress(len(tasks))
    try:
        state = run_batch(
            tasks, out, backend, config, concurrency=args.concurrency, gate=gate, max_cost=args.max_cost,
            retry_failed=args.retry_failed, progress=progress,
        )  # fmt: skip
    finally:
        progress.close()
    finished = {**state.earlier, **state.done}
    summary = report.summarise(finished, state.skipped_for_cost)
    _print_summary(summary, False)
    complete = not state.skipped_for_cost and len(finished) == len(tasks)
    return 0 if complete and all(r.get("status") in ("passed", "completed") for r in finished.values()) else 1


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    from skipjack.batch import report

    if as_json:
        print(report.as_json(summary))
        return
    from rich.console import Console

    Console().print(report.as_text(summary))


class _Progress:
    """Rich live counts on a terminal; one plain line per finished task otherwise."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.seen: set[str] = set()
        self.live: Any = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.live import Live

            self.live = Live(console=Console(stderr=True), refresh_per_second=4, transient=True)
            self.live.start()

    def __call__(self, state: Any) -> None:
        done = {**state.earlier, **state.done}
        failed = sum(1 for r in done.values() if r.get("status") in ("failed", "error"))
        elapsed = time.monotonic() - state.started_at
        fresh = len(state.done)
        remaining = state.queued + len(state.running)
        eta = f"{elapsed / fresh * remaining:.0f} s" if fresh and remaining else "-"
        line = (
            f"done {len(done) - failed} · failed {failed} · running {len(state.running)} · queued {state.queued}"
            f" · ${state.cost:.4f} · ETA {eta}"
        )
        if self.live is not None:
            self.live.update(line)
            return
        for task_id, result in state.done.items():
            if task_id not in self.seen:
                self.seen.add(task_id)
                print(f"[{len(self.seen)}/{self.total}] {task_id} {result.get('status')} "
                      f"${float(result.get('cost') or 0):.4f} {float(result.get('wall_s') or 0):.1f} s",
                      file=sys.stderr, flush=True)  # fmt: skip

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
