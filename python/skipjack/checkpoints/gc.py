"""Retention of snapshots: what session files still point at, within the retention period.

A snapshot (a tree in a project's shadow repository) is kept while a session file of that
project records it in a checkpoint or restore entry written in the last `retention_days`.
A fork copies those entries, so deleting the session a fork came from keeps the fork's
checkpoints. A project with no sessions left loses its shadow repository entirely.
"""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from skipjack.checkpoints.before_turn import snapshots_root
from skipjack.checkpoints.store import SnapshotStore, directory_size
from skipjack.checkpoints.timeline import CHECKPOINT, CHECKPOINT_END, CHECKPOINT_TREE, RESTORE
from skipjack.sessions.errors import SessionError
from skipjack.sessions.format import EventEntry
from skipjack.sessions.session import Session
from skipjack.sessions.store import SUFFIX, SessionStore

DAY_MS = 24 * 3600 * 1000


@dataclass
class GcReport:
    freed: int = 0
    """Bytes."""
    projects: int = 0
    removed_projects: list[str] = field(default_factory=list)
    kept_snapshots: int = 0
    errors: list[str] = field(default_factory=list)


def live_trees(session_dir: Path, cutoff_ms: int) -> tuple[set[str], int]:
    """Trees the project's session files recorded since `cutoff_ms`; and how many files there are."""
    trees: set[str] = set()
    files = sorted(session_dir.glob(f"*{SUFFIX}")) if session_dir.is_dir() else []
    for path in files:
        try:
            session = Session.load(path)
        except (SessionError, OSError):
            continue  # unreadable: its snapshots cannot be found through it either
        for entry in session.all_entries():
            if isinstance(entry, EventEntry) and entry.name in (CHECKPOINT, CHECKPOINT_TREE, CHECKPOINT_END, RESTORE):
                if entry.ts < cutoff_ms:
                    continue
                for key in ("tree", "before"):
                    value = entry.data.get(key)
                    if isinstance(value, str):
                        trees.add(value)
    return trees, len(files)


def collect(
    sessions: SessionStore,
    *,
    retention_days: int,
    env: Mapping[str, str] | None = None,
    only_project: str | None = None,
    now_ms: int | None = None,
) -> GcReport:
    """Drop the snapshots no session keeps (every project, or the one named by its key)."""
    report = GcReport()
    root = snapshots_root(env)
    if not root.is_dir():
        return report
    now = int(time.time() * 1000) if now_ms is None else now_ms
    cutoff = now - retention_days * DAY_MS
    for git_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        if only_project is not None and git_dir.name != only_project:
            continue
        report.projects += 1
        keep, files = live_trees(sessions.root / git_dir.name, cutoff)
        try:
            if files == 0:
                size = directory_size(git_dir)
                shutil.rmtree(git_dir)
                report.freed += size
                report.removed_projects.append(git_dir.name)
                continue
            work_tree = _work_tree_of(git_dir)
            report.freed += SnapshotStore(git_dir, work_tree, env=env).gc(keep)
            report.kept_snapshots += len(keep)
        except OSError as e:
            report.errors.append(f"{git_dir}: {e}")
        except Exception as e:  # a GitError is a UserError; one project must not stop the rest
            report.errors.append(f"{git_dir}: {e}")
    return report


def _work_tree_of(git_dir: Path) -> Path:
    """gc reads no work tree; git only needs an existing folder to run in."""
    marker = git_dir / "skipjack-project"
    with contextlib.suppress(OSError):
        path = Path(marker.read_text(encoding="utf-8").strip())
        if path.is_dir():
            return path
    return git_dir
