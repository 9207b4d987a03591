"""Tasks as Ray tasks: the driver schedules and collects; workers clone, run and send back.

Ray (an optional extra: `pip install 'skipjack[ray]'`) places each task on a worker with the
CPUs it asks for and reruns it elsewhere when its worker dies; a rerun starts from a fresh
workspace, so its result has the same layout as a first run's.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import msgspec

from skipjack.batch.runner import RunConfig, run_task
from skipjack.batch.tasks import Task
from skipjack.errors import UserError

FILES = ("result.json", "patch.diff", "events.jsonl", "session.jsonl", "setup.log", "check.log", "agent.log")
INSTALL_HINT = "--ray needs Ray: pip install 'skipjack[ray]' (on the driver and on every worker)"


def _on_worker(task_json: bytes, config: RunConfig) -> tuple[dict[str, Any], dict[str, bytes]]:
    task = msgspec.json.decode(task_json, type=Task)
    # The worker's own skipjack, wherever it is installed there.
    config = replace(config, skipjack=str(Path(sys.executable).parent / "skipjack"))
    base = Path(tempfile.mkdtemp(prefix=f"skipjack-batch-{task.id}-"))
    try:
        result = run_task(task, base / task.id, config)
        result["worker"] = os.uname().nodename
        files = {}
        for name in FILES:
            path = base / task.id / name
            if path.is_file():
                files[name] = path.read_bytes()
        return result, files
    finally:
        shutil.rmtree(base, ignore_errors=True)


class RayBackend:
    def __init__(self, out: Path, address: str | None, cpus: float, resources: dict[str, float]) -> None:
        try:
            import ray
        except ImportError as e:
            raise UserError(INSTALL_HINT) from e
        self.ray = ray
        self.out = out
        if address == "local":
            ray.init(num_cpus=max(2, os.cpu_count() or 2), include_dashboard=False, ignore_reinit_error=True,
                     log_to_driver=False)  # fmt: skip
        else:
            ray.init(address=address or os.environ.get("RAY_ADDRESS") or "auto", ignore_reinit_error=True,
                     log_to_driver=False)  # fmt: skip
        # max_retries: a task whose worker process or node dies is run again on another.
        self.remote = ray.remote(_on_worker).options(num_cpus=cpus, resources=resources or None, max_retries=3)
        self.tasks: dict[Any, Task] = {}

    def submit(self, task: Task, config: RunConfig) -> Any:
        ref = self.remote.remote(msgspec.json.encode(task), config)
        self.tasks[ref] = task
        return ref

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, dict[str, Any]]]:
        ready, _ = self.ray.wait(handles, num_returns=1, timeout=timeout)
        finished = []
        for ref in ready:
            task = self.tasks.pop(ref)
            try:
                result, files = self.ray.get(ref)
            except Exception as e:
                result = {"id": task.id, "status": "error", "error_kind": "worker", "error_message": str(e)[:2000],
                          "cost": 0.0}  # fmt: skip
                files = {}
            folder = self.out / task.id
            folder.mkdir(parents=True, exist_ok=True)
            for name, data in files.items():
                tmp = folder / f".{name}.tmp"
                tmp.write_bytes(data)
                tmp.replace(folder / name)
            finished.append((ref, result))
        return finished

    def stop(self) -> None:
        for ref in list(self.tasks):
            with contextlib.suppress(Exception):
                self.ray.cancel(ref, force=True)
        self.ray.shutdown()
