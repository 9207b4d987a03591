"""Stream events: native objects built by the Rust core, each with a literal `type`.

A stream yields `start`, block events, optional `retry` events (before any content), and
exactly one terminal `done` or `error`. Events carry deltas; the finished blocks arrive
on the `*_end` events and the whole message on the terminal one.
"""

from __future__ import annotations

from typing import Any, TypeAlias, get_args

import msgspec

from skipjack._llm import (
    Done,
    Error,
    Retry,
    Start,
    TextDelta,
    TextEnd,
    TextStart,
    ThinkingDelta,
    ThinkingEnd,
    ThinkingStart,
    ToolCallDelta,
    ToolCallEnd,
    ToolCallStart,
)

StreamEvent: TypeAlias = (
    Start
    | TextStart
    | TextDelta
    | TextEnd
    | ThinkingStart
    | ThinkingDelta
    | ThinkingEnd
    | ToolCallStart
    | ToolCallDelta
    | ToolCallEnd
    | Retry
    | Done
    | Error
)
"""The one list of stream event kinds: everything else is derived from this union (the
native classes' `type` tags are their own; `tests/llm/test_event_kinds.py` checks the Rust
binding and its stub declare the same set)."""

STREAM_EVENT_CLASSES: tuple[type[StreamEvent], ...] = get_args(StreamEvent)
"""The union's classes, for `isinstance` checks at run time."""


def stream_event_to_dict(event: StreamEvent) -> dict[str, Any]:
    """A native stream event as plain data: `type`, `index` and the event's own fields."""
    if isinstance(event, TextDelta | ThinkingDelta | ToolCallDelta):
        return {"type": event.type, "index": event.index, "delta": event.delta}
    if isinstance(event, TextStart | ThinkingStart):
        return {"type": event.type, "index": event.index}
    if isinstance(event, TextEnd):
        return {"type": event.type, "index": event.index, "text": event.text}
    if isinstance(event, ThinkingEnd):
        return {
            "type": event.type,
            "index": event.index,
            "thinking": event.thinking,
            "signature": event.signature,
            "redacted": event.redacted,
        }
    if isinstance(event, ToolCallStart):
        return {"type": event.type, "index": event.index, "id": event.id, "name": event.name}
    if isinstance(event, ToolCallEnd):
        return {"type": event.type, "index": event.index, "tool_call": msgspec.to_builtins(event.tool_call)}
    if isinstance(event, Retry):
        error = {"kind": event.error.kind, "message": event.error.message}
        return {"type": event.type, "attempt": event.attempt, "delay_ms": event.delay_ms, "error": error}
    if isinstance(event, Done):
        return {"type": event.type, "message": msgspec.to_builtins(event.message)}
    if isinstance(event, Error):
        error = {"kind": event.error.kind, "message": event.error.message}
        return {"type": event.type, "message": msgspec.to_builtins(event.message), "error": error}
    return {"type": event.type}


__all__ = [
    "STREAM_EVENT_CLASSES",
    "Done",
    "Error",
    "Retry",
    "Start",
    "StreamEvent",
    "TextDelta",
    "TextEnd",
    "TextStart",
    "ThinkingDelta",
    "ThinkingEnd",
    "ThinkingStart",
    "ToolCallDelta",
    "ToolCallEnd",
    "ToolCallStart",
    "stream_event_to_dict",
]
