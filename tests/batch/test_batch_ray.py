"""`skipjack batch run --ray local`: a real Ray cluster started by the batch, a worker killed
mid-task, and Ray's retry finishing the task on another worker with the same result layout."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.batch.conftest import answered, make_repo, script_tasks, write_tasks
from tests.cli.helpers import SKIPJACK

from skipjack.testing import SSEServer

pytest.importorskip("ray", reason="the ray extra is not installed")  # CI installs it (make dev)


def ray_task_workers() -> list[int]:
    """Ray worker processes busy with a batch task (Ray titles them after the function)."""
    out = subprocess.run(["pgrep", "-f", "ray::_on_worker"], capture_output=True, text=True, check=False)
    return [int(p) for p in out.stdout.split()]


def agent_workspaces(worker: int) -> list[str]:
    """The working directories of a worker's agent processes (its task's fresh clone)."""
    out = subprocess.run(["pgrep", "-P", str(worker)], capture_output=True, text=True, check=False)
    found = []
    for child in out.stdout.split():
        with contextlib.suppress(OSError):
            found.append(os.readlink(f"/proc/{child}/cwd"))
    return found


def worker_waiting_on_a_first_reply(server: SSEServer) -> int | None:
    """A busy worker whose agent has sent its task's first request (whose system prompt names
    the agent's working directory, a fresh clone in a temporary folder of its own). A worker is
    titled busy before its agent sends anything: killing one that had not sent it yet would
    leave its retry the only first request of its task."""
    firsts = [r.body for r in server.requests if not answered(r)]
    for worker in ray_task_workers():
        if any(cwd.encode() in body for cwd in agent_workspaces(worker) for body in firsts):
            return worker
    return None


def test_ray_runs_the_batch_and_retries_a_killed_worker(
    tmp_path: Path, server: SSEServer, batch_env: dict[str, str]
) -> None:
    repos = [make_repo(tmp_path / f"r{i}") for i in range(4)]
    tasks = [{"id": f"ray{i}", "repo": str(r), "prompt": "go", "check": "grep -q skipjack hello.py"}
             for i, r in enumerate(repos)]  # fmt: skip
    tasks_file = write_tasks(tmp_path / "tasks.jsonl", tasks)
    script_tasks(server, 10, pause=4.0)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")} | batch_env
    proc = subprocess.Popen(
        [str(SKIPJACK), "batch", "run", str(tasks_file), "--out", "out", "--ray", "local", "--concurrency", "2"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        killed = None
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and killed is None:
            # Kill a worker once its task's agent is waiting on the (slow) first reply.
            killed = worker_waiting_on_a_first_reply(server)
            if killed is not None:
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.1)
        assert killed is not None, "no Ray worker picked up a task"
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, stderr + stdout
    lines = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in lines) == ["ray0", "ray1", "ray2", "ray3"]
    assert {r["status"] for r in lines} == {"passed"}
    for r in lines:
        folder = tmp_path / "out" / r["id"]
        assert (folder / "patch.diff").read_bytes().count(b'+print("hello skipjack")') == 1
        assert json.loads((folder / "result.json").read_text())["status"] == "passed"
    # The killed task was started again: more first requests than tasks.
    firsts = [r for r in server.requests if not answered(r)]
    assert len(firsts) > 4
