"""Stream events: native objects built by the Rust core, each with a literal `type`.

A stream yields `start`, block events, optional `retry` events (before any content), and
exactly one terminal `done` or `error`. Events carry deltas; the finished blocks arrive
on the `*_end` events and the whole message on the terminal one.
"""

from __future__ import annotations

from typing import TypeAlias

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

__all__ = [
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
]
