"""What an edit changed: a unified diff, and the new tags of the changed lines."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from skipjack.tools._text import line_texts, tagged_lines

CONTEXT = 3
MAX_DIFF_LINES = 400
MAX_TAGGED_LINES = 80

_HUNK = re.compile(r"^@@ -(\d+)(,\d+)? \+(\d+)(,\d+)? @@")


@dataclass(frozen=True)
class Change:
    """An edit described for the model and the user."""

    diff: str
    tags: str
    """`LINE:HASH|text` of each changed region of the new file, one line of context around."""
    moved: str = ""
    """How the line numbers below the last change moved, so old tags can be renumbered."""


def describe_change(before: str, after: str, shown: str) -> Change:
    old = line_texts(before)
    new = line_texts(after)
    # Diff only the part between the common head and tail (plus context): difflib's cost grows
    # fast with length, and an edit usually touches a few lines of a long file.
    head = 0
    limit = min(len(old), len(new))
    while head < limit and old[head] == new[head]:
        head += 1
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        tail += 1
    start = max(head - CONTEXT, 0)
    keep_tail = max(tail - CONTEXT, 0)
    a, b = old[start : len(old) - keep_tail], new[start : len(new) - keep_tail]

    diff = [
        _shift(line, start) for line in difflib.unified_diff(a, b, f"a/{shown}", f"b/{shown}", n=CONTEXT, lineterm="")
    ]
    if len(diff) > MAX_DIFF_LINES:
        diff = [*diff[:MAX_DIFF_LINES], f"[diff cut: {len(diff) - MAX_DIFF_LINES} more lines]"]

    ranges: list[tuple[int, int]] = []
    for op, _i1, _i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        first, last = max(start + j1, 1), min(start + j2 + 1, len(new))  # 1-based, with context
        if ranges and first <= ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], last))
        else:
            ranges.append((first, last))
    tags: list[str] = []
    for first, last in ranges:
        if tags:
            tags.append("...")
        tags.extend(tagged_lines(new, first, last))
        if len(tags) > MAX_TAGGED_LINES:
            tags = [*tags[:MAX_TAGGED_LINES], "[more changed lines not shown; read the file]"]
            break
    delta = len(new) - len(old)
    moved = ""
    if delta and tail:
        below = len(old) - tail
        moved = (
            f"Lines below old line {below} moved {'down' if delta > 0 else 'up'} by {abs(delta)}: "
            f"a tag N:HASH you read for them is now {'N+' if delta > 0 else 'N-'}{abs(delta)}:HASH."
        )
    return Change("\n".join(diff), "\n".join(tags), moved)


def _shift(line: str, by: int) -> str:
    """A hunk header's line numbers moved down by `by` (the diffed slice started there)."""
    match = _HUNK.match(line) if by else None
    if match is None:
        return line
    old_len, new_len = match.group(2) or "", match.group(4) or ""
    return f"@@ -{int(match.group(1)) + by}{old_len} +{int(match.group(3)) + by}{new_len} @@" + line[match.end() :]
