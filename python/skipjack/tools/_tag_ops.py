"""Tag-addressed edit operations, checked against one snapshot and applied all or nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, TypeAlias

import msgspec

from skipjack.tools._text import line_hash, split_lines, strip_eol, tagged_lines

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


@dataclass(frozen=True)
class _Span:
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


def apply_ops(text: str, ops: list[EditOp], eol: str) -> str:
    """`text` with every operation applied, or `TagEditError` and nothing applied."""
    lines = split_lines(text)
    spans = _plan(lines, ops)
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


def _plan(lines: list[str], ops: list[EditOp]) -> list[_Span]:
    problems: list[str] = []

    def check(raw: str, index: int, allow_zero: bool = False) -> int:
        match = _TAG_RE.match(raw)
        if raw.strip() in ("0", "0:") and allow_zero:
            return 0
        if match is None:
            problems.append(f"edit {index + 1}: {raw!r} is not a tag; expected `LINE:HASH` such as `12:k4q`.")
            return -1
        lineno, want = int(match.group(1)), match.group(2).lower()
        if lineno == 0 and allow_zero:
            return 0
        if lineno < 1 or lineno > len(lines):
            problems.append(
                f"edit {index + 1}: line {lineno} of {raw.strip()!r} does not exist; the file has "
                f"{len(lines)} lines. Its last lines now:\n" + _window(lines, len(lines))
            )
            return -1
        have = line_hash(strip_eol(lines[lineno - 1]))
        if have != want:
            problems.append(
                f"edit {index + 1}: line {lineno} changed since it was read (tag {lineno}:{want}, "
                f"now {lineno}:{have}). Current lines around it:\n" + _window(lines, lineno)
            )
            return -1
        return lineno

    spans: list[_Span] = []
    for index, op in enumerate(ops):
        if isinstance(op, InsertAfter):
            after = check(op.after, index, allow_zero=True)
            if after >= 0:
                spans.append(_Span(after + 1, after, text_to_lines(op.text), index))
            continue
        start = check(op.start, index)
        end = check(op.end, index) if op.end is not None else start
        if start < 0 or end < 0:
            continue
        if end < start:
            problems.append(f"edit {index + 1}: end line {end} comes before start line {start}.")
            continue
        new = text_to_lines(op.text) if isinstance(op, Replace) else []
        spans.append(_Span(start, end, new, index))
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
