"""Exact-text replacement: `old_text` must occur once, literally or after unifying line endings."""

from __future__ import annotations

import bisect
import re

from skipjack.tools._files import CancelFlag
from skipjack.tools._text import to_eol

_CRLF = re.compile("\r\n")


class ExactEditError(ValueError):
    pass


MAX_COUNTED = 1000
"""Matches counted before giving up: enough to say "not unique", and keeps the search linear."""


def replace_once(text: str, old: str, new: str, eol: str, shown: str, flag: CancelFlag | None = None) -> str:
    """`text` with the single occurrence of `old` replaced by `new` (written with `eol`).

    Linear in the file: at most `MAX_COUNTED + 1` matches are collected and their line numbers
    are counted from one match to the next; `flag` is checked between matches so an abort stops
    the search.
    """
    if old == "":
        raise ExactEditError("old_text is empty; give the exact text to replace.")
    new_text = to_eol(new, eol)
    starts = _occurrences(text, old, flag)
    if len(starts) == 1:
        return text[: starts[0]] + new_text + text[starts[0] + len(old) :]

    # The model often writes "\n" where the file has "\r\n" (or the reverse): match on text
    # with unified line endings, then map the match back to the file's own offsets.
    unified_starts: list[int] = []
    unified = text
    if not starts:
        unified, crlf_at = _unify(text)
        old_unified = _unify(old)[0]
        unified_starts = _occurrences(unified, old_unified, flag)
        if len(unified_starts) == 1:
            begin = unified_starts[0]
            end = begin + len(old_unified)
            raw_begin = begin + bisect.bisect_left(crlf_at, begin)
            raw_end = end + bisect.bisect_left(crlf_at, end)
            return text[:raw_begin] + new_text + text[raw_end:]

    if starts:
        raise ExactEditError(
            f"old_text matches {_count(starts)} places in {shown} (lines {_lines(text, starts)}); it must "
            "match exactly one. Include more surrounding lines to make it unique, or use tag edits."
        )
    if unified_starts:
        raise ExactEditError(
            f"old_text matches {_count(unified_starts)} places in {shown} (lines "
            f"{_lines(unified, unified_starts)}) once line endings are ignored; it must match exactly "
            "one. Include more surrounding lines."
        )
    raise ExactEditError(
        f"old_text was not found in {shown} (0 matches). It must match the file exactly, "
        "whitespace and indentation included; read the file again and copy the text."
    )


def _count(starts: list[int]) -> str:
    return f"more than {MAX_COUNTED}" if len(starts) > MAX_COUNTED else str(len(starts))


def _lines(text: str, starts: list[int], most: int = 20) -> str:
    """The distinct line numbers of the first matches, counted incrementally (linear)."""
    lines: list[int] = []
    line, at = 1, 0
    for s in starts:
        line += text.count("\n", at, s)
        at = s
        if not lines or lines[-1] != line:
            lines.append(line)
        if len(lines) == most:
            break
    return ", ".join(str(n) for n in lines)


def _occurrences(text: str, needle: str, flag: CancelFlag | None) -> list[int]:
    """Start offsets of `needle`, overlapping ones included ("aa" occurs twice in "aaa"),
    at most `MAX_COUNTED + 1` of them."""
    found: list[int] = []
    at = text.find(needle)
    while at != -1 and len(found) <= MAX_COUNTED:
        found.append(at)
        if flag is not None:
            flag.check()
        at = text.find(needle, at + 1)
    return found


def _unify(text: str) -> tuple[str, list[int]]:
    """`text` with "\\r\\n" and "\\r" made "\\n", and where each former "\\r\\n" now sits."""
    crlf_at = [m.start() - k for k, m in enumerate(_CRLF.finditer(text))]
    return text.replace("\r\n", "\n").replace("\r", "\n"), crlf_at
