"""The controller's side of checkpoints: one before every user turn, one when its run ends,
and rewind / undo / redo of files and conversation, for every front end.

A checkpoint that cannot be taken (git missing, a folder too large, a full disk) is a
warning, never a reason not to run the prompt; checkpoints then stay off for the session's
process so the warning is said once.

The snapshot before a turn does not delay the turn's request: `before_turn` records the turn's
checkpoint entry and starts the snapshot on a worker thread; `gate` makes every tool that may
change a file (all but `safety.policy.READ_TOOLS`) wait for it, and `after_turn` waits for it before the
end snapshot. Until then nothing of the turn can have touched the files: the model's reply
is text until a tool runs. (`checkpoints.before_turn` says how the entries read.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from skipjack.checkpoints.before_turn import record_end, record_pending, record_snapshot, store_for_project
from skipjack.checkpoints.store import RestoreResult, SnapshotError, SnapshotStore
from skipjack.config.schema import CheckpointSettings
from skipjack.controller.events import CheckpointCreated, Event, Warning_
from skipjack.errors import UserError
from skipjack.safety.policy import READ_TOOLS
from skipjack.sessions import Session, SessionError

if TYPE_CHECKING:
    from skipjack.agent.hooks import BeforeToolCall, Deny, Replace
    from skipjack.checkpoints import Checkpointer, RewindPlan, TurnInfo
    from skipjack.llm.types import ToolCall

log = logging.getLogger(__name__)


RewindMode = Literal["both", "files", "conversation"]
REWIND_MODES: tuple[RewindMode, ...] = ("both", "files", "conversation")


class RewindConflict(UserError):
    """Files changed by hand since the checkpoint would be overwritten: the caller must
    confirm (overwrite) or choose to keep them. Carries the plan for showing."""

    def __init__(self, plan: RewindPlan) -> None:
        more = len(plan.conflicts) - 10
        shown = ", ".join(plan.conflicts[:10]) + (f" and {more} more" if more > 0 else "")
        super().__init__(
            f"{len(plan.conflicts)} file(s) changed by hand since turn {plan.turn.number}'s checkpoint would be "
            f"overwritten: {shown}; confirm to overwrite them (--yes) or keep them"
        )
        self.plan = plan


class RewindOutcome(msgspec.Struct):
    """What a rewind did."""

    kind: str
    turn: int
    mode: RewindMode
    prompt: str
    """The rewound turn's prompt (a front end puts it back in its editor)."""
    restored: RestoreResult = msgspec.field(default_factory=RestoreResult)
    session_id: str | None = None
    forked_from: str | None = None
    plan: RewindPlan | None = None


class TurnCheckpoints:
    def __init__(
        self, settings: CheckpointSettings, root: Path, env: Mapping[str, str] | None, emit: Callable[[Event], None]
    ) -> None:
        self.settings = settings
        self.root = root
        self.env = env
        self.emit = emit
        self._store: SnapshotStore | None = None
        self._checkpointer: Checkpointer | None = None
        self._off: str | None = None if settings.enabled else "checkpoints are off ([checkpoints] enabled = false)"
        self._pending: asyncio.Task[bool] | None = None
        """The snapshot of the turn running now, until `after_turn` has waited for it."""

    def store(self) -> SnapshotStore:
        """Raises `UserError` saying why checkpoints are off."""
        if self._off is not None:
            raise UserError(self._off)
        if self._store is None:
            try:
                self._store = store_for_project(
                    self.root,
                    max_file_size=self.settings.max_file_size,
                    max_files=self.settings.max_files,
                    env=self.env,
                )
            except SnapshotError as e:
                self._off = f"checkpoints are off: {e}"
                raise UserError(self._off) from e
        return self._store

    def checkpointer(self) -> Checkpointer:
        """Raises `UserError` saying why checkpoints are off."""
        store = self.store()
        if self._checkpointer is None:
            from skipjack.checkpoints.rewind import Checkpointer

            self._checkpointer = Checkpointer(store)
        return self._checkpointer

    async def before_turn(self, session: Session | None) -> str | None:
        """Record the turn's checkpoint and start its snapshot; returns the checkpoint id at
        once (None when none is taken). See the module for who waits for the snapshot."""
        if session is None or (self._off is not None and not self.settings.enabled):
            return None
        await self.ready()  # (the last turn's, should `after_turn` not have run)
        try:
            store = self.store()
            checkpoint_id = record_pending(session)
        except (UserError, OSError, SessionError) as e:
            self._warn_once(e)
            return None
        self._pending = asyncio.create_task(self._snapshot(store, session, checkpoint_id))
        return checkpoint_id

    async def _snapshot(self, store: SnapshotStore, session: Session, checkpoint_id: str) -> bool:
        try:
            # git runs in a thread; the session is written from the loop's (its one writer).
            snap = await asyncio.to_thread(store.snapshot)
            record_snapshot(session, checkpoint_id, snap)
        except (UserError, OSError, SessionError) as e:
            self._warn_once(e)
            return False
        self.emit(CheckpointCreated(checkpoint_id, snap.tree, [s.path for s in snap.skipped], round(snap.seconds, 4)))
        return True

    async def ready(self) -> bool:
        """Wait for the running turn's snapshot; whether it was taken (True when none runs)."""
        task = self._pending
        if task is None:
            return True
        # A caller cancelled (an aborted tool call) must not cancel the snapshot: the worker
        # thread would go on, and its entry would never be written.
        return await asyncio.shield(task)

    def gate(self, before: BeforeToolCall | None) -> BeforeToolCall:
        """`before` (a tools' before-hook), run once the snapshot is taken for any tool that
        may change a file: PreToolUse hooks (commands) run inside `before` too."""

        async def before_tool_call(call: ToolCall, args: Any) -> Deny | Replace | None:
            if call.name not in READ_TOOLS and self._pending is not None:
                await self.ready()
            return await before(call, args) if before is not None else None

        return before_tool_call

    async def after_turn(self, session: Session | None, checkpoint_id: str | None) -> None:
        taken = await self.ready()
        self._pending = None
        if session is None or checkpoint_id is None or self._store is None or not taken:
            return
        try:
            snap = await asyncio.to_thread(self._store.snapshot)
            record_end(session, checkpoint_id, snap)
        except (UserError, OSError, SessionError) as e:
            log.warning("checkpoint at the end of a turn failed: %s", e)

    def _warn_once(self, error: BaseException) -> None:
        message = str(error)
        if self._off is None:
            # A failure of one snapshot (a full disk): say it, and try again next turn.
            self.emit(Warning_(f"no checkpoint before this turn: {message}"))
        elif not getattr(self, "_warned", False):
            self._warned = True
            self.emit(Warning_(message))

    def turns(self, session: Session) -> list[TurnInfo]:
        return self.checkpointer().turns(session)

    def plan(self, session: Session, kind: str, turn: int | None = None) -> RewindPlan:
        checkpointer = self.checkpointer()
        try:
            if kind == "undo":
                return checkpointer.plan_undo(session)
            if kind == "redo":
                return checkpointer.plan_redo(session)
            if turn is None:
                raise UserError("which turn? (see the list of checkpoints)")
            return checkpointer.plan_rewind(session, turn)
        except LookupError as e:
            raise UserError(str(e.args[0] if e.args else e)) from e


def run_rewind(
    checkpoints: TurnCheckpoints,
    session: Session,
    *,
    kind: Literal["rewind", "undo", "redo"],
    turn: int | None,
    mode: RewindMode,
    overwrite_conflicts: bool | None,
    fork: Callable[[str], Session],
) -> RewindOutcome:
    """Rewind `session` (files, conversation or both) to `turn`'s checkpoint; undo and redo
    are files only. Conflicts raise `RewindConflict` before anything is written unless
    `overwrite_conflicts` says what to do with them (True: overwrite, False: keep them and
    restore the rest). The files are written first, then the conversation is forked
    (`fork(checkpoint_entry_id)` returns the new session), then the restore is recorded in
    the session that goes on."""
    if mode not in REWIND_MODES:
        raise UserError(f"rewind mode {mode!r} is not one of {', '.join(REWIND_MODES)}")
    if kind != "rewind" and mode != "files":
        raise UserError(f"{kind} restores files only")
    plan: RewindPlan | None = None
    if mode == "conversation":
        from skipjack.checkpoints.timeline import read_timeline  # only a rewind reads it back

        try:
            target = read_timeline(session.all_entries()).turn(turn or 0)
        except LookupError as e:
            raise UserError(str(e)) from e
    else:
        plan = checkpoints.plan(session, kind, turn)
        if plan.conflicts and overwrite_conflicts is None:
            raise RewindConflict(plan)
        target = plan.turn
    restored = RestoreResult()
    if plan is not None:
        restored = checkpoints.checkpointer().apply(plan, overwrite_conflicts=bool(overwrite_conflicts))
    going_on = session
    forked_from = None
    if mode != "files":
        going_on = fork(target.checkpoint_id)
        forked_from = session.id
    if plan is not None:
        from skipjack.checkpoints.rewind import Checkpointer

        try:
            Checkpointer.record_restore(going_on, plan, restored)
        except (OSError, SessionError) as e:
            log.warning("the restore was not recorded in session %s: %s", going_on.id, e)
    return RewindOutcome(kind, target.number, mode, target.prompt, restored, going_on.id, forked_from, plan)
