"""The native stream core (built from crates/skipjack-py). Use `skipjack.llm`, not this."""

from collections.abc import Awaitable
from typing import Final, Literal

from skipjack.llm.errors import LLMError
from skipjack.llm.types import AssistantMessage, ToolCall

CORE_VERSION: Final[str]

class NativeStream:
    def drain(self) -> list[_Event]:
        """Every event queued now (empty if none)."""
    def readable(self) -> Awaitable[None]:
        """Resolves once there is something to drain or the stream is over; takes nothing."""
    @property
    def finished(self) -> bool:
        """True once the terminal event has been drained."""
    def cancel(self) -> None:
        """Abort the request; the stream ends with an `aborted` error event."""

def start_stream(request: bytes) -> NativeStream:
    """Start a request from the JSON of `{model, context, options}`; raises ValueError if malformed."""

class Start:
    @property
    def type(self) -> Literal["start"]: ...

class TextStart:
    @property
    def type(self) -> Literal["text_start"]: ...
    @property
    def index(self) -> int:
        """Position of the block in the message's content."""

class TextDelta:
    @property
    def type(self) -> Literal["text_delta"]: ...
    @property
    def index(self) -> int: ...
    @property
    def delta(self) -> str: ...

class TextEnd:
    @property
    def type(self) -> Literal["text_end"]: ...
    @property
    def index(self) -> int: ...
    @property
    def text(self) -> str:
        """The whole text of the block."""

class ThinkingStart:
    @property
    def type(self) -> Literal["thinking_start"]: ...
    @property
    def index(self) -> int: ...

class ThinkingDelta:
    @property
    def type(self) -> Literal["thinking_delta"]: ...
    @property
    def index(self) -> int: ...
    @property
    def delta(self) -> str: ...

class ThinkingEnd:
    @property
    def type(self) -> Literal["thinking_end"]: ...
    @property
    def index(self) -> int: ...
    @property
    def thinking(self) -> str: ...
    @property
    def signature(self) -> str | None: ...
    @property
    def redacted(self) -> bool: ...

class ToolCallStart:
    @property
    def type(self) -> Literal["toolcall_start"]: ...
    @property
    def index(self) -> int: ...
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...

class ToolCallDelta:
    @property
    def type(self) -> Literal["toolcall_delta"]: ...
    @property
    def index(self) -> int: ...
    @property
    def delta(self) -> str:
        """A fragment of the arguments' JSON text."""

class ToolCallEnd:
    @property
    def type(self) -> Literal["toolcall_end"]: ...
    @property
    def index(self) -> int: ...
    @property
    def tool_call(self) -> ToolCall: ...

class Retry:
    @property
    def type(self) -> Literal["retry"]: ...
    @property
    def attempt(self) -> int:
        """1 for the first retry."""
    @property
    def delay_ms(self) -> int: ...
    @property
    def error(self) -> LLMError:
        """Why the previous attempt failed."""

class Done:
    @property
    def type(self) -> Literal["done"]: ...
    @property
    def message(self) -> AssistantMessage: ...

class Error:
    @property
    def type(self) -> Literal["error"]: ...
    @property
    def message(self) -> AssistantMessage:
        """Everything that arrived before the failure; stop_reason "error" or "aborted"."""
    @property
    def error(self) -> LLMError: ...

_Event = (
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
