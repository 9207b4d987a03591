"""What a turn's checkpoint needs on the way to the turn's first request: the project's
snapshot store, and the session entries the checkpoint is written as.

A checkpoint is recorded in two entries so that its snapshot need not delay the request
(`controller.checkpointing` takes it on a worker thread while the request is out):

- `checkpoint` `{"snapshot": "pending"}`, written before the turn's prompt, where the turn
  begins: its id is the turn's checkpoint id (a conversation rewind forks there);
- `checkpoint_tree` `{"checkpoint": id, "tree", "skipped"}`, written once the snapshot is
  taken, before anything of the turn could change a file.

A `checkpoint` entry holding its `tree` itself (sessions written before this change) means the
same as the pair. A pending checkpoint never given its tree (the snapshot failed, the process
was killed first) is no checkpoint: `read_timeline` leaves that turn out.

Only `rewind` and `gc` read these back; neither is imported here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skipjack.checkpoints.entry_kinds import CHECKPOINT, CHECKPOINT_END, CHECKPOINT_TREE, PENDING
from skipjack.checkpoints.store import DEFAULT_MAX_FILE_SIZE, DEFAULT_MAX_FILES, Snapshot, SnapshotError, SnapshotStore
from skipjack.sessions.session import Session
from skipjack.sessions.store import data_dir, project_dir_name

SKIPPED_RECORDED = 100
"""Skipped paths written into a checkpoint entry (the rest are counted)."""


def snapshots_root(env: Mapping[str, str] | None = None) -> Path:
    return data_dir(env) / "snapshots"


def refuse_root(root: Path) -> str | None:
    """Why a folder is not snapshotted (home or `/`: a cold snapshot would copy a disk)."""
    resolved = root.resolve()
    if resolved == Path(resolved.anchor):
        return "the file system's root is not snapshotted"
    home = Path(os.path.expanduser("~"))
    if home.is_dir() and resolved == home.resolve():
        return "your home folder is not snapshotted (start skipjack in a project folder)"
    return None


def store_for_project(
    root: Path,
    *,
    max_file_size: int = DEFAULT_MAX_FILE_SIZE,
    max_files: int = DEFAULT_MAX_FILES,
    env: Mapping[str, str] | None = None,
) -> SnapshotStore:
    """The project's shadow repository; raises `SnapshotError` for a folder never snapshotted."""
    why = refuse_root(root)
    if why is not None:
        raise SnapshotError(why)
    git_dir = snapshots_root(env) / project_dir_name(root)
    return SnapshotStore(git_dir, root, max_file_size=max_file_size, max_files=max_files, env=env)


def snapshot_data(snap: Snapshot) -> dict[str, Any]:
    """A snapshot as a checkpoint entry holds it: its tree and (some of) what it skipped."""
    skipped = [{"path": s.path, "reason": s.reason} for s in snap.skipped[:SKIPPED_RECORDED]]
    data: dict[str, Any] = {"tree": snap.tree, "skipped": skipped}
    if len(snap.skipped) > SKIPPED_RECORDED:
        data["skipped_more"] = len(snap.skipped) - SKIPPED_RECORDED
    return data


def record_pending(session: Session) -> str:
    """The `checkpoint` entry of a turn whose snapshot is being taken; returns its id. Written
    by the session's one writer (the event loop's thread)."""
    return session.append_event(CHECKPOINT, {"snapshot": PENDING}).id


def record_snapshot(session: Session, checkpoint_id: str, snap: Snapshot) -> None:
    """The tree of the pending checkpoint `checkpoint_id`, now taken."""
    session.append_event(CHECKPOINT_TREE, {"checkpoint": checkpoint_id, **snapshot_data(snap)})


def record_end(session: Session, checkpoint_id: str, snap: Snapshot) -> None:
    """The tree when the run of `checkpoint_id`'s turn ended."""
    session.append_event(CHECKPOINT_END, {"checkpoint": checkpoint_id, "tree": snap.tree})
