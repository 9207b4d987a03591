"""Hooks: where approvals, compaction and other policies plug into the loop.

Each hook is an optional async callable. A hook that raises is treated like a failing
tool (tool hooks: an error result for that call) or a failed model call (context hooks:
the run ends with stop reason "error", kind "hook").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeAlias

import msgspec

from skipjack.agent.tool import ToolOutput
from skipjack.llm.errors import LLMError
from skipjack.llm.types import Message, ToolCall


class Deny(msgspec.Struct, frozen=True):
    """Do not run the call; the model sees `denied: <reason>` as an error result."""

    reason: str


class Replace(msgspec.Struct, frozen=True):
    """Do not run the call; the model sees `output` as its result."""

    output: ToolOutput


BeforeToolCall: TypeAlias = Callable[[ToolCall, Any], Awaitable[Deny | Replace | None]]
"""`(call, parsed args)`: None lets the call run. Runs after argument validation."""
AfterToolCall: TypeAlias = Callable[[ToolCall, ToolOutput], Awaitable[ToolOutput]]
"""`(call, output)` → the output to keep. Sees the result of every call that ran (its
errors included) or was replaced; not validation errors, denials, skips or aborts."""
TransformContext: TypeAlias = Callable[[list[Message]], Awaitable[list[Message]]]
"""A copy of the history → the messages to send, before every model call. The history
itself is not changed."""
OnContextOverflow: TypeAlias = Callable[[list[Message], LLMError], Awaitable[list[Message] | None]]
"""`(history copy, error)` when the model said the context is too long: a new history to
adopt and retry the same model call with, or None to end the run with the error."""


class UpdateFilter(Protocol):
    """Rewrites one call's streamed output chunks (e.g. to scrub secrets) before they are emitted."""

    def feed(self, chunk: str) -> str:
        """The text to emit now for `chunk` (may hold part of it back for the next one)."""
        ...

    def flush(self) -> str:
        """What is still held back, once the call has finished."""
        ...


ToolUpdateFilter: TypeAlias = Callable[[ToolCall], UpdateFilter]
"""A fresh filter for each call's `tool_execution_update` chunks. `after_tool_call` is where
the final output is rewritten; this one only sees what streams before it."""


ScrubText: TypeAlias = Callable[[str], str]
"""Rewrites text the provider sent back about a failed request (its error message, also on
retries) before it enters the history, events and the session: a provider or proxy may echo
the request's credential in it."""


class Hooks(msgspec.Struct, frozen=True):
    """The agent's extension points; each None is skipped."""

    before_tool_call: BeforeToolCall | None = None
    after_tool_call: AfterToolCall | None = None
    transform_context: TransformContext | None = None
    on_context_overflow: OnContextOverflow | None = None
    tool_update_filter: ToolUpdateFilter | None = None
    scrub_text: ScrubText | None = None
