"""The apply_patch tool: the Codex patch envelope that OpenAI's GPT-5 and codex models are trained on.

Held to the edit tool's guarantees: each file is locked (`locked_file`), read under the lock,
every hunk is checked against it, and the new version replaces it atomically, keeping its
encoding, BOM, line endings, mode and links (`_text`, `_atomic`). A patch naming several
files is all-or-nothing as far as a file system allows: every file is locked and every hunk
verified before the first write; only an I/O failure between two writes (disk full) can leave
some written, and the result then says which.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, ClassVar

import msgspec

from skipjack.agent.tool import Tool, ToolContext, ToolOutput
from skipjack.tools._atomic import create_new, needs_in_place, replace_file, write_in_place
from skipjack.tools._diff import Change, describe_change
from skipjack.tools._filelock import (
    ChangedMeanwhileError,
    LockedFile,
    NotRegularError,
    locked_file,
    refuse_rewrite,
)
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
from skipjack.tools._patch_apply import HunkError, apply_hunks
from skipjack.tools._patch_parse import FileOp, PatchSyntaxError, parse
from skipjack.tools._paths import display_path, resolve_path
from skipjack.tools._text import TextFormat, UndecodableError, decode, encode, line_digests, split_lines, strip_eol


def patch_paths(text: str) -> list[str]:
    """The files a patch names (moves' targets too), as written; [] for a malformed patch.
    For summaries and display only: the approval policy reads paths on its own, leniently."""
    try:
        ops = parse(text)
    except PatchSyntaxError:
        return []
    names = [name for op in ops for name in (op.path, op.move_to) if name is not None]
    return list(dict.fromkeys(names))


MAX_PATCH_FILES = 200


class ApplyPatchArgs(msgspec.Struct, forbid_unknown_fields=True):
    input: Annotated[
        str,
        msgspec.Meta(description="The whole patch, from `*** Begin Patch` to `*** End Patch`"),
    ]


class _Refused(Exception):
    """The patch cannot be applied; nothing was written."""


@dataclass
class _Plan:
    """One file's change, verified and ready to write."""

    op: FileOp
    path: Path
    shown: str
    held: LockedFile
    before: str = ""
    after: str = ""
    data: bytes = b""
    old_data: bytes = b""
    dest: Path | None = None
    dest_shown: str = ""
    dest_held: LockedFile | None = None


def _describe(plan: _Plan, shown: str, _flag: CancelFlag) -> Change:
    return describe_change(plan.before, plan.after, shown)


def _digests(plan: _Plan, _flag: CancelFlag) -> bytes:
    return line_digests(plan.after)


def _check_parent(path: Path, shown: str) -> None:
    """Refuse before any write a file whose directory cannot be made (a file is in the way)."""
    for parent in path.parents:
        if parent.exists():
            if not parent.is_dir():
                raise _Refused(f"cannot create {shown}: {parent} is not a directory. Nothing was written.")
            return


def _restore(path: Path, data: bytes) -> None:
    st = os.stat(path)
    if needs_in_place(st) is None:
        replace_file(path, data, st)
        return
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        write_in_place(fd, data)
    finally:
        os.close(fd)


def _undo(plan: _Plan) -> None:
    """Put back what writing `plan` changed (best effort: the locks are still held)."""
    if plan.op.kind == "add":
        os.unlink(plan.path)
    elif plan.op.kind == "delete":
        assert plan.held.st is not None
        create_new(plan.path, plan.old_data)
        os.chmod(plan.path, stat.S_IMODE(plan.held.st.st_mode))
    else:
        if plan.dest is not None:
            os.rename(plan.dest, plan.path)
        if plan.after != plan.before:
            _restore(plan.path, plan.old_data)


def _undo_all(plans: list[_Plan]) -> list[str]:
    failed: list[str] = []
    for plan in plans:
        try:
            _undo(plan)
        except OSError as exc:
            failed.append(f"{plan.shown} ({exc.strerror or exc})")
    return failed


def _write_plans(plans: list[_Plan]) -> list[_Plan]:
    """Write every plan, in order; on a failure undo those written and raise `_Refused`."""
    done: list[_Plan] = []
    for plan in plans:
        try:
            ApplyPatchTool._write(plan)
        except (ChangedMeanwhileError, OSError) as exc:
            why = f"{exc.strerror or exc}" if isinstance(exc, OSError) else str(exc)
            msg = f"{plan.shown}: not written, {why}."
            if done:
                # Undo in reverse order, so a move is undone before the edit under it.
                failed = _undo_all(list(reversed(done)))
                if failed:
                    msg += " The files written before it could not all be restored: " + "; ".join(failed) + "."
                else:
                    msg += " The files written before it were restored; nothing was changed."
            else:
                msg += " Nothing was written."
            raise _Refused(msg + " Read the files again and redo the patch.") from None
        done.append(plan)
    return done


def _join(lines: list[str], items: list[int | str], eol: str, final_eol: bool) -> str:
    """The new text from `apply_hunks`' items; `lines` are the old lines with their endings.
    The last line ends with a line break if the old file's did (or the file was empty)."""
    out: list[str] = []
    last = len(items) - 1
    for n, item in enumerate(items):
        if isinstance(item, int):
            line = lines[item]
            out.append(line if n == last or line != strip_eol(line) else line + eol)
        else:
            out.append(item + (eol if n != last or final_eol else ""))
    return "".join(out)


class ApplyPatchTool(Tool[ApplyPatchArgs]):
    name: ClassVar[str] = "apply_patch"
    description: ClassVar[str] = (
        "Change files with a patch in this format (paths relative to the working directory):\n"
        "*** Begin Patch\n"
        "*** Update File: src/app.py\n"
        "@@ def greet():\n"
        "     context line (unchanged, starts with a space)\n"
        "-    removed line\n"
        "+    added line\n"
        "*** Add File: src/new.py\n"
        "+every line of the new file, each starting with +\n"
        "*** Delete File: src/old.py\n"
        "*** Update File: src/a.py\n"
        "*** Move to: src/b.py\n"
        "@@\n"
        "-x = 1\n"
        "+x = 2\n"
        "*** End Patch\n"
        "Each hunk starts with `@@` (optionally followed by a line the hunk comes after, such as a "
        "def or class line); give about 3 lines of context around each change. Context and `-` "
        "lines must match the file as it is now; a hunk that does not match, or matches in more "
        "than one place, is refused and the whole patch is not applied. Files keep their "
        "encoding, line endings and mode. Returns a unified diff."
    )
    Args = ApplyPatchArgs

    def __init__(self, cwd: Path | None = None) -> None:
        self._cwd = cwd or Path.cwd()

    def concurrency_key(self, args: ApplyPatchArgs) -> str | None:
        # One key for every patch: two patches may share files, and each takes several locks.
        return "apply_patch"

    async def execute(self, args: ApplyPatchArgs, ctx: ToolContext) -> ToolOutput:
        try:
            ops = parse(args.input)
        except PatchSyntaxError as exc:
            return ToolOutput.error(f"Invalid patch: {exc}. Nothing was written.")
        targets: list[tuple[FileOp, Path, Path | None]] = []
        seen: dict[Path, str] = {}
        if len(ops) > MAX_PATCH_FILES:
            return ToolOutput.error(
                f"The patch names {len(ops)} files; at most {MAX_PATCH_FILES} per call (each is held "
                "open and locked until all are written). Split it. Nothing was written."
            )
        for op in ops:
            try:
                path = resolve_path(ctx.cwd, op.path)
                dest = resolve_path(ctx.cwd, op.move_to) if op.move_to is not None else None
            except ValueError as exc:  # a NUL byte in a name
                return ToolOutput.error(
                    f"Invalid patch: {op.path!r} is not a usable path ({exc}). Nothing was written."
                )
            for p, name in ((path, op.path), (dest, op.move_to)):
                if p is None or name is None:
                    continue
                if p in seen:
                    return ToolOutput.error(
                        f"Invalid patch: {name} is named twice (also as {seen[p]}); put all changes to one "
                        "file under one header. Nothing was written."
                    )
                seen[p] = name
            targets.append((op, path, dest))

        try:
            async with contextlib.AsyncExitStack() as stack:
                # Lock in path order, so two patches sharing files cannot deadlock.
                held: dict[Path, LockedFile] = {}
                for p in sorted(seen):
                    try:
                        held[p] = await stack.enter_async_context(locked_file(p))
                    except NotRegularError as exc:
                        raise _Refused(f"{display_path(p, ctx.cwd)}: {exc}; nothing was written.") from None
                    except NotADirectoryError:
                        raise _Refused(
                            f"{display_path(p, ctx.cwd)}: a parent of it is not a directory; nothing was written."
                        ) from None
                    except OSError as exc:
                        raise _Refused(
                            f"{display_path(p, ctx.cwd)}: {exc.strerror or exc}; nothing was written."
                        ) from None
                plans = [await self._plan(op, path, dest, held, ctx) for op, path, dest in targets]
                written = await self._write_all(plans, ctx)
        except _Refused as exc:
            return ToolOutput.error(f"{exc}")
        except NotRegularError as exc:
            return ToolOutput.error(f"{exc}; nothing was written.")
        except OSError as exc:
            return ToolOutput.error(f"cannot apply the patch: {exc.strerror or exc}; nothing was written.")

        parts: list[str] = []
        diffs: list[str] = []
        for plan in written:
            shown = plan.dest_shown or plan.shown
            change = await run_cancellable(functools.partial(_describe, plan, shown))
            if plan.op.kind == "add":
                parts.append(f"Created {plan.shown}.")
            elif plan.op.kind == "delete":
                parts.append(f"Deleted {plan.shown}.")
            elif plan.dest is not None:
                parts.append(f"Moved {plan.shown} to {plan.dest_shown}" + (" and edited it." if plan.op.hunks else "."))
            else:
                parts.append(f"Edited {plan.shown}.")
            if change.diff:
                diffs.append(change.diff)
        text = "\n".join(parts) + ("\n\n" + "\n".join(diffs) if diffs else "")
        return ToolOutput.text(
            text,
            details={"paths": [str(p.dest or p.path) for p in written], "diff": "\n".join(diffs)},
        )

    async def _plan(
        self, op: FileOp, path: Path, dest: Path | None, held: dict[Path, LockedFile], ctx: ToolContext
    ) -> _Plan:
        shown = display_path(path, ctx.cwd)
        plan = _Plan(op, path, shown, held[path])
        lock = plan.held
        if op.kind == "add":
            if lock.st is not None:
                raise _Refused(f"{shown} already exists; use `*** Update File:` to change it. Nothing was written.")
            _check_parent(path, shown)
            plan.after = "".join(line + "\n" for line in op.content)
            plan.data = encode(plan.after, TextFormat("utf-8", b"", "\n"))
            if len(plan.data) > MAX_EDIT_BYTES:
                raise _Refused(f"{shown}: " + too_large(len(plan.data), "the new file") + " Nothing was written.")
            return plan
        if lock.st is None:
            raise _Refused(f"{shown}: no such file; use `*** Add File:` to create it. Nothing was written.")
        if (refusal := refuse_rewrite(path, lock.st, shown)) is not None:
            raise _Refused(refusal + " Nothing in the patch was written.")
        if lock.st.st_size > MAX_EDIT_BYTES:
            raise _Refused(f"{shown}: " + too_large(lock.st.st_size, "the file") + " Nothing was written.")
        data = plan.old_data = await run_to_completion(lock.read)
        if len(data) > MAX_EDIT_BYTES:
            raise _Refused(f"{shown}: " + too_large(len(data), "the file") + " Nothing was written.")
        try:
            before, fmt = decode(data)
        except UndecodableError as exc:
            raise _Refused(f"{shown}: {exc}. Nothing was written.") from None
        plan.before = before
        if op.kind == "delete":
            return plan
        if dest is not None:
            plan.dest, plan.dest_shown, plan.dest_held = dest, display_path(dest, ctx.cwd), held[dest]
            if plan.dest_held.st is not None:
                raise _Refused(f"cannot move {shown} to {plan.dest_shown}: it already exists. Nothing was written.")
            _check_parent(dest, plan.dest_shown)
        lines = split_lines(before)
        texts = [strip_eol(line) for line in lines]
        final_eol = not before or before.endswith(("\n", "\r"))
        try:
            items = await run_cancellable(lambda _flag: apply_hunks(texts, op.hunks, shown))
        except HunkError as exc:
            raise _Refused(str(exc)) from None
        plan.after = _join(lines, items, fmt.eol, final_eol)
        if plan.after == before and dest is None:
            raise _Refused(f"{shown}: the patch changes nothing. Nothing was written.")
        plan.data = encode(plan.after, fmt)
        if len(plan.data) > MAX_EDIT_BYTES:
            raise _Refused(f"{shown}: " + too_large(len(plan.data), "the patched file") + " Nothing was written.")
        return plan

    async def _write_all(self, plans: list[_Plan], ctx: ToolContext) -> list[_Plan]:
        # One thread run for every write and any undo: cancelling (the user's abort, a signal)
        # waits for the whole of it, so a patch is never left half applied by an interruption.
        done = await run_to_completion(functools.partial(_write_plans, plans))
        records = reads(ctx.state)
        for plan in done:
            if plan.op.kind == "delete" or plan.dest is not None:
                records.pop(str(plan.path), None)
            if plan.op.kind != "delete":
                target = plan.dest or plan.path
                digests = await run_cancellable(functools.partial(_digests, plan))
                record_read(ctx.state, target, content_hash(plan.data), digests)
        return done

    @staticmethod
    def _write(plan: _Plan) -> None:
        held = plan.held
        if plan.op.kind == "delete":
            held.check_unchanged()
            os.unlink(plan.path)
            return
        if plan.dest is None:
            held.write(plan.data)
            return
        # A move: the new content goes in place of the old file (keeping its mode and links'
        # treatment), then the name moves without replacing anything that appeared meanwhile.
        assert plan.dest_held is not None
        plan.dest_held.check_unchanged()
        if plan.after != plan.before:
            held.write(plan.data)
        else:
            held.check_unchanged()
        plan.dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(plan.path, plan.dest, follow_symlinks=False)
        except FileExistsError:
            raise ChangedMeanwhileError(f"{plan.dest_shown} was created by another program meanwhile") from None
        except OSError:
            if os.path.lexists(plan.dest):
                raise ChangedMeanwhileError(f"{plan.dest_shown} was created by another program meanwhile") from None
            os.rename(plan.path, plan.dest)
            return
        os.unlink(plan.path)
