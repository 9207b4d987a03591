"""The Codex `apply_patch` envelope, parsed strictly.

    *** Begin Patch
    *** Update File: src/a.py
    *** Move to: src/b.py          (optional)
    @@ def anchor():                (optional text naming where the hunk is)
     context
    -removed
    +added
    *** End of File                 (optional: the hunk ends at the end of the file)
    *** Add File: new.txt
    +every line starts with +
    *** Delete File: old.txt
    *** End Patch

Written by hand: no maintained Python library parses this format (it is OpenAI's, defined by
Codex's Rust parser and the grammar GPT-5 models are trained on).

Headers must start at column 0 with exactly `*** `: the approval policy finds the paths a
patch names with the same anchoring (`safety/policy.py` `_write_paths`), so a header the
policy cannot see is a header this parser refuses. Lines are split at `\\n` only (a trailing
`\\r` is dropped) for the same reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

BEGIN = "*** Begin Patch"
END = "*** End Patch"
END_OF_FILE = "*** End of File"

_FILE_HEADER = re.compile(r"^\*\*\* (Add|Update|Delete) File:(.*)$")
_MOVE = re.compile(r"^\*\*\* Move to:(.*)$")
# A fence line around the patch in free text: ```diff, ```patch, ~~~ ...
_FENCE = re.compile(r"^\s*(```|~~~)")


class PatchSyntaxError(ValueError):
    """The patch text is not a well-formed envelope; the message names the line."""


@dataclass
class Hunk:
    number: int
    """1-based position among the file's hunks, for error messages."""
    anchor: str | None
    """The text after `@@ `, a line the hunk comes after (narrows where it applies)."""
    body: list[tuple[str, str]] = field(default_factory=list)
    """(" " | "-" | "+", text) in patch order."""
    at_end: bool = False
    line: int = 0
    """Line of the patch the hunk starts on."""

    @property
    def old(self) -> list[str]:
        """The lines the hunk expects in the file: context and removed."""
        return [text for kind, text in self.body if kind != "+"]

    @property
    def new(self) -> list[str]:
        return [text for kind, text in self.body if kind != "-"]

    def label(self, path: str) -> str:
        where = f" (@@ {self.anchor})" if self.anchor else ""
        return f"hunk {self.number}{where} of {path}, patch line {self.line}"


@dataclass
class FileOp:
    kind: str
    """"add", "update" or "delete"."""
    path: str
    move_to: str | None = None
    hunks: list[Hunk] = field(default_factory=list)
    content: list[str] = field(default_factory=list)
    """Lines of an added file."""


def extract(text: str) -> str:
    """The envelope out of what a model wrote: alone, or amid prose, in a ``` fence, or in a
    shell here-document (`apply_patch <<'EOF'`). Exactly one envelope is accepted."""
    lines = text.split("\n")
    begins = [i for i, line in enumerate(lines) if line.rstrip("\r").rstrip() == BEGIN]
    ends = [i for i, line in enumerate(lines) if line.rstrip("\r").rstrip() == END]
    if not begins:
        raise PatchSyntaxError(f"no `{BEGIN}` line: the patch must start with it, alone on its line at column 0")
    if not ends:
        raise PatchSyntaxError(f"no `{END}` line: the patch must end with it, alone on its line at column 0")
    if len(begins) > 1 or len(ends) > 1:
        raise PatchSyntaxError(f"more than one `{BEGIN}`/`{END}` pair: send one patch per call")
    if ends[0] < begins[0]:
        raise PatchSyntaxError(f"`{END}` comes before `{BEGIN}`")
    return "\n".join(lines[begins[0] : ends[0] + 1])


def parse(text: str) -> list[FileOp]:
    """The file operations of a patch (`extract`ed first), in order; `PatchSyntaxError` else."""
    lines = [line[:-1] if line.endswith("\r") else line for line in extract(text).split("\n")]
    ops: list[FileOp] = []
    i = 1  # past BEGIN
    last = len(lines) - 1  # END
    while i < last:
        line = lines[i]
        header = _FILE_HEADER.match(line)
        if header is None:
            if not line.strip():
                i += 1
                continue
            raise PatchSyntaxError(
                f"patch line {i + 1}: expected `*** Update File: PATH`, `*** Add File: PATH` or "
                f"`*** Delete File: PATH`, found {line!r}"
            )
        kind, path = header.group(1).lower(), header.group(2).strip()
        if not path:
            raise PatchSyntaxError(f"patch line {i + 1}: the {kind} header names no file")
        op = FileOp(kind, path)
        i += 1
        if kind == "delete":
            ops.append(op)
            continue
        if kind == "add":
            while i < last and not lines[i].startswith("*** "):
                if not lines[i].strip() and all(not x.strip() for x in _until_header(lines, i, last)):
                    i += 1  # blank lines between sections
                    continue
                if not lines[i].startswith("+"):
                    raise PatchSyntaxError(
                        f"patch line {i + 1}: every line of an added file ({path}) must start with `+`, "
                        f"found {lines[i]!r}"
                    )
                op.content.append(lines[i][1:])
                i += 1
            ops.append(op)
            continue
        move = _MOVE.match(lines[i]) if i < last else None
        if move is not None:
            op.move_to = move.group(1).strip()
            if not op.move_to:
                raise PatchSyntaxError(f"patch line {i + 1}: `*** Move to:` names no file")
            i += 1
        i = _parse_hunks(lines, i, last, op)
        if not op.hunks and op.move_to is None:
            raise PatchSyntaxError(f"patch line {i + 1}: `*** Update File: {path}` has no hunks")
        ops.append(op)
    if not ops:
        raise PatchSyntaxError("the patch changes no file")
    return ops


def _parse_hunks(lines: list[str], i: int, last: int, op: FileOp) -> int:
    hunk: Hunk | None = None
    blank_tail = 0  # empty lines ending the current hunk: spacing between sections, not context
    while i < last:
        line = lines[i]
        if hunk is not None and blank_tail and (line.startswith(("*** ", "@@"))):
            _drop_tail(hunk, blank_tail)
        blank_tail = blank_tail + 1 if line == "" else 0
        if line == END_OF_FILE:
            if hunk is None or not hunk.body:
                raise PatchSyntaxError(f"patch line {i + 1}: `{END_OF_FILE}` outside a hunk")
            hunk.at_end = True
            i += 1
            continue
        if line.startswith("*** "):
            if _FILE_HEADER.match(line) is None:
                raise PatchSyntaxError(f"patch line {i + 1}: unknown marker {line!r}")
            break
        if line.startswith("@@"):
            anchor = line[2:].strip() or None
            hunk = Hunk(len(op.hunks) + 1, anchor, line=i + 1)
            op.hunks.append(hunk)
            i += 1
            continue
        if hunk is None and line == "":
            blank_tail = 0
            i += 1
            continue
        if hunk is None:
            # Codex lets the first hunk of a file omit its `@@` line.
            hunk = Hunk(1, None, line=i + 1)
            op.hunks.append(hunk)
        elif hunk.at_end:
            raise PatchSyntaxError(f"patch line {i + 1}: lines after `{END_OF_FILE}` need a new `@@` hunk")
        if line == "":
            # An empty line is an empty context line (models and editors drop the lone space).
            hunk.body.append((" ", ""))
        elif line[0] in " -+":
            hunk.body.append((line[0], line[1:]))
        else:
            raise PatchSyntaxError(
                f"patch line {i + 1}: in {hunk.label(op.path)}, a line must start with ' ', '-' or '+', found {line!r}"
            )
        i += 1
    if hunk is not None and blank_tail:
        _drop_tail(hunk, blank_tail)
    for hunk in op.hunks:
        if not hunk.body:
            raise PatchSyntaxError(f"{hunk.label(op.path)} is empty")
        if hunk.old == hunk.new:
            raise PatchSyntaxError(f"{hunk.label(op.path)} changes nothing (no `-` or `+` lines)")
    return i


def _until_header(lines: list[str], i: int, last: int) -> list[str]:
    j = i
    while j < last and not lines[j].startswith("*** "):
        j += 1
    return lines[i:j]


def _drop_tail(hunk: Hunk, count: int) -> None:
    del hunk.body[len(hunk.body) - count :]
