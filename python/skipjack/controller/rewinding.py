"""Rewind, undo and redo on `Controller`: files and/or conversation back to a turn's
checkpoint (the work itself is `controller.checkpointing`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from skipjack.controller.checkpointing import RewindMode, RewindOutcome, TurnCheckpoints, run_rewind
from skipjack.controller.events import Event, Rewound
from skipjack.errors import UserError
from skipjack.sessions import Session

if TYPE_CHECKING:
    from skipjack.agent import Agent
    from skipjack.checkpoints import RewindPlan, TurnInfo


class Rewinding:
    """Part of `Controller` (which sets these attributes up)."""

    session: Session | None
    _checkpoints: TurnCheckpoints

    if TYPE_CHECKING:

        @property
        def agent(self) -> Agent: ...

        def _emit(self, event: Event) -> None: ...

        def fork_session(self, entry_id: str | None = None) -> Session: ...

    def checkpoints(self) -> list[TurnInfo]:
        """This session's user turns with their checkpoints, oldest first."""
        return self._checkpoints.turns(self._require_session())

    def plan_rewind(self, turn: int | None = None, *, kind: str = "rewind") -> RewindPlan:
        """What a rewind (`kind="undo"`/`"redo"`: an undo or redo) would change: diff and conflicts."""
        return self._checkpoints.plan(self._require_session(), kind, turn)

    def rewind(self, turn: int, mode: RewindMode = "both", *, overwrite_conflicts: bool | None = None) -> RewindOutcome:
        """Files and/or conversation back to before `turn`; raises `RewindConflict` (a
        `UserError`) when hand-made changes would be overwritten and `overwrite_conflicts` is None."""
        return self._restore("rewind", turn, mode, overwrite_conflicts)

    def undo(self, *, overwrite_conflicts: bool | None = None) -> RewindOutcome:
        """The last (not yet undone) turn's file changes, reverted."""
        return self._restore("undo", None, "files", overwrite_conflicts)

    def redo(self, *, overwrite_conflicts: bool | None = None) -> RewindOutcome:
        """The files as the last undo found them."""
        return self._restore("redo", None, "files", overwrite_conflicts)

    def _restore(
        self, kind: Literal["rewind", "undo", "redo"], turn: int | None, mode: RewindMode, overwrite: bool | None
    ) -> RewindOutcome:
        if self.agent.is_running:
            raise UserError(f"the agent is running: abort it before {kind}")
        outcome = run_rewind(
            self._checkpoints,
            self._require_session(),
            kind=kind,
            turn=turn,
            mode=mode,
            overwrite_conflicts=overwrite,
            fork=lambda entry_id: self.fork_session(entry_id),
        )
        r = outcome.restored
        left = [f"{s.path}: {s.reason}" for s in r.left]
        self._emit(Rewound(kind, outcome.turn, mode, r.written, r.deleted, left, outcome.session_id, outcome.prompt))
        return outcome

    def _require_session(self) -> Session:
        if self.session is None:
            raise UserError("this conversation has no session yet, so no checkpoints")
        return self.session
