"""Exact-text replacement: `old_text` must occur once, literally or after unifying line endings."""

from __future__ import annotations

import bisect
import re

from skipjack.tools._text import to_eol

_CRLF = re.compile("\r\n")


class ExactEditError(ValueError):
    pass


def replace_once(text: str, old: str, new: str, eol: str, shown: str) -> str:
    """`text` with the single occurrence of `old` replaced by `new` (written with `eol`)."""
    if old == "":
        raise ExactEditError("old_text is empty; give the exact text to replace.")
    new_text = to_eol(new, eol)
    starts = _occurrences(text, old)
    if len(starts) == 1:
        return text[: starts[0]] + new_text + text[starts[0] + len(old) :]

    # The model often writes "\n" where the file has "\r\n" (or the reverse): match on text
    # with unified line endings, then map the match back to the file's own offsets.
    unified, crlf_at = _unify(text)
    old_unified = _unify(old)[0]
    unified_starts = _occurrences(unified, old_unified) if not starts else []
    if len(unified_starts) == 1:
        begin = unified_starts[0]
        end = begin + len(old_unified)
        raw_begin = begin + bisect.bisect_left(crlf_at, begin)
        raw_end = end + bisect.bisect_left(crlf_at, end)
        return text[:raw_begin] + new_text + text[raw_end:]

    if starts:
        lines = sorted({text.count("\n", 0, s) + 1 for s in starts})
        where = ", ".join(str(n) for n in lines[:20])
        raise ExactEditError(
            f"old_text matches {len(starts)} places in {shown} (lines {where}); it must match "
            "exactly one. Include more surrounding lines to make it unique, or use tag edits."
        )
    if unified_starts:
        lines = sorted({unified.count("\n", 0, s) + 1 for s in unified_starts})
        where = ", ".join(str(n) for n in lines[:20])
        raise ExactEditError(
            f"old_text matches {len(unified_starts)} places in {shown} (lines {where}) once line "
            "endings are ignored; it must match exactly one. Include more surrounding lines."
        )
    raise ExactEditError(
        f"old_text was not found in {shown} (0 matches). It must match the file exactly, "
        "whitespace and indentation included; read the file again and copy the text."
    )


def _occurrences(text: str, needle: str) -> list[int]:
    """Start offsets of `needle`, overlapping ones included ("aa" occurs twice in "aaa")."""
    found = []
    at = text.find(needle)
    while at != -1:
        found.append(at)
        at = text.find(needle, at + 1)
    return found


def _unify(text: str) -> tuple[str, list[int]]:
    """`text` with "\\r\\n" and "\\r" made "\\n", and where each former "\\r\\n" now sits."""
    crlf_at = [m.start() - k for k, m in enumerate(_CRLF.finditer(text))]
    return text.replace("\r\n", "\n").replace("\r", "\n"), crlf_at
