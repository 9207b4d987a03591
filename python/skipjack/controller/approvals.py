"""The approval side of `Controller`: the approval mode (and the reminder the model gets when
it changes), the sandbox's network switch, trusting the project, and approval questions put as
events (`ask="events"`) and answered by `answer_approval`."""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skipjack.config.schema import ApprovalMode
from skipjack.controller.events import ApprovalModeChanged, ApprovalRequest, ApprovalResolved, Event
from skipjack.errors import UserError
from skipjack.llm.types import ToolCall
from skipjack.safety.hook import Answer

if TYPE_CHECKING:
    from skipjack.agent import Agent
    from skipjack.runtime import Runtime
    from skipjack.safety.policy import Verdict

APPROVAL_MODES: tuple[ApprovalMode, ...] = ("plan", "ask", "auto-edit", "yolo")


class ApprovalControl:
    """Part of `Controller` (which sets these attributes up)."""

    runtime: Runtime
    _pending: dict[str, tuple[asyncio.Future[Answer], ToolCall]]
    _approval_ids: itertools.count[int]
    _reminder: str | None

    if TYPE_CHECKING:

        @property
        def agent(self) -> Agent: ...

        def _emit(self, event: Event) -> None: ...

    def set_approval(self, mode: str) -> None:
        """Switch the approval mode; the sandbox of the next shell command follows it."""
        if mode not in APPROVAL_MODES:
            raise UserError(f"approval mode {mode!r} is not one of {', '.join(APPROVAL_MODES)}")
        changed = mode != self.runtime.approval_mode
        self.runtime.approval_mode = mode
        if changed:
            self._remind(mode_reminder(mode))
        self._emit(ApprovalModeChanged(mode, self.runtime.sandbox_policy().mode))

    def _remind(self, text: str) -> None:
        """Tell the model before its next request: now, as steering, when a run is going
        (it reaches the very next model call); else inside the next prompt."""
        if self.agent.is_running:
            self.agent.steer(text)
            self._reminder = None
        else:
            self._reminder = text

    def set_network(self, on: bool | None) -> bool:
        """Network for sandboxed commands from the next one on (None: leave it); returns the state."""
        if on is not None:
            self.runtime.network_override = on
        return self.runtime.sandbox_policy().network

    def trust_project(self) -> Path:
        """Remember this project as trusted in the user config; returns the folder written.
        Its privileged settings apply to a controller built afterwards (`Controller.build`)."""
        from skipjack.config import user_config_path
        from skipjack.config.loader import add_trusted_project

        return add_trusted_project(user_config_path(self.runtime.env), self.runtime.policy.project_root)

    def preview(self, tool_name: str, arguments: Any) -> tuple[str | None, str | None]:
        """(diff, refusal): what a file tool call would change, for its approval; a call the
        tool would refuse gives the reason instead. (None, None) for other tools."""
        from skipjack.tools.preview import PreviewError, preview_diff

        try:
            return preview_diff(tool_name, arguments, self.agent.cwd, self.agent.tool_state), None
        except PreviewError as e:
            return None, str(e)

    async def _ask_by_event(self, call: ToolCall, verdict: Verdict) -> Answer:
        approval_id = f"a{next(self._approval_ids)}"
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending[approval_id] = (future, call)
        diff, refusal = self.preview(call.name, call.arguments)
        self._emit(
            ApprovalRequest(
                approval_id,
                call.id,
                call.name,
                call.arguments,
                verdict.reason,
                verdict.subject,
                list(verdict.suggested_rules),
                diff,
                refusal,
            )
        )
        try:
            return await future
        finally:
            self._pending.pop(approval_id, None)

    def answer_approval(self, approval_id: str, answer: Answer) -> None:
        """Answer an `approval_request`; raises `UserError` for an id that is not pending."""
        pending = self._pending.pop(approval_id, None)
        if pending is None:
            raise UserError(f"no approval request {approval_id!r} is waiting")
        future, _ = pending
        if not future.done():
            future.set_result(answer)
        self._emit(ApprovalResolved(approval_id, answer.choice))


MODE_REMINDERS: dict[str, str] = {
    "plan": "Plan mode is on: the user wants a plan before any change. Read, search and think; "
    "edits, file writes and commands that change anything will be denied, so do not attempt them. "
    "End with a concrete plan and wait for the user to switch modes.",
    "ask": "The approval mode is now `ask`: edits and commands that change files run only after "
    "the user approves each one.",
    "auto-edit": "The approval mode is now `auto-edit`: edits in the project run without asking; "
    "commands that change files still need the user's approval.",
    "yolo": "The approval mode is now `yolo`: tool calls run without asking the user.",
}


def mode_reminder(mode: str) -> str:
    """What the model is told when the approval mode changes."""
    return f"<system-reminder>{MODE_REMINDERS[mode]}</system-reminder>"
