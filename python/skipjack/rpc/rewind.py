"""`rpc` commands for checkpoints: `checkpoints`, `plan_rewind`, `rewind`, `undo`, `redo`.

`rewind` {turn, mode: both|files|conversation, overwrite: true|false|absent}: without
`overwrite`, files changed by hand since the checkpoint make it fail (nothing written) with
their names in the error; `plan_rewind` {turn} or {action: undo|redo} returns the diff and
the conflicts first. A conversation rewind answers with the new session's id and the prompt
to offer again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from skipjack.controller import Controller
from skipjack.controller.checkpointing import REWIND_MODES, RewindOutcome

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]


class _Server(Protocol):
    controller: Controller

    def _require_idle(self) -> None: ...


def rewind_handlers(server: _Server, error: type[Exception]) -> dict[str, Handler]:
    controller = server.controller

    def overwrite(message: dict[str, Any]) -> bool | None:
        value = message.get("overwrite")
        if value is not None and not isinstance(value, bool):
            raise error("`overwrite` must be true, false or absent")
        return value

    def turn_of(message: dict[str, Any]) -> int:
        turn = message.get("turn")
        if not isinstance(turn, int) or isinstance(turn, bool) or turn < 1:
            raise error("`turn` must be a positive integer (see the `checkpoints` command)")
        return turn

    async def checkpoints(message: dict[str, Any]) -> dict[str, Any] | None:
        return {"turns": [t.to_json() for t in controller.checkpoints()]}

    async def plan_rewind(message: dict[str, Any]) -> dict[str, Any] | None:
        kind = message.get("action", "rewind")
        if kind not in ("rewind", "undo", "redo"):
            raise error("`action` must be rewind, undo or redo")
        plan = controller.plan_rewind(turn_of(message) if kind == "rewind" else None, kind=kind)
        return {
            "turn": plan.turn.number,
            "prompt": plan.prompt,
            "files": sorted({c.path for c in plan.changes}),
            "conflicts": plan.conflicts,
            "diff": plan.diff,
        }

    async def rewind(message: dict[str, Any]) -> dict[str, Any] | None:
        server._require_idle()
        mode = message.get("mode", "both")
        if mode not in REWIND_MODES:
            raise error(f"`mode` must be one of {', '.join(REWIND_MODES)}")
        return _outcome(controller.rewind(turn_of(message), mode, overwrite_conflicts=overwrite(message)))

    async def undo(message: dict[str, Any]) -> dict[str, Any] | None:
        server._require_idle()
        return _outcome(controller.undo(overwrite_conflicts=overwrite(message)))

    async def redo(message: dict[str, Any]) -> dict[str, Any] | None:
        server._require_idle()
        return _outcome(controller.redo(overwrite_conflicts=overwrite(message)))

    return {"checkpoints": checkpoints, "plan_rewind": plan_rewind, "rewind": rewind, "undo": undo, "redo": redo}


def _outcome(outcome: RewindOutcome) -> dict[str, Any]:
    r = outcome.restored
    return {
        "turn": outcome.turn,
        "mode": outcome.mode,
        "written": r.written,
        "deleted": r.deleted,
        "left": [{"path": s.path, "reason": s.reason} for s in r.left],
        "session_id": outcome.session_id,
        "forked_from": outcome.forked_from,
        "prompt": outcome.prompt,
    }
