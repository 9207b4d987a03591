"""The edit tool: change a file by line tags or by exact text, atomically and under a lock."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Annotated, ClassVar

import msgspec

from skipjack.agent.tool import Tool, ToolContext, ToolOutput
from skipjack.tools._exact import ExactEditError, replace_once
from skipjack.tools._files import atomic_write, content_hash, file_lock, record_read, run_to_completion
from skipjack.tools._paths import display_path, resolve_path
from skipjack.tools._tag_ops import EditOp, TagEditError, apply_ops
from skipjack.tools._text import TextFormat, UndecodableError, decode, encode, split_lines, tagged_lines

MAX_DIFF_LINES = 400
MAX_TAGGED_LINES = 80


class EditArgs(msgspec.Struct, forbid_unknown_fields=True):
    path: Annotated[str, msgspec.Meta(description="The file to change; relative to the working directory")]
    edits: (
        Annotated[
            list[EditOp],
            msgspec.Meta(description="Tag mode: operations applied together to the file as read"),
        ]
        | None
    ) = None
    old_text: Annotated[str, msgspec.Meta(description="Exact-text mode: text occurring once")] | None = None
    new_text: Annotated[str, msgspec.Meta(description="Exact-text mode: its replacement")] | None = None


class EditTool(Tool[EditArgs]):
    name: ClassVar[str] = "edit"
    description: ClassVar[str] = (
        "Change an existing text file, in one of two modes.\n"
        "Tag mode (`edits`): a list of operations naming lines by the `LINE:HASH` tags the read "
        "tool shows (e.g. `12:k4q`): {op: replace, start, end?, text}, {op: insert_after, "
        "after, text} (after `0` = at the top), {op: delete, start, end?}. Ranges are inclusive. "
        "All tags refer to the file as you read it; operations must not overlap and apply "
        "together or not at all. A tag whose line has changed is refused, with the current lines "
        "shown so you can retry.\n"
        "Exact-text mode (`old_text`, `new_text`): replaces old_text, which must occur exactly "
        "once in the file.\n"
        "The file keeps its encoding, BOM and line endings. Returns a diff and the new tags of the "
        "changed lines."
    )
    Args = EditArgs

    def __init__(self, cwd: Path | None = None) -> None:
        self._cwd = cwd or Path.cwd()

    def concurrency_key(self, args: EditArgs) -> str | None:
        return str(resolve_path(self._cwd, args.path))

    async def execute(self, args: EditArgs, ctx: ToolContext) -> ToolOutput:
        path = resolve_path(ctx.cwd, args.path)
        shown = display_path(path, ctx.cwd)
        tag_mode = args.edits is not None
        text_mode = args.old_text is not None or args.new_text is not None
        if tag_mode == text_mode:
            return ToolOutput.error("Give either `edits` (tag mode) or `old_text` and `new_text`, not both.")
        if text_mode and (args.old_text is None or args.new_text is None):
            return ToolOutput.error("Exact-text mode needs both `old_text` and `new_text`.")
        if args.edits is not None and not args.edits:
            return ToolOutput.error("`edits` is empty; nothing to do.")

        if path.exists() and not path.is_file() and not path.is_dir():
            return ToolOutput.error(f"{shown} is not a regular file; it cannot be edited.")
        async with file_lock(path):
            # Re-read under the lock: tags and text are checked against the file as it is now.
            try:
                data = await run_to_completion(path.read_bytes)
            except FileNotFoundError:
                return ToolOutput.error(f"{shown}: no such file. Use the write tool to create a file.")
            except IsADirectoryError:
                return ToolOutput.error(f"{shown} is a directory.")
            except OSError as exc:
                return ToolOutput.error(f"{shown}: cannot read: {exc.strerror or exc}")
            try:
                before, fmt = decode(data)
            except UndecodableError as exc:
                return ToolOutput.error(f"{shown}: {exc}")
            try:
                after = self._apply(args, before, fmt, shown)
            except (TagEditError, ExactEditError) as exc:
                return ToolOutput.error(str(exc))
            if after == before:
                return ToolOutput.error(f"{shown}: the edit changes nothing.")
            new_data = encode(after, fmt)
            try:
                await run_to_completion(lambda: atomic_write(path, new_data))
            except OSError as exc:
                return ToolOutput.error(f"{shown}: cannot write: {exc.strerror or exc}")
            record_read(ctx.state, path, content_hash(new_data))

        diff = _diff(before, after, shown)
        text = f"Edited {shown}.\n\n{diff}"
        tags = _changed_tags(before, after)
        if tags:
            text += "\n\nCurrent tags of the changed lines:\n" + tags
        return ToolOutput.text(text, details={"path": str(path), "diff": diff})

    @staticmethod
    def _apply(args: EditArgs, before: str, fmt: TextFormat, shown: str) -> str:
        if args.edits is not None:
            return apply_ops(before, args.edits, fmt.eol)
        # Both are set here (checked by the caller); `or ""` only narrows the types.
        return replace_once(before, args.old_text or "", args.new_text or "", fmt.eol, shown)


def _display_lines(text: str) -> list[str]:
    return [line.rstrip("\r\n") for line in split_lines(text)]


def _diff(before: str, after: str, shown: str) -> str:
    lines = list(
        difflib.unified_diff(_display_lines(before), _display_lines(after), f"a/{shown}", f"b/{shown}", lineterm="")
    )
    if len(lines) > MAX_DIFF_LINES:
        lines = [*lines[:MAX_DIFF_LINES], f"[diff cut: {len(lines) - MAX_DIFF_LINES} more lines]"]
    return "\n".join(lines)


def _changed_tags(before: str, after: str) -> str:
    """Tagged lines of each changed region in the new file, with a line of context around."""
    old, new = _display_lines(before), split_lines(after)
    matcher = difflib.SequenceMatcher(a=old, b=_display_lines(after), autojunk=False)
    ranges: list[tuple[int, int]] = []
    for op, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        first, last = max(j1, 1), min(j2 + 1, len(new))  # 1-based, one line of context each side
        if ranges and first <= ranges[-1][1] + 1:
            ranges[-1] = (ranges[-1][0], max(ranges[-1][1], last))
        else:
            ranges.append((first, last))
    out: list[str] = []
    for first, last in ranges:
        if out:
            out.append("...")
        out.extend(tagged_lines(new, first, last))
        if len(out) > MAX_TAGGED_LINES:
            return "\n".join([*out[:MAX_TAGGED_LINES], "[more changed lines not shown; read the file]"])
    return "\n".join(out)
