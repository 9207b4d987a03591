"""Checkpoints of the working tree before every user turn, and rewinding to them.

SnapshotStore (store.py): snapshots in a shadow git repository, diff, restore.
Checkpointer (rewind.py): checkpoints recorded in a session; rewind/undo/redo plans with
    conflict detection; apply.
read_timeline (timeline.py): what a session file says about its checkpoints.
collect (gc.py): retention and garbage collection over all projects.
"""

from __future__ import annotations

from skipjack.checkpoints.gc import GcReport, collect
from skipjack.checkpoints.rewind import Checkpointer, RewindPlan, TurnInfo, snapshots_root
from skipjack.checkpoints.store import RestoreResult, Skipped, Snapshot, SnapshotError, SnapshotStore
from skipjack.checkpoints.timeline import Timeline, Turn, read_timeline

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
