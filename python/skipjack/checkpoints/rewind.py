"""`Checkpointer`: checkpoints recorded in a session, and rewinds planned and applied from them.

A plan is made before anything is written: the snapshot of the tree as it is now, the files
the restore would change, the unified diff, and the conflicts: files among those that were
changed by hand (outside a turn's run and outside skipjack's own restores) since the
checkpoint, which a restore would otherwise clobber. Front ends show the plan and ask; only
`apply` writes, and it leaves the conflicts alone unless told to overwrite them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from skipjack.checkpoints.before_turn import SKIPPED_RECORDED as SKIPPED_RECORDED
from skipjack.checkpoints.before_turn import record_end, snapshot_data, store_for_project
from skipjack.checkpoints.before_turn import refuse_root as refuse_root
from skipjack.checkpoints.before_turn import snapshots_root as snapshots_root
from skipjack.checkpoints.store import (
    DEFAULT_MAX_FILE_SIZE,
    DEFAULT_MAX_FILES,
    Change,
    RestoreResult,
    Snapshot,
    SnapshotStore,
)
from skipjack.checkpoints.timeline import CHECKPOINT, RESTORE, Timeline, Turn, read_timeline
from skipjack.sessions.session import Session

RestoreKind = Literal["rewind", "undo", "redo"]
CONFLICT_REASON = "changed by hand since the checkpoint (confirm to overwrite)"


@dataclass(frozen=True)
class TurnInfo:
    turn: int
    checkpoint_id: str
    ts: int
    prompt: str
    files_changed: list[str]
    """Files that differ now from this checkpoint (what a rewind to it would change)."""
    available: bool
    """False when the snapshot was removed (retention, gc)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "turn": self.turn,
            "checkpoint": self.checkpoint_id,
            "ts": self.ts,
            "prompt": self.prompt,
            "files_changed": self.files_changed,
            "available": self.available,
        }


@dataclass
class RewindPlan:
    kind: RestoreKind
    turn: Turn
    target: str
    current: Snapshot
    changes: list[Change]
    conflicts: list[str]
    diff: str
    hand_changed: list[str] = field(default_factory=list)

    @property
    def prompt(self) -> str:
        return self.turn.prompt


class Checkpointer:
    def __init__(self, snapshots: SnapshotStore) -> None:
        self.snapshots = snapshots

    @classmethod
    def for_project(
        cls,
        root: Path,
        *,
        max_file_size: int = DEFAULT_MAX_FILE_SIZE,
        max_files: int = DEFAULT_MAX_FILES,
        env: Mapping[str, str] | None = None,
    ) -> Checkpointer:
        return cls(store_for_project(root, max_file_size=max_file_size, max_files=max_files, env=env))

    # -- recording -----------------------------------------------------------------------

    def before_turn(self, session: Session) -> tuple[str, Snapshot]:
        """Snapshot the tree and record it; returns the checkpoint entry's id."""
        snap = self.snapshots.snapshot()
        return self.record_checkpoint(session, snap), snap

    @staticmethod
    def record_checkpoint(session: Session, snap: Snapshot) -> str:
        """The session entry of a checkpoint (written by the caller's thread: a session has
        one writer)."""
        return session.append_event(CHECKPOINT, snapshot_data(snap)).id

    def after_turn(self, session: Session, checkpoint_id: str) -> Snapshot:
        snap = self.snapshots.snapshot()
        self.record_end(session, checkpoint_id, snap)
        return snap

    @staticmethod
    def record_end(session: Session, checkpoint_id: str, snap: Snapshot) -> None:
        record_end(session, checkpoint_id, snap)

    # -- reading -------------------------------------------------------------------------

    def timeline(self, session: Session) -> Timeline:
        return read_timeline(session.all_entries())

    def turns(self, session: Session) -> list[TurnInfo]:
        timeline = self.timeline(session)
        if not timeline.turns:
            return []
        now = self.snapshots.snapshot()
        out = []
        for t in timeline.turns:
            available = self.snapshots.has(t.tree)
            files = self.snapshots.changed_paths(t.tree, now.tree) if available else []
            out.append(TurnInfo(t.number, t.checkpoint_id, t.ts, t.prompt, files, available))
        return out

    # -- planning ------------------------------------------------------------------------

    def plan_rewind(self, session: Session, turn: int) -> RewindPlan:
        timeline = self.timeline(session)
        target = timeline.turn(turn)
        return self._plan("rewind", timeline, target, None, timeline.positions[target.checkpoint_id])

    def plan_undo(self, session: Session) -> RewindPlan:
        """Back to the checkpoint before the last turn not yet undone."""
        timeline = self.timeline(session)
        if not timeline.turns:
            raise LookupError("nothing to undo: this session has no checkpoints yet")
        number = timeline.undo_stack[-1].turn - 1 if timeline.undo_stack else len(timeline.turns)
        if number < 1:
            raise LookupError("nothing left to undo: the files are as they were before the first turn")
        target = timeline.turn(number)
        return self._plan("undo", timeline, target, None, timeline.positions[target.checkpoint_id])

    def plan_redo(self, session: Session) -> RewindPlan:
        """Forward again to the tree the last undo found."""
        timeline = self.timeline(session)
        if not timeline.undo_stack:
            raise LookupError("nothing to redo: no undo since the last turn")
        record = timeline.undo_stack[-1]
        # Only what changed since the undo can be lost by redoing it.
        return self._plan("redo", timeline, timeline.turn(record.turn), record.before, record.position)

    def _plan(self, kind: RestoreKind, timeline: Timeline, turn: Turn, target: str | None, since: int) -> RewindPlan:
        """Conflicts: files the restore changes that were changed by hand at any time after
        file position `since` (the checkpoint, or the undo being redone), or since skipjack
        last looked at the tree."""
        target = turn.tree if target is None else target
        if not self.snapshots.has(target):
            raise LookupError(f"the snapshot of turn {turn.number} is gone (removed by retention or gc)")
        current = self.snapshots.snapshot()
        changes = self.snapshots.changes(current.tree, target)
        hand: set[str] = set()
        intervals = timeline.hand_intervals(since)
        if timeline.last_tree is not None:
            intervals.append((timeline.last_tree, current.tree))
        for before, after in intervals:
            if self.snapshots.has(before) and self.snapshots.has(after):
                hand.update(self.snapshots.changed_paths(before, after))
        changed = set(self.snapshots.changed_paths(current.tree, target))
        conflicts = sorted(changed & hand)
        diff = self.snapshots.diff(current.tree, target)
        return RewindPlan(kind, turn, target, current, changes, conflicts, diff, sorted(hand))

    # -- applying ------------------------------------------------------------------------

    def apply(self, plan: RewindPlan, *, overwrite_conflicts: bool) -> RestoreResult:
        """Write the plan's files (its conflicts only with `overwrite_conflicts`); the result's
        `tree` is the snapshot taken afterwards, for `record_restore`."""
        leave = {} if overwrite_conflicts else dict.fromkeys(plan.conflicts, CONFLICT_REASON)
        result = self.snapshots.restore(plan.target, plan.current, leave=leave)
        result.tree = self.snapshots.snapshot().tree
        return result

    @staticmethod
    def record_restore(session: Session, plan: RewindPlan, result: RestoreResult) -> None:
        """Tell the session (the one that goes on from here) what skipjack wrote."""
        session.append_event(
            RESTORE, {"kind": plan.kind, "turn": plan.turn.number, "before": plan.current.tree, "tree": result.tree}
        )
