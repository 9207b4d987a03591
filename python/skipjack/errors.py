"""Exit codes, and errors a user can fix, printed as one sentence instead of a traceback."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    MODEL_ERROR = 1
    """The provider or the model failed (after the core's retries)."""
    USAGE = 2
    """A flag, a config file, a model name or a key needs fixing."""
    LIMIT = 3
    """A turn, cost or token limit ended the run."""
    ABORTED = 130
    """Ctrl-C (SIGINT), as shells report it."""


class UserError(Exception):
    """Something the user can fix; the message says what to do."""

    def __init__(self, message: str, code: ExitCode = ExitCode.USAGE) -> None:
        super().__init__(message)
        self.code = code
