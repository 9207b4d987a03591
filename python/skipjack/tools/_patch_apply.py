"""Applying the hunks of one `*** Update File:` to the file's lines, verified against them.

Every hunk's old lines (context and `-` lines) must be found in the file as it is on disk,
after the previous hunk and after its `@@` anchor line when it names one. A hunk whose lines
are not there, or are there more than once so that the place is a guess, is refused with
its number, anchor and patch line: the model is told exactly which hunk to redo. Lines are
compared exactly, then ignoring trailing whitespace (models drop it), never more loosely.

The result names kept lines by their index in the file, so that a context line keeps its
exact text and line ending from the file (a file with mixed endings keeps them); only the
lines the patch adds are new text.
"""

from __future__ import annotations

from skipjack.tools._patch_parse import Hunk


class HunkError(ValueError):
    """A hunk does not apply to the file on disk; nothing was written."""


def apply_hunks(lines: list[str], hunks: list[Hunk], path: str) -> list[int | str]:
    """`lines` (texts without endings) with every hunk applied, or `HunkError`: each item is
    the index of a line of `lines` kept, or the text of a line added."""
    out: list[int | str] = []
    cursor = 0
    for hunk in hunks:
        start = cursor
        if hunk.anchor is not None:
            found = _find(lines, [hunk.anchor], cursor, at_end=False, partial_ok=True)
            if not found:
                raise HunkError(
                    f"{hunk.label(path)}: its `@@ {hunk.anchor}` line is not in the file"
                    + (" after the previous hunk" if cursor else "")
                    + ". Nothing was written; read the file and redo the patch."
                )
            start = found[0] + 1
        if not hunk.old:
            # Pure insertion: after the anchor, or at the end of the file.
            at = start if hunk.anchor is not None else len(lines)
        else:
            found = _find(lines, hunk.old, start, at_end=hunk.at_end, partial_ok=False)
            if not found:
                raise HunkError(
                    f"{hunk.label(path)} does not apply: these lines are not in the file"
                    + (" after the previous hunk" if start else "")
                    + ":\n"
                    + "\n".join(f"  {x}" for x in hunk.old[:12])
                    + ("\n  ..." if len(hunk.old) > 12 else "")
                    + "\nNothing was written; read the file and redo the patch."
                )
            if len(found) > 1:
                raise HunkError(
                    f"{hunk.label(path)} is ambiguous: its lines occur {len(found)} times (at lines "
                    + ", ".join(str(n + 1) for n in found[:5])
                    + "). Add context lines or an `@@` line naming the enclosing function or class. "
                    "Nothing was written."
                )
            at = found[0]
        if at < cursor:
            raise HunkError(f"{hunk.label(path)} overlaps the previous hunk. Nothing was written.")
        out.extend(range(cursor, at))
        j = at
        for kind, text in hunk.body:
            if kind == " ":
                out.append(j)
                j += 1
            elif kind == "-":
                j += 1
            else:
                out.append(text)
        cursor = j
    out.extend(range(cursor, len(lines)))
    return out


def _find(lines: list[str], seq: list[str], start: int, *, at_end: bool, partial_ok: bool) -> list[int]:
    """Where `seq` occurs in `lines` from `start` on: exactly if it does, else ignoring
    trailing whitespace. `partial_ok` (an anchor) also accepts a line merely containing it."""
    n = len(seq)
    if at_end:
        first = len(lines) - n
        if first < start:
            return []
    for loose in (False, True):
        # The trailing-whitespace-blind copy is made only when the exact pass found nothing.
        hay = [x.rstrip() for x in lines] if loose else lines
        needle = [x.rstrip() for x in seq] if loose else seq
        if at_end:
            hits = [first] if hay[first:] == needle else []
        else:
            # Test the first line with a plain comparison, the rest only where it matched: the
            # whole file is scanned (an ambiguous hunk must be seen twice), so this is the loop.
            head = needle[0]
            hits = [i for i in range(start, len(hay) - n + 1) if hay[i] == head and hay[i : i + n] == needle]
        if hits:
            return hits[:1] if partial_ok else hits
    if partial_ok:
        wanted = seq[0].strip()
        return next(([i] for i in range(start, len(lines)) if wanted in lines[i]), [])
    return []
