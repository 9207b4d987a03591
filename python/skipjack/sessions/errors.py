"""Session failures, each saying which file (and line) is at fault."""

from __future__ import annotations

from pathlib import Path

import msgspec


class SessionError(Exception):
    """Base of every session failure."""


class SessionNotFoundError(SessionError):
    pass


class SessionFormatError(SessionError):
    """A session file that cannot be loaded as written; names the file and the line."""

    def __init__(self, path: Path, line: int | None, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        where = f"{path}:{line}" if line is not None else str(path)
        super().__init__(f"{where}: {message}")


class SessionLockedError(SessionError):
    """Another process is writing to this session."""


class SessionChangedError(SessionError):
    """The file changed on disk after it was loaded; appending now could corrupt it."""


class LoadWarning(msgspec.Struct, frozen=True):
    """Something on load that was recovered from, not fatal: e.g. a torn last line."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"
