"""The write tool: create a file, or replace one this agent has read in its current version."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, ClassVar

import msgspec

from skipjack.agent.tool import Tool, ToolContext, ToolOutput
from skipjack.tools._filelock import ChangedMeanwhileError, NotRegularError, refuse_rewrite
from skipjack.tools._files import (
    MAX_EDIT_BYTES,
    content_hash,
    reads,
    record_read,
    run_cancellable,
    run_to_completion,
    too_large,
)
from skipjack.tools._paths import display_path, resolve_path
from skipjack.tools._text import TextFormat, UndecodableError, decode, encode, line_digests, split_lines, to_eol
from skipjack.tools.editor_files import file_for_change


class WriteArgs(msgspec.Struct, forbid_unknown_fields=True):
    path: Annotated[str, msgspec.Meta(description="The file to write; relative to the working directory")]
    content: Annotated[str, msgspec.Meta(description="The whole new content of the file")]


class WriteTool(Tool[WriteArgs]):
    name: ClassVar[str] = "write"
    description: ClassVar[str] = (
        "Create a file with the given content (missing parent directories are created). "
        "Overwriting an existing file is allowed only after you have read its current version "
        "with the read tool; prefer the edit tool for changes to existing files. An overwritten "
        "file keeps its encoding, BOM, line-ending style, mode and hard links. Read-only files, "
        "files that are not regular files (pipes, devices, sockets) and content over 64 MiB are "
        "refused."
    )
    Args = WriteArgs

    def __init__(self, cwd: Path | None = None) -> None:
        self._cwd = cwd or Path.cwd()

    def concurrency_key(self, args: WriteArgs) -> str | None:
        return str(resolve_path(self._cwd, args.path))

    async def execute(self, args: WriteArgs, ctx: ToolContext) -> ToolOutput:
        path = resolve_path(ctx.cwd, args.path)
        shown = display_path(path, ctx.cwd)
        content = args.content
        try:
            async with file_for_change(path, ctx.state) as held:
                existed = held.st is not None
                fmt = TextFormat("utf-8", b"", "\n")
                if held.st is not None:
                    if (refusal := refuse_rewrite(path, held.st, shown)) is not None:
                        return ToolOutput.error(refusal)
                    if held.st.st_size > MAX_EDIT_BYTES:
                        return ToolOutput.error(f"{shown}: " + too_large(held.st.st_size, "the existing file"))
                    old = await run_to_completion(held.read)
                    if len(old) > MAX_EDIT_BYTES:
                        return ToolOutput.error(f"{shown}: " + too_large(len(old), "the existing file"))
                    record = reads(ctx.state).get(str(path))
                    if record is None or record.sha256 != content_hash(old):
                        why = "has not been read" if record is None else "has changed since you read it"
                        return ToolOutput.error(
                            f"{shown} exists and {why}. Read it first with the read tool (or change it "
                            "with the edit tool), then write again."
                        )
                    # An undecodable old file is replaced wholesale: none of its bytes need keeping.
                    with contextlib.suppress(UndecodableError):
                        fmt = decode(old)[1]
                    if fmt.eol != "\n" and "\r" not in content:
                        content = to_eol(content, fmt.eol)
                data = encode(content, fmt)
                if len(data) > MAX_EDIT_BYTES:
                    return ToolOutput.error(f"{shown}: " + too_large(len(data), "the new content"))
                await run_to_completion(lambda: held.write(data))
                digests = await run_cancellable(lambda _flag: line_digests(content))
                record_read(ctx.state, path, content_hash(data), digests)
        except NotRegularError as exc:
            return ToolOutput.error(f"{shown}: {exc}; not written.")
        except ChangedMeanwhileError as exc:
            return ToolOutput.error(f"{shown}: not written, {exc}. Read it again, then write.")
        except OSError as exc:
            return ToolOutput.error(f"{shown}: cannot write: {exc.strerror or exc}")
        verb = "Overwrote" if existed else "Created"
        lines = len(split_lines(content))
        return ToolOutput.text(
            f"{verb} {shown} ({lines} line{'' if lines == 1 else 's'}, {len(data)} bytes).",
            details={"path": str(path), "created": not existed, "bytes": len(data), "lines": lines},
        )
