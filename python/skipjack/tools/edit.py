"""The edit tool: change a file by line tags or by exact text, atomically and under a lock."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, ClassVar

import msgspec

from skipjack.agent.tool import Tool, ToolContext, ToolOutput
from skipjack.tools._filelock import ChangedMeanwhileError, NotRegularError, refuse_rewrite
from skipjack.tools._files import (
    MAX_EDIT_BYTES,
    CancelFlag,
    content_hash,
    reads,
    record_read,
    run_cancellable,
    run_to_completion,
    too_large,
)
from skipjack.tools._paths import display_path, resolve_path
from skipjack.tools._tag_ops import EditOp, TagEditError, apply_ops
from skipjack.tools._text import TextFormat, UndecodableError, decode, encode, line_digests
from skipjack.tools.editor_files import file_for_change


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
        "together or not at all. Every line a range covers must be unchanged since you read it "
        "(lines others moved meanwhile are followed); otherwise the edit is refused, with the "
        "current lines shown so you can retry.\n"
        "Exact-text mode (`old_text`, `new_text`): replaces old_text, which must occur exactly "
        "once in the file.\n"
        "The file keeps its encoding, BOM, line endings, mode and hard links. Read-only files, "
        "files that are not regular files and files over 64 MiB are refused. Returns a diff and "
        "the new tags of the changed lines."
    )
    Args = EditArgs

    def __init__(self, cwd: Path | None = None) -> None:
        self._cwd = cwd or Path.cwd()

    def concurrency_key(self, args: EditArgs) -> str | None:
        return str(resolve_path(self._cwd, args.path))

    async def execute(self, args: EditArgs, ctx: ToolContext) -> ToolOutput:
        # The diff and exact-text helpers load at the first edit, not at every start.
        from skipjack.tools._diff import describe_change
        from skipjack.tools._exact import ExactEditError

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

        try:
            async with file_for_change(path, ctx.state) as held:
                if held.st is None:
                    return ToolOutput.error(f"{shown}: no such file. Use the write tool to create a file.")
                if (refusal := refuse_rewrite(path, held.st, shown)) is not None:
                    return ToolOutput.error(refusal)
                if held.st.st_size > MAX_EDIT_BYTES:
                    return ToolOutput.error(f"{shown}: " + too_large(held.st.st_size, "the file"))
                # Read under the lock: tags and text are checked against the file as it is now.
                data = await run_to_completion(held.read)
                if len(data) > MAX_EDIT_BYTES:
                    return ToolOutput.error(f"{shown}: " + too_large(len(data), "the file"))
                record = reads(ctx.state).get(str(path))
                known = record.lines if record is not None else None
                try:
                    before, after, fmt = await run_cancellable(lambda flag: self._apply(args, data, known, shown, flag))
                except UndecodableError as exc:
                    return ToolOutput.error(f"{shown}: {exc}")
                except (TagEditError, ExactEditError) as exc:
                    return ToolOutput.error(str(exc))
                if after == before:
                    return ToolOutput.error(f"{shown}: the edit changes nothing.")
                new_data = encode(after, fmt)
                if len(new_data) > MAX_EDIT_BYTES:
                    return ToolOutput.error(f"{shown}: " + too_large(len(new_data), "the edited file"))
                await run_to_completion(lambda: held.write(new_data))
                digests = await run_cancellable(lambda _flag: line_digests(after))
                record_read(ctx.state, path, content_hash(new_data), digests)
        except NotRegularError as exc:
            return ToolOutput.error(f"{shown}: {exc}; it cannot be edited.")
        except ChangedMeanwhileError as exc:
            return ToolOutput.error(f"{shown}: not written, {exc}. Read it again and redo the edit.")
        except OSError as exc:
            return ToolOutput.error(f"{shown}: cannot edit: {exc.strerror or exc}")

        change = await run_cancellable(lambda _flag: describe_change(before, after, shown))
        text = f"Edited {shown}.\n\n{change.diff}"
        if change.tags:
            text += "\n\nCurrent tags of the changed lines:\n" + change.tags
        if change.moved:
            text += "\n\n" + change.moved
        return ToolOutput.text(text, details={"path": str(path), "diff": change.diff})

    @staticmethod
    def _apply(
        args: EditArgs, data: bytes, known: bytes | None, shown: str, flag: CancelFlag
    ) -> tuple[str, str, TextFormat]:
        from skipjack.tools._exact import replace_once

        before, fmt = decode(data)
        flag.check()
        if args.edits is not None:
            return before, apply_ops(before, args.edits, fmt.eol, known), fmt
        # Both are set here (checked by the caller); `or ""` only narrows the types.
        return before, replace_once(before, args.old_text or "", args.new_text or "", fmt.eol, shown, flag), fmt
