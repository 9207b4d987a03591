"""Tag-addressed edit operations, checked against one snapshot and applied all or nothing."""

from __future__ import annotations

import re
from typing import Annotated, TypeAlias

import msgspec

from skipjack.tools._text import DIGEST_SIZE, line_digest, short_hash, split_lines, strip_eol, tagged_lines

_TAG_RE = re.compile(r"^\s*(\d+)\s*:\s*([A-Za-z2-7]+)\s*(?:\|.*)?$", re.DOTALL)

Tag = Annotated[str, msgspec.Meta(description="A line tag `LINE:HASH` from read, e.g. `12:k4q`")]


class Replace(msgspec.Struct, tag="replace", tag_field="op", kw_only=True, forbid_unknown_fields=True):
    """Replace the lines from `start` to `end` (inclusive) with `text`."""

    start: Tag
    end: Annotated[Tag | None, msgspec.Meta(description="Last line, inclusive; omit for one line")] = None
    text: Annotated[str, msgspec.Meta(description="The new lines; an empty string deletes the range")]


class InsertAfter(msgspec.Struct, tag="insert_after", tag_field="op", kw_only=True, forbid_unknown_fields=True):
    """Insert `text` as new lines after the line `after`."""

    after: Annotated[str, msgspec.Meta(description="Tag of the line to insert after; `0` for the file start")]
    text: Annotated[str, msgspec.Meta(description="The lines to insert")]


class Delete(msgspec.Struct, tag="delete", tag_field="op", kw_only=True, forbid_unknown_fields=True):
    """Delete the lines from `start` to `end` (inclusive)."""

    start: Tag
    end: Annotated[Tag | None, msgspec.Meta(description="Last line, inclusive; omit for one line")] = None


EditOp: TypeAlias = Replace | InsertAfter | Delete


class TagEditError(ValueError):
    """The operations cannot apply to the file as it is; the message says why and shows lines."""


class _Span(msgspec.Struct, frozen=True):
    """Lines [start, end] (1-based, inclusive) become `new`; an insertion has end == start - 1."""

    start: int
    end: int
    new: list[str]
    index: int

    @property
    def is_insert(self) -> bool:
        return self.end < self.start


def text_to_lines(text: str) -> list[str]:
    """The model's text as line contents: "" is no lines; one trailing newline is not a line."""
    if text == "":
        return []
    unified = text.replace("\r\n", "\n").replace("\r", "\n")
    if unified.endswith("\n"):
        unified = unified[:-1]
    return unified.split("\n")


def apply_ops(text: str, ops: list[EditOp], eol: str, known: bytes | None = None) -> str:
    """`text` with every operation applied, or `TagEditError` and nothing applied.

    `known` is the line digests of the version the model read (`ReadRecord.lines`). Every line
    an operation replaces or deletes, not only the two it names, must be unchanged since then;
    lines that others moved meanwhile are followed to where they are now, so a stale line number
    never lands on a duplicate line in the wrong place.
    """
    lines = split_lines(text)
    spans = _plan(lines, ops, known)
    final_newline = not lines or lines[-1] != strip_eol(lines[-1])
    # Bottom-up, so each splice leaves the line numbers of those still to come unchanged; an
    # insertion just above a range sorts below it and so lands before the range's new text.
    for span in sorted(spans, key=lambda s: s.start - (0.5 if s.is_insert else 0.0), reverse=True):
        lines[span.start - 1 : span.end] = [line + eol for line in span.new]
    for i, line in enumerate(lines):
        body = strip_eol(line)
        if i < len(lines) - 1 or final_newline:
            lines[i] = line if body != line else body + eol
        else:
            lines[i] = body
    return "".join(lines)


MAX_REMAP_LINES = 20_000
"""Changed lines (per side) beyond which lines moved by others are not followed: the aligning
diff grows with their product. Tags into such a region are refused and a fresh read asked for."""


def _split_digests(known: bytes) -> list[bytes]:
    return [known[i : i + DIGEST_SIZE] for i in range(0, len(known), DIGEST_SIZE)]


def _follow(old: list[bytes], new: list[bytes]) -> list[int]:
    """For each line of `old` (1-based; index 0 is the file start) its line in `new`, or -1
    where it was changed or deleted."""
    where = [-1] * (len(old) + 1)
    where[0] = 0
    head = 0
    limit = min(len(old), len(new))
    while head < limit and old[head] == new[head]:
        head += 1
        where[head] = head
    tail = 0
    while tail < limit - head and old[-1 - tail] == new[-1 - tail]:
        where[len(old) - tail] = len(new) - tail
        tail += 1
    a, b = old[head : len(old) - tail], new[head : len(new) - tail]
    if a and b and len(a) <= MAX_REMAP_LINES and len(b) <= MAX_REMAP_LINES:
        import difflib  # here, not at the top: it costs start-up time and most edits never get here

        matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
        for i, j, n in matcher.get_matching_blocks():
            for k in range(n):
                where[head + i + k + 1] = head + j + k + 1
    return where


def _plan(lines: list[str], ops: list[EditOp], known: bytes | None) -> list[_Span]:
    problems: list[str] = []
    current = [line_digest(strip_eol(line)) for line in lines]
    seen = _split_digests(known) if known is not None else None
    where: list[int] | None = None

    def follow() -> list[int]:
        nonlocal where
        if where is None:
            assert seen is not None
            where = list(range(len(seen) + 1)) if seen == current else _follow(seen, current)
        return where

    def parse(raw: str, index: int, allow_zero: bool = False) -> tuple[int, str] | None:
        if allow_zero and raw.strip() in ("0", "0:"):
            return 0, ""
        match = _TAG_RE.match(raw)
        if match is None:
            problems.append(f"edit {index + 1}: {raw!r} is not a tag; expected `LINE:HASH` such as `12:k4q`.")
            return None
        lineno = int(match.group(1))
        if lineno == 0 and allow_zero:
            return 0, ""
        return lineno, match.group(2).lower()

    def missing(index: int, lineno: int, want: str) -> None:
        if lineno < 1 or lineno > len(lines):
            problems.append(
                f"edit {index + 1}: line {lineno} of '{lineno}:{want}' does not exist; the file has "
                f"{len(lines)} lines. Its last lines now:\n" + _window(lines, len(lines))
            )
        else:
            have = short_hash(current[lineno - 1])
            problems.append(
                f"edit {index + 1}: line {lineno} changed since it was read (tag {lineno}:{want}, "
                f"now {lineno}:{have}). Current lines around it:\n" + _window(lines, lineno)
            )

    def resolve(index: int, tags: list[tuple[int, str]], first: int, last: int) -> tuple[int, int] | None:
        """Lines first..last (tag numbering) in the current file, every one of them verified."""
        if seen is not None and all(n == 0 or (n <= len(seen) and short_hash(seen[n - 1]) == h) for n, h in tags):
            # Tags of the version the model read: check every line of the range against it.
            to = follow()
            for n in range(first, last + 1):
                if to[n] < 0 or to[n] - to[first] != n - first:
                    if to[first] < 0 or to[last] < 0:
                        bad = tags[0] if to[first] < 0 else tags[-1]
                        missing(index, bad[0], bad[1])
                    else:
                        problems.append(
                            f"edit {index + 1}: line {n}, inside the range {first}-{last} you gave, "
                            "changed since you read it (or lines were inserted there); the range is "
                            f"refused. Current lines around it:\n" + _window(lines, to[first] + n - first)
                        )
                    return None
            return to[first], to[last]
        # Tags that match the file as it is now, e.g. from grep: fine for one line; a range
        # needs every line in it seen, which only a read records.
        for n, h in tags:
            if n != 0 and (n > len(current) or short_hash(current[n - 1]) != h):
                missing(index, n, h)
                return None
        if last > first:
            problems.append(
                f"edit {index + 1}: lines {first}-{last} were not all shown to you in their current "
                "version; read them first (every line of a range is checked against what you read)."
            )
            return None
        return first, last

    spans: list[_Span] = []
    for index, op in enumerate(ops):
        if isinstance(op, InsertAfter):
            after = parse(op.after, index, allow_zero=True)
            if after is not None:
                got = resolve(index, [after], after[0], after[0])
                if got is not None:
                    spans.append(_Span(got[0] + 1, got[0], text_to_lines(op.text), index))
            continue
        start = parse(op.start, index)
        end = parse(op.end, index) if op.end is not None else start
        if start is None or end is None:
            continue
        if end[0] < start[0]:
            problems.append(f"edit {index + 1}: end line {end[0]} comes before start line {start[0]}.")
            continue
        got = resolve(index, [start, end] if end != start else [start], start[0], end[0])
        if got is None:
            continue
        new = text_to_lines(op.text) if isinstance(op, Replace) else []
        spans.append(_Span(got[0], got[1], new, index))
    if problems:
        raise TagEditError(_refusal(problems))

    for i, a in enumerate(spans):
        for b in spans[i + 1 :]:
            if _overlap(a, b):
                problems.append(
                    f"edits {a.index + 1} and {b.index + 1} touch the same lines "
                    f"({_describe(a)} and {_describe(b)}); merge them into one edit."
                )
    if problems:
        raise TagEditError(_refusal(problems))
    return spans


def _overlap(a: _Span, b: _Span) -> bool:
    if a.is_insert and b.is_insert:
        return a.end == b.end
    if a.is_insert or b.is_insert:
        point, rng = (a, b) if a.is_insert else (b, a)
        # Inserting after the last line of a range being replaced is ambiguous; after the
        # line just above it is not.
        return rng.start <= point.end <= rng.end
    return a.start <= b.end and b.start <= a.end


def _describe(span: _Span) -> str:
    if span.is_insert:
        return f"insert after line {span.end}"
    return f"line {span.start}" if span.start == span.end else f"lines {span.start}-{span.end}"


def _window(lines: list[str], lineno: int, radius: int = 3) -> str:
    if not lines:
        return "    (the file is empty)"
    return "\n".join("    " + t for t in tagged_lines(lines, lineno - radius, lineno + radius))


def _refusal(problems: list[str]) -> str:
    head = "Edit refused; the file was not changed."
    return head + "\n" + "\n".join(f"- {p}" for p in problems) + "\nRetry with the current tags."
