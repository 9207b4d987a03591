"""One task, start to finish: workspace, setup, the agent, the patch, the check.

Synchronous and self-contained, so the local pool runs it in a thread and a Ray worker runs
it as a Ray task alike. The agent runs as its own `skipjack run --json` process (its own
sessions folder, the sandbox in workspace-write mode), so a task that crashes takes nothing
else down, and dies with the batch (parent-death signal) rather than outliving it.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from skipjack.batch.tasks import Task
from skipjack.batch.workspace import WorkspaceError, clone, patch_between, snapshot_tree

TAIL_BYTES = 4096
# What setup and check see of the environment besides the task's own `env` names.
_BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TERM", "TMPDIR", "USER", "SHELL")

EventHook = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class RunConfig:
    approval: str = "auto-edit"
    model: str | None = None
    budget: float | None = None
    """USD this task may spend (`--max-cost` of its run)."""
    timeout_s: float = 3600.0
    command_timeout_s: float = 1800.0
    skipjack: str = field(default_factory=lambda: str(Path(sys.executable).parent / "skipjack"))


@dataclass
class Cancel:
    """Set from another thread to stop a running task's processes."""

    event: threading.Event = field(default_factory=threading.Event)
    groups: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def kill(self) -> None:
        self.event.set()
        with self.lock:
            for pgid in list(self.groups):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, signal.SIGKILL)


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG: a `kill -9` of the batch takes its in-flight agents with it, so a rerun
    # never finds an orphan still writing into the task's folder.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)


def run_task(task: Task, task_dir: Path, config: RunConfig, *, on_event: EventHook | None = None,
             cancel: Cancel | None = None) -> dict[str, Any]:  # fmt: skip
    """Run `task` with its files in `task_dir`; returns the result record (also in result.json)."""
    cancel = cancel or Cancel()
    started = time.time()
    t0 = time.monotonic()
    task_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("result.json", "patch.diff", "events.jsonl", "session.jsonl", "check.log", "setup.log"):
        (task_dir / stale).unlink(missing_ok=True)
    work = task_dir / "work"
    result: dict[str, Any] = {
        "id": task.id,
        "status": "error",
        "stop_reason": None,
        "turns": 0,
        "usage": None,
        "cost": 0.0,
        "unpriced_requests": 0,
        "check_exit": None,
        "check_tail": "",
        "error_kind": None,
        "error_message": None,
        "session_id": None,
        "commit": None,
        "started": started,
    }
    try:
        result["commit"] = clone(task.repo, task.ref, work)
        index = task_dir / "snapshot.index"
        index.unlink(missing_ok=True)
        if task.setup:
            code, tail = _shell(task.setup, work, task, config, task_dir / "setup.log", cancel)
            if code != 0:
                return _finish(result, task_dir, t0, "setup", f"setup exited {code}: {tail[-500:]}")
        before = snapshot_tree(work, index)
        summary = _agent(task, work, task_dir, config, on_event, cancel)
        if cancel.event.is_set():
            return _finish(result, task_dir, t0, "aborted", "the batch was stopped")
        if summary is None:
            return _finish(result, task_dir, t0, "agent", "the agent ended without a result (see events.jsonl)")
        for key in ("stop_reason", "turns", "usage", "cost", "unpriced_requests", "session_id", "rate_limited"):
            result[key] = summary.get(key)
        result["error_kind"] = summary.get("error_kind")
        result["error_message"] = summary.get("error_message")
        after = snapshot_tree(work, index)
        _write(task_dir / "patch.diff", patch_between(work, before, after))
        _copy_session(task_dir, summary.get("session_id"))
        if summary.get("stop_reason") == "error":
            result["status"] = "error"
        elif task.check:
            code, tail = _shell(task.check, work, task, config, task_dir / "check.log", cancel)
            result["check_exit"], result["check_tail"] = code, tail
            result["status"] = "passed" if code == 0 else "failed"
        else:
            result["status"] = "completed"
        return _finish(result, task_dir, t0)
    except WorkspaceError as e:
        return _finish(result, task_dir, t0, "workspace", str(e))
    except OSError as e:
        return _finish(result, task_dir, t0, "io", f"{type(e).__name__}: {e}")


def _finish(result: dict[str, Any], task_dir: Path, t0: float, kind: str | None = None,
            message: str | None = None) -> dict[str, Any]:  # fmt: skip
    if kind is not None:
        result["status"] = "error"
        result["error_kind"] = kind
        result["error_message"] = message
    result["wall_s"] = round(time.monotonic() - t0, 3)
    result["finished"] = time.time()
    with contextlib.suppress(OSError):
        _write(task_dir / "result.json", json.dumps(result, indent=2).encode() + b"\n")
    return result


def _write(path: Path, data: bytes) -> None:
    """Whole or not at all: a killed batch never leaves half a result behind."""
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)


def _child_env(task: Task) -> dict[str, str]:
    env = {k: os.environ[k] for k in _BASE_ENV if k in os.environ}
    env.update({k: os.environ[k] for k in task.env if k in os.environ})
    return env


def _shell(command: str, work: Path, task: Task, config: RunConfig, log: Path, cancel: Cancel) -> tuple[int, str]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", command],
            cwd=work,
            env=_child_env(task),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        code = _wait(proc, config.command_timeout_s, cancel)
    data = log.read_bytes()
    tail = data[-TAIL_BYTES:].decode(errors="replace")
    if code is None:
        return 124, tail + f"\n[timed out after {config.command_timeout_s:.0f} s]"
    return code, tail


def _wait(proc: subprocess.Popen[bytes], timeout: float, cancel: Cancel) -> int | None:
    with cancel.lock:
        cancel.groups.add(proc.pid)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                return proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                if cancel.event.is_set() or time.monotonic() > deadline:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    return None
    finally:
        with cancel.lock:
            cancel.groups.discard(proc.pid)


def _agent(task: Task, work: Path, task_dir: Path, config: RunConfig, on_event: EventHook | None,
           cancel: Cancel) -> dict[str, Any] | None:  # fmt: skip
    cmd = [config.skipjack, "run", "--json", "--cwd", str(work), "--approval", config.approval]
    cmd += ["--sandbox", "workspace-write"]
    model = task.model or config.model
    if model:
        cmd += ["--model", model]
    if task.max_turns:
        cmd += ["--max-turns", str(task.max_turns)]
    budgets = [b for b in (task.max_cost, config.budget) if b is not None]
    budget = min(budgets) if budgets else None
    if budget is not None:
        cmd += ["--max-cost", repr(budget)]
    env = os.environ | {"SKIPJACK_DATA_DIR": str(task_dir / "data")}
    summary: dict[str, Any] | None = None
    rate_limits = 0
    events = task_dir / "events.jsonl"
    with (task_dir / "agent.log").open("wb") as agent_log:
        proc = _start_agent(cmd, work, env, agent_log)
    with cancel.lock:
        cancel.groups.add(proc.pid)
    timer = threading.Timer(config.timeout_s, lambda: cancel_group(proc.pid))
    timer.start()
    try:
        assert proc.stdin is not None
        assert proc.stdout is not None
        with contextlib.suppress(BrokenPipeError):
            proc.stdin.write(task.prompt.encode())
            proc.stdin.close()
        with events.open("wb") as log:
            for line in proc.stdout:
                log.write(line)
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if not isinstance(event, dict):
                    continue
                if event.get("type") == "result":
                    summary = event
                if event.get("type") == "retry" and event.get("error_kind") == "rate_limited":
                    rate_limits += 1
                if on_event is not None:
                    on_event(event)
        proc.wait()
    finally:
        timer.cancel()
        with cancel.lock:
            cancel.groups.discard(proc.pid)
        if proc.poll() is None:
            cancel_group(proc.pid)
            proc.wait()
    if summary is not None:
        summary["rate_limited"] = rate_limits
    return summary


def _start_agent(cmd: list[str], work: Path, env: dict[str, str], log: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        cmd,
        cwd=work,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        start_new_session=True,
        preexec_fn=_die_with_parent,
    )


def cancel_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def _copy_session(task_dir: Path, session_id: object) -> None:
    if not isinstance(session_id, str):
        return
    for path in (task_dir / "data" / "sessions").glob(f"*/{session_id}.jsonl"):
        _write(task_dir / "session.jsonl", path.read_bytes())
        return


def decode_task(data: bytes) -> Task:
    return msgspec.json.decode(data, type=Task)
