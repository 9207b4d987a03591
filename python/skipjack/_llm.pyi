"""The native stream core (built from crates/skipjack-py). Use `skipjack.llm`, not this."""

from typing import Final, Literal, final

from skipjack.llm.errors import LLMError
from skipjack.llm.types import AssistantMessage, ToolCall

__all__ = [
    "CORE_VERSION",
    "Done",
    "Error",
    "NativeStream",
    "Retry",
    "Start",
    "TextDelta",
    "TextEnd",
    "TextStart",
    "ThinkingDelta",
    "ThinkingEnd",
    "ThinkingStart",
    "ToolCallDelta",
    "ToolCallEnd",
    "ToolCallStart",
    "start_stream",
]

CORE_VERSION: Final[str]

@final
class NativeStream:
    def drain(self) -> list[_Event]:
        """Every event queued now (empty if none)."""
    @property
    def wake_fd(self) -> int:
        """A descriptor that becomes readable when there is something to drain."""
    def clear_wake(self) -> None:
        """Consume pending wake-ups before draining."""
    def drain_woken(self) -> list[_Event]:
        """Consume pending wake-ups, then every event queued (one call per wake-up)."""
    @property
    def finished(self) -> bool:
        """True once the terminal event has been drained."""
    def cancel(self) -> None:
        """Abort the request; the stream ends with an `aborted` error event."""

def start_stream(request: bytes, messages: list[bytes]) -> NativeStream:
    """Start a request from the JSON of `{model, context, options}` whose context has no
    `messages` (options as `StreamOptions`: retry, timeouts incl. `total_ms`, size `limits`)
    and the JSON of each message, in order; raises ValueError if malformed."""

@final
class Start:
    @property
    def type(self) -> Literal["start"]: ...

@final
class TextStart:
    @property
    def type(self) -> Literal["text_start"]: ...
    @property
    def index(self) -> int:
        """Position of the block in the message's content."""

@final
class TextDelta:
    @property
    def type(self) -> Literal["text_delta"]: ...
    @property
    def index(self) -> int: ...
    @property
    def delta(self) -> str: ...

@final
class TextEnd:
    @property
    def type(self) -> Literal["text_end"]: ...
    @property
    def index(self) -> int: ...
    @property
    def text(self) -> str:
        """The whole text of the block."""

@final
class ThinkingStart:
    @property
    def type(self) -> Literal["thinking_start"]: ...
    @property
    def index(self) -> int: ...

@final
class ThinkingDelta:
    @property
    def type(self) -> Literal["thinking_delta"]: ...
    @property
    def index(self) -> int: ...
    @property
    def delta(self) -> str: ...

@final
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

@final
class ToolCallStart:
    @property
    def type(self) -> Literal["toolcall_start"]: ...
    @property
    def index(self) -> int: ...
    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...

@final
class ToolCallDelta:
    @property
    def type(self) -> Literal["toolcall_delta"]: ...
    @property
    def index(self) -> int: ...
    @property
    def delta(self) -> str:
        """A fragment of the arguments' JSON text."""

@final
class ToolCallEnd:
    @property
    def type(self) -> Literal["toolcall_end"]: ...
    @property
    def index(self) -> int: ...
    @property
    def tool_call(self) -> ToolCall: ...

@final
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

@final
class Done:
    @property
    def type(self) -> Literal["done"]: ...
    @property
    def message(self) -> AssistantMessage: ...

@final
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
