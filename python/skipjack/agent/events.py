"""Agent events: what a run reports to UIs, the headless JSON mode and session writers.

Every event is a small frozen msgspec Struct whose `type` tag names it; `event_to_json`
turns one into plain JSON-ready data. These names are public API (they are written to
session files and `--json` output): add fields with defaults, never rename.

A run emits, in order::

    agent_start
      turn_start
        message_start/message_end      each user message delivered this turn (prompt, steering, follow-up)
        message_start                  the assistant message (once it has content or ends)
          message_update ...           its stream events
        message_end                    the finished assistant message
        tool_execution_start/update/end ...   per tool call, as the calls run (possibly interleaved)
        message_start/message_end      each tool result, in the model's call order
      turn_end
      ... more turns ...
    agent_end

`retry` may appear while the model request is retried, before any of its content.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypeAlias

import msgspec

from skipjack.llm.events import (
    STREAM_EVENT_CLASSES,
    TextDelta,
    TextEnd,
    TextStart,
    ThinkingDelta,
    ThinkingEnd,
    ThinkingStart,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
    stream_event_to_dict,
)
from skipjack.llm.types import AssistantMessage, Message, ToolResultMessage, Usage

RunStopReason: TypeAlias = Literal["completed", "aborted", "error", "max_turns", "max_cost", "max_tokens"]
"""Why a run ended: the model stopped asking for tools (`completed`), `abort()` was called,
the model call failed, or a limit was reached."""

ContentEvent: TypeAlias = (
    TextStart
    | TextDelta
    | TextEnd
    | ThinkingStart
    | ThinkingDelta
    | ThinkingEnd
    | ToolCallStart
    | ToolCallDelta
    | ToolCallEnd
)
"""The stream events a `message_update` carries: content blocks, not start/retry/terminal."""


class _Event(msgspec.Struct, frozen=True, tag_field="type"):
    """Each event's `type` is also a class attribute, equal to its tag, for matching."""


class AgentStart(_Event, frozen=True, tag="agent_start"):
    """A run began: `prompt()` was called."""

    type: ClassVar[Literal["agent_start"]] = "agent_start"


class AgentEnd(_Event, frozen=True, tag="agent_end"):
    """A run ended; the agent accepts the next prompt. Always emitted, once per run."""

    type: ClassVar[Literal["agent_end"]] = "agent_end"

    stop_reason: RunStopReason
    turns: int
    """Model calls made in this run."""
    usage: Usage
    """Usage summed over this run's assistant messages."""
    error_kind: str | None = None
    """With `stop_reason` "error": the classified kind (`LLMError.kind`, or "hook")."""
    error_message: str | None = None


class TurnStart(_Event, frozen=True, tag="turn_start"):
    """A turn began: pending user messages, one model call, then its tool calls."""

    type: ClassVar[Literal["turn_start"]] = "turn_start"

    turn: int
    """1-based within the run."""


class TurnEnd(_Event, frozen=True, tag="turn_end"):
    """A turn ended: its assistant message and the results of its tool calls (call order)."""

    type: ClassVar[Literal["turn_end"]] = "turn_end"

    turn: int
    message: AssistantMessage
    tool_results: list[ToolResultMessage]


class MessageStart(_Event, frozen=True, tag="message_start"):
    """A message is being added to the history; `message_end` carries it."""

    type: ClassVar[Literal["message_start"]] = "message_start"

    role: Literal["user", "assistant", "tool_result"]


class MessageUpdate(_Event, frozen=True, tag="message_update"):
    """A piece of the assistant message being streamed: the core's content event.

    `event` is a native object (no copy of the partial message); `event_to_json` renders it
    with `stream_event_to_dict`.
    """

    type: ClassVar[Literal["message_update"]] = "message_update"

    event: ContentEvent


class MessageEnd(_Event, frozen=True, tag="message_end"):
    """A message was added to the history. Session writers record these."""

    type: ClassVar[Literal["message_end"]] = "message_end"

    message: Message


class ToolExecutionStart(_Event, frozen=True, tag="tool_execution_start"):
    """A tool call began processing. Every call gets exactly one start and one end, even one
    that is rejected, skipped or aborted without running."""

    type: ClassVar[Literal["tool_execution_start"]] = "tool_execution_start"

    tool_call_id: str
    tool_name: str
    arguments: dict[str, Any] | str
    """As the model sent them (the raw text when they did not parse)."""


class ToolExecutionUpdate(_Event, frozen=True, tag="tool_execution_update"):
    """A chunk of a running tool's streamed output (e.g. a command's lines)."""

    type: ClassVar[Literal["tool_execution_update"]] = "tool_execution_update"

    tool_call_id: str
    chunk: str


class ToolExecutionEnd(_Event, frozen=True, tag="tool_execution_end"):
    """A tool call finished; `result` is what the model will see."""

    type: ClassVar[Literal["tool_execution_end"]] = "tool_execution_end"

    tool_call_id: str
    tool_name: str
    result: ToolResultMessage
    is_error: bool
    details: dict[str, Any] | None = None
    """The tool's extra data for UIs and sessions (e.g. a diff); not sent to the model."""


class ModelRetry(_Event, frozen=True, tag="retry"):
    """The model request failed before any content and the core retries it after `delay_ms`."""

    type: ClassVar[Literal["retry"]] = "retry"

    attempt: int
    """1 for the first retry."""
    delay_ms: int
    error_kind: str
    error_message: str


AgentEvent: TypeAlias = (
    AgentStart
    | AgentEnd
    | TurnStart
    | TurnEnd
    | MessageStart
    | MessageUpdate
    | MessageEnd
    | ToolExecutionStart
    | ToolExecutionUpdate
    | ToolExecutionEnd
    | ModelRetry
)


def _enc_hook(obj: Any) -> Any:
    if isinstance(obj, STREAM_EVENT_CLASSES):
        return stream_event_to_dict(obj)
    raise NotImplementedError(f"cannot serialise {type(obj).__name__}")


def event_to_json(event: AgentEvent) -> dict[str, Any]:
    """The event as JSON-ready builtins (one line of `--json` output once encoded)."""
    data: dict[str, Any] = msgspec.to_builtins(event, enc_hook=_enc_hook)
    return data
