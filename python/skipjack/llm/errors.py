"""One exception root for every model-call failure, classified by what the caller can do.

The core builds these (through `error_from_kind`) for `error` and `retry` events; callers
that prefer exceptions raise the one an `error` event carries.
"""

from __future__ import annotations


class LLMError(Exception):
    """A model call failed. `kind` is the class name in the core's terms."""

    kind: str = "unknown"

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        """The HTTP status, when the failure came from one; for an error event inside a 200
        stream, the status its type or code stands for (529 for `overloaded_error`)."""
        self.retry_after = retry_after
        """Seconds the server asked us to wait, if it said."""


class ContextOverflowError(LLMError):
    """The prompt does not fit the model's context window: compact and retry."""

    kind = "context_overflow"


class RateLimitedError(LLMError):
    kind = "rate_limited"


class AuthError(LLMError):
    """The API key is missing, wrong or not allowed."""

    kind = "auth"


class BadRequestError(LLMError):
    kind = "bad_request"


class ServerError(LLMError):
    """The provider failed, or reported an error inside the stream."""

    kind = "server"


class NetworkError(LLMError):
    kind = "network"


class LLMTimeoutError(LLMError):
    """Connect, first-byte, idle or total timeout; the message names the timer that fired."""

    kind = "timeout"


class AbortedError(LLMError):
    """The caller cancelled the request."""

    kind = "aborted"


class InvalidResponseError(LLMError):
    """The response could not be understood, or ended before it was complete."""

    kind = "invalid_response"


ERROR_CLASSES: dict[str, type[LLMError]] = {
    cls.kind: cls
    for cls in (
        ContextOverflowError,
        RateLimitedError,
        AuthError,
        BadRequestError,
        ServerError,
        NetworkError,
        LLMTimeoutError,
        AbortedError,
        InvalidResponseError,
    )
}


def error_from_kind(kind: str, message: str, status: int | None = None, retry_after_ms: int | None = None) -> LLMError:
    cls = ERROR_CLASSES.get(kind, LLMError)
    retry_after = retry_after_ms / 1000 if retry_after_ms is not None else None
    return cls(message, status=status, retry_after=retry_after)
