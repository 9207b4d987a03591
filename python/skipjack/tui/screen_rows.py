"""Output lines → the screen rows they take at a width, counting wrapped rows, not lines.

A panel meant to show 4 rows of a command's output must show 4 rows even when the last line
is 12,000 characters long (it wraps to 150 rows at 80 columns). Only the rows that can be
shown are ever wrapped, so a huge line costs a slice, not a layout of all of it.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text


def _rows(line: str, width: int, console: Console, *, keep: int, from_end: bool) -> tuple[list[Text], bool]:
    """The wrapped rows of one line (colours kept), at most `keep` of them from its end (or
    start), and whether any were left out."""
    text = Text.from_ansi(line, no_wrap=False)
    # A cell is at least one character wide (zero-width marks aside): `keep * width`
    # characters from the right end always fill `keep` rows, so wrap no more than that.
    budget = keep * width
    sliced = len(text) > budget
    if sliced:
        text = text[-budget:] if from_end else text[:budget]
    rows = list(text.wrap(console, width, overflow="fold"))
    if not rows:
        rows = [Text("")]
    if len(rows) > keep:
        rows = rows[-keep:] if from_end else rows[:keep]
        sliced = True
    for row in rows:
        row.rstrip()
    return rows, sliced


def tail_rows(lines: list[str], limit: int, width: int, console: Console) -> tuple[list[Text], int]:
    """The last `limit` screen rows of `lines` and how many lines are not (fully) shown."""
    shown: list[Text] = []
    i = len(lines)
    partial = False
    while i > 0 and len(shown) < limit:
        i -= 1
        rows, partial = _rows(lines[i], width, console, keep=limit - len(shown), from_end=True)
        shown[:0] = rows
    return shown, i + (1 if partial else 0)


def head_rows(lines: list[str], limit: int, width: int, console: Console) -> tuple[list[Text], int]:
    """The first `limit` screen rows of `lines` and how many lines are not (fully) shown."""
    shown: list[Text] = []
    i = 0
    partial = False
    while i < len(lines) and len(shown) < limit:
        rows, partial = _rows(lines[i], width, console, keep=limit - len(shown), from_end=False)
        shown.extend(rows)
        i += 1
    return shown, len(lines) - i + (1 if partial else 0)
