"""Events of the controller itself, alongside the agent's: what every front end must show
besides the conversation (compaction, persistence failures, model and session changes,
warnings, approval questions)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import msgspec

from skipjack.agent.events import AgentEvent, event_to_json


class _ControllerEvent(msgspec.Struct, frozen=True, tag_field="type"):
    """As with agent events, each `type` is also a class attribute equal to its tag."""


class Warning_(_ControllerEvent, frozen=True, tag="warning"):
    type: ClassVar[Literal["warning"]] = "warning"

    message: str


class CompactionStarted(_ControllerEvent, frozen=True, tag="compaction_start"):
    type: ClassVar[Literal["compaction_start"]] = "compaction_start"

    trigger: str
    """`threshold` (the context was filling up), `overflow` (the model refused it) or `manual`."""


class CompactionEnded(_ControllerEvent, frozen=True, tag="compaction_end"):
    type: ClassVar[Literal["compaction_end"]] = "compaction_end"

    trigger: str
    summarized: int
    kept: int
    tokens_before: int
    tokens_after: int
    cost: float


class CompactionFailed(_ControllerEvent, frozen=True, tag="compaction_failed"):
    type: ClassVar[Literal["compaction_failed"]] = "compaction_failed"

    message: str
    automatic: bool
    """An automatic compaction failing lets the call go ahead uncompacted."""


class PersistenceFailed(_ControllerEvent, frozen=True, tag="persistence_failed"):
    type: ClassVar[Literal["persistence_failed"]] = "persistence_failed"

    session_id: str
    message: str
    """The run is aborted at the first failed write: what follows would not be saved."""


class ModelSwitched(_ControllerEvent, frozen=True, tag="model_switched"):
    type: ClassVar[Literal["model_switched"]] = "model_switched"

    model: str
    api: str
    base_url: str
    has_key: bool


class SessionChanged(_ControllerEvent, frozen=True, tag="session_changed"):
    type: ClassVar[Literal["session_changed"]] = "session_changed"

    session_id: str | None
    """None: a new conversation not saved yet (its session is created at its first prompt)."""
    resumed: bool
    messages: int


class ApprovalModeChanged(_ControllerEvent, frozen=True, tag="approval_mode_changed"):
    type: ClassVar[Literal["approval_mode_changed"]] = "approval_mode_changed"

    mode: str
    sandbox: str
    """The sandbox shell commands now run in (it follows the mode)."""


class ApprovalRequest(_ControllerEvent, frozen=True, tag="approval_request"):
    type: ClassVar[Literal["approval_request"]] = "approval_request"

    id: str
    tool_call_id: str
    tool_name: str
    arguments: Any
    reason: str
    subject: str
    suggested_rules: list[str]
    diff: str | None = None
    """For edit, write and apply_patch: the unified diff the call would make to the files as
    they are now (a dry run)."""
    refusal: str | None = None
    """Instead of a diff: why the tool would refuse the call as it stands."""


class ApprovalResolved(_ControllerEvent, frozen=True, tag="approval_resolved"):
    type: ClassVar[Literal["approval_resolved"]] = "approval_resolved"

    id: str
    choice: str
    """`once`, `always` or `deny` (also when a run's abort withdrew the question)."""


class McpServerChanged(_ControllerEvent, frozen=True, tag="mcp_server"):
    type: ClassVar[Literal["mcp_server"]] = "mcp_server"

    name: str
    state: str
    """`ready`, `failed` (did not start; the session goes on without it), `dead` (stopped
    after starting; restarted once at its next use), `disabled`."""
    error: str | None
    tools: list[str]
    """The names the model calls (`mcp__<server>__<tool>`)."""
    start_seconds: float | None
    """From spawning or connecting to its tools being listed."""
    source: str


ControllerEvent = (
    Warning_
    | McpServerChanged
    | CompactionStarted
    | CompactionEnded
    | CompactionFailed
    | PersistenceFailed
    | ModelSwitched
    | SessionChanged
    | ApprovalModeChanged
    | ApprovalRequest
    | ApprovalResolved
)
Event = AgentEvent | ControllerEvent
"""What a controller's listener receives."""


def to_json(event: Event) -> dict[str, Any]:
    """One event as JSON-ready builtins: agent events exactly as `run --json` writes them."""
    if isinstance(event, _ControllerEvent):
        data: dict[str, Any] = msgspec.to_builtins(event)
        return data
    return event_to_json(event)
