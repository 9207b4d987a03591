"""The batch scheduler: which task starts when, on a local thread pool or on Ray.

Scheduling is the only thing written here (order, the cost cap, the shared start gate,
resuming); running tasks is `runner.run_task`, and distributing them past one machine is
Ray's job.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from skipjack.batch.gate import StartGate
from skipjack.batch.results import FAILED, Results
from skipjack.batch.runner import Cancel, RunConfig, run_task
from skipjack.batch.tasks import Task

Progress = Callable[["BatchState"], None]


@dataclass
class BatchState:
    total: int
    done: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Results finished in this run."""
    earlier: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Results recorded by earlier runs and kept (skipped now)."""
    running: dict[str, float] = field(default_factory=dict)
    """Task id → start (monotonic)."""
    queued: int = 0
    skipped_for_cost: list[str] = field(default_factory=list)
    started_at: float = field(default_factory=time.monotonic)

    @property
    def cost(self) -> float:
        return sum(float(r.get("cost") or 0.0) for r in [*self.done.values(), *self.earlier.values()])


class Backend(Protocol):
    def submit(self, task: Task, config: RunConfig) -> Any: ...

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, dict[str, Any]]]: ...

    def stop(self) -> None: ...


class LocalBackend:
    """Tasks in threads of this process, each driving its own `skipjack run` process."""

    live_events = True
    """Rate limits reach the gate as they happen (from each run's event stream)."""

    def __init__(self, out: Path, concurrency: int, gate: StartGate) -> None:
        self.out = out
        self.gate = gate
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="batch")
        self.cancel = Cancel()

    def submit(self, task: Task, config: RunConfig) -> Any:
        def on_event(event: dict[str, Any]) -> None:
            if event.get("type") == "retry" and event.get("error_kind") == "rate_limited":
                self.gate.rate_limited(float(event.get("delay_ms") or 0) / 1000)

        return self.pool.submit(run_task, task, self.out / task.id, config, on_event=on_event, cancel=self.cancel)

    def wait(self, handles: list[Any], timeout: float) -> list[tuple[Any, dict[str, Any]]]:
        done, _ = concurrent.futures.wait(handles, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED)
        return [(h, h.result()) for h in done]

    def stop(self) -> None:
        self.cancel.kill()
        self.pool.shutdown(wait=True, cancel_futures=True)


def run_batch(
    tasks: list[Task],
    out: Path,
    backend: Backend,
    config: RunConfig,
    *,
    concurrency: int,
    gate: StartGate,
    max_cost: float | None = None,
    retry_failed: bool = False,
    progress: Progress | None = None,
) -> BatchState:
    results = Results(out)
    recorded = results.load()
    state = BatchState(total=len(tasks))
    pending: list[Task] = []
    for task in tasks:
        earlier = recorded.get(task.id)
        if earlier is not None and not (retry_failed and earlier["status"] in FAILED):
            state.earlier[task.id] = earlier
        else:
            pending.append(task)
    state.queued = len(pending)
    inflight: dict[Any, tuple[Task, float]] = {}
    default_budget = None if max_cost is None else max_cost / concurrency
    try:
        while pending or inflight:
            while pending and len(inflight) < concurrency and gate.wait_s() == 0:
                task = pending.pop(0)
                budget = task.max_cost if task.max_cost is not None else default_budget
                if max_cost is not None:
                    committed = state.cost + sum(b for _, b in inflight.values())
                    if budget is None or committed + budget > max_cost + 1e-12:
                        state.skipped_for_cost.append(task.id)
                        state.queued -= 1
                        continue
                handle = backend.submit(task, replace(config, budget=budget))
                inflight[handle] = (task, budget or 0.0)
                state.running[task.id] = time.monotonic()
                state.queued -= 1
                gate.started()
            if progress is not None:
                progress(state)
            if not inflight:
                if pending:
                    time.sleep(min(0.5, max(0.01, gate.wait_s())))
                continue
            for handle, result in backend.wait(list(inflight), timeout=0.5):
                task, _ = inflight.pop(handle)
                state.running.pop(task.id, None)
                results.append(result)
                state.done[task.id] = result
                if not result.get("rate_limited"):
                    gate.recovered()
                elif not getattr(backend, "live_events", False):
                    gate.rate_limited(0.0)  # Ray workers report their rate limits only here
        if progress is not None:
            progress(state)
    finally:
        backend.stop()
    return state
