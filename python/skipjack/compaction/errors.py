"""The one error of compaction, apart so that a run can catch it without loading the summariser."""

from __future__ import annotations

from skipjack.llm.types import Usage


class CompactionError(Exception):
    """The summary could not be made. `usage` is what the attempt cost all the same."""

    def __init__(self, message: str, *, usage: Usage, requests: int, model: str) -> None:
        super().__init__(message)
        self.usage = usage
        self.requests = requests
        self.model = model
