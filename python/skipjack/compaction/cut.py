"""Where to cut the history: what is summarised and what is kept verbatim."""

from __future__ import annotations

from collections.abc import Sequence

from skipjack.compaction.estimate import estimate_tokens
from skipjack.llm.types import Message, ToolResultMessage


def is_cut_point(messages: Sequence[Message], i: int) -> bool:
    """A cut before a user or assistant message never separates a tool call from its result:
    results follow their call, so only a cut before a result could."""
    return i == len(messages) or not isinstance(messages[i], ToolResultMessage)


def find_cut(messages: Sequence[Message], keep_recent_tokens: int, *, start: int = 0) -> int:
    """The index of the first message kept verbatim.

    At least `keep_recent_tokens` (estimated) of the most recent messages are kept, and always
    the newest message (the prompt or tool result the next call answers), moving the
    cut earlier to the nearest boundary that keeps each tool call with its results. `start`
    is where summarisable messages begin (after a previous summary); returning `start` means
    there is nothing to summarise.
    """
    kept = 0
    for i in range(len(messages) - 1, start - 1, -1):
        kept += estimate_tokens(messages[i])
        if kept >= keep_recent_tokens:
            j = i
            while j > start and not is_cut_point(messages, j):
                j -= 1
            return j
    return start
