"""What a file tool call would change, as a unified diff, before it runs (for approvals).

A dry run of the call against the file as it is now, through the same code the tool runs
(tag operations, exact-text replacement, patch hunks), with nothing written and no lock
taken. The tool itself still verifies everything again when it runs: the preview is what
the user is asked about, not a promise (the file may change before the answer).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from skipjack.tools._diff import describe_change
from skipjack.tools._exact import ExactEditError
from skipjack.tools._files import MAX_EDIT_BYTES, CancelFlag, reads
from skipjack.tools._patch_apply import HunkError, apply_hunks
from skipjack.tools._patch_parse import PatchSyntaxError, parse
from skipjack.tools._paths import display_path, resolve_path
from skipjack.tools._tag_ops import TagEditError
from skipjack.tools._text import UndecodableError, decode, split_lines, strip_eol
from skipjack.tools.apply_patch import ApplyPatchArgs, _join
from skipjack.tools.edit import EditArgs, EditTool
from skipjack.tools.write import WriteArgs

PREVIEWED = frozenset({"edit", "write", "apply_patch"})


class PreviewError(Exception):
    """The call would be refused; the message says why (shown instead of a diff)."""


def preview_diff(tool: str, arguments: Any, cwd: Path, state: dict[str, Any] | None = None) -> str | None:
    """The diff `tool` would make with `arguments` (a dict or the tool's Args), or None for a
    tool that changes no file. Raises `PreviewError` when the call would be refused."""
    if tool not in PREVIEWED:
        return None
    try:
        if tool == "edit":
            return _edit(msgspec.convert(_raw(arguments), EditArgs, strict=False), cwd, state or {})
        if tool == "write":
            return _write(msgspec.convert(_raw(arguments), WriteArgs, strict=False), cwd)
        return _patch(msgspec.convert(_raw(arguments), ApplyPatchArgs, strict=False), cwd)
    except msgspec.ValidationError as e:
        raise PreviewError(f"invalid arguments: {e}") from None
    except (TagEditError, ExactEditError, HunkError, PatchSyntaxError, UndecodableError) as e:
        raise PreviewError(str(e)) from None
    except (OSError, ValueError) as e:
        raise PreviewError(f"cannot read the file: {getattr(e, 'strerror', None) or e}") from None


def _raw(arguments: Any) -> Any:
    return msgspec.to_builtins(arguments) if isinstance(arguments, msgspec.Struct) else arguments


def _read(path: Path, shown: str) -> bytes | None:
    if not path.exists():
        return None
    if not path.is_file():
        raise PreviewError(f"{shown} is not a regular file")
    if path.stat().st_size > MAX_EDIT_BYTES:
        raise PreviewError(f"{shown} is too large to preview")
    return path.read_bytes()


def _edit(args: EditArgs, cwd: Path, state: dict[str, Any]) -> str:
    path = resolve_path(cwd, args.path)
    shown = display_path(path, cwd)
    data = _read(path, shown)
    if data is None:
        raise PreviewError(f"{shown}: no such file")
    if (args.edits is None) == (args.old_text is None or args.new_text is None):
        raise PreviewError("give either `edits` or both `old_text` and `new_text`")
    record = reads(state).get(str(path))
    before, after, _ = EditTool._apply(args, data, record.lines if record else None, shown, CancelFlag())
    return describe_change(before, after, shown).diff


def _write(args: WriteArgs, cwd: Path) -> str:
    path = resolve_path(cwd, args.path)
    shown = display_path(path, cwd)
    data = _read(path, shown)
    before = "" if data is None else decode(data)[0]
    return describe_change(before, args.content, shown).diff


def _patch(args: ApplyPatchArgs, cwd: Path) -> str:
    diffs: list[str] = []
    for op in parse(args.input):
        path = resolve_path(cwd, op.path)
        shown = display_path(path, cwd)
        data = _read(path, shown)
        if op.kind == "add":
            if data is not None:
                raise PreviewError(f"{shown} already exists")
            before, after = "", "".join(line + "\n" for line in op.content)
        elif data is None:
            raise PreviewError(f"{shown}: no such file")
        else:
            before, fmt = decode(data)
            if op.kind == "delete":
                after = ""
            else:
                lines = split_lines(before)
                items = apply_hunks([strip_eol(line) for line in lines], op.hunks, shown)
                after = _join(lines, items, fmt.eol, not before or before.endswith(("\n", "\r")))
        target = display_path(resolve_path(cwd, op.move_to), cwd) if op.move_to else shown
        diffs.append(describe_change(before, after, target).diff)
    return "\n".join(d for d in diffs if d)
