"""Checkpoints of the working tree before every user turn, and rewinding to them.

SnapshotStore (store.py): snapshots in a shadow git repository, diff, restore.
Checkpointer (rewind.py): checkpoints recorded in a session; rewind/undo/redo plans with
    conflict detection; apply.
records (records.py): the session entries a turn's checkpoint is written as.
read_timeline (timeline.py): what a session file says about its checkpoints.
collect (gc.py): retention and garbage collection over all projects.

The names are loaded on first use (PEP 562): a run takes a snapshot before its first turn
but plans, rewinds and collects only when asked, so `rewind` and `gc` are not imported on
the way to the first request.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skipjack.checkpoints.before_turn import snapshots_root
    from skipjack.checkpoints.gc import GcReport, collect
    from skipjack.checkpoints.rewind import Checkpointer, RewindPlan, TurnInfo
    from skipjack.checkpoints.store import RestoreResult, Skipped, Snapshot, SnapshotError, SnapshotStore
    from skipjack.checkpoints.timeline import Timeline, Turn, read_timeline

_WHERE = {
    "GcReport": "gc",
    "collect": "gc",
    "Checkpointer": "rewind",
    "RewindPlan": "rewind",
    "TurnInfo": "rewind",
    "snapshots_root": "before_turn",
    "RestoreResult": "store",
    "Skipped": "store",
    "Snapshot": "store",
    "SnapshotError": "store",
    "SnapshotStore": "store",
    "Timeline": "timeline",
    "Turn": "timeline",
    "read_timeline": "timeline",
}

__all__ = [
    "Checkpointer",
    "GcReport",
    "RestoreResult",
    "RewindPlan",
    "Skipped",
    "Snapshot",
    "SnapshotError",
    "SnapshotStore",
    "Timeline",
    "Turn",
    "TurnInfo",
    "collect",
    "read_timeline",
    "snapshots_root",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
