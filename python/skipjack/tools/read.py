"""The read tool: a file's lines tagged `LINE:HASH|text`, an image, or a directory listing."""

from __future__ import annotations

import asyncio
import base64
import difflib
import hashlib
import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, ClassVar

import msgspec

from skipjack.agent.tool import Tool, ToolContext, ToolOutput
from skipjack.tools._files import record_read
from skipjack.tools._paths import display_path, resolve_path
from skipjack.tools._sniff import SNIFF_BYTES, describe_binary, image_mime, is_binary
from skipjack.tools._text import line_hash, read_codec, strip_eol

DEFAULT_LIMIT = 2000
MAX_LINE_CHARS = 2000
MAX_OUTPUT_CHARS = 120_000
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_DIR_ENTRIES = 1000

_SURROGATE = re.compile("[\udc80-\udcff]")


class ReadArgs(msgspec.Struct, forbid_unknown_fields=True):
    path: Annotated[str, msgspec.Meta(description="File or directory; relative to the working directory")]
    offset: Annotated[int, msgspec.Meta(ge=1, description="First line to show (1-based)")] | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, description=f"Most lines to show (default {DEFAULT_LIMIT})")] | None = None


class ReadTool(Tool[ReadArgs]):
    name: ClassVar[str] = "read"
    description: ClassVar[str] = (
        "Read a text file, an image (PNG, JPEG, GIF, WebP) or a directory listing.\n"
        "Each line of a text file is shown as `LINE:HASH|text`: LINE is its 1-based number and "
        "HASH a 3-character hash of the line's text, e.g. `12:k4q|    return x`. "
        "The `LINE:HASH` part (`12:k4q`) is the line's tag: pass tags to the edit tool to say "
        "which lines to change; it refuses tags whose line changed since you read it. "
        f"Shows at most {DEFAULT_LIMIT} lines per call (use offset/limit for more); lines longer "
        f"than {MAX_LINE_CHARS} characters are cut. Binary files are refused."
    )
    Args = ReadArgs

    async def execute(self, args: ReadArgs, ctx: ToolContext) -> ToolOutput:
        path = resolve_path(ctx.cwd, args.path)
        shown = display_path(path, ctx.cwd)
        if not path.exists():
            return ToolOutput.error(f"{shown}: no such file or directory.{_suggest(path)}")
        if path.is_dir():
            return await asyncio.to_thread(_list_dir, path, shown)
        if not path.is_file():
            return ToolOutput.error(f"{shown} is not a regular file (a device, socket or pipe); not read.")
        try:
            result = await asyncio.to_thread(_read_file, path, args.offset or 1, args.limit or DEFAULT_LIMIT)
        except OSError as exc:
            return ToolOutput.error(f"{shown}: cannot read: {exc.strerror or exc}")
        if result.error is not None:
            return ToolOutput.error(f"{shown}: {result.error}")
        if result.sha256 is not None:
            record_read(ctx.state, path, result.sha256)
        if result.image is not None:
            data, mime = result.image
            note = f"Image {shown} ({mime}, {result.size} bytes)."
            return ToolOutput.image(base64.b64encode(data).decode("ascii"), mime, note)
        return ToolOutput.text(result.text, details=result.details | {"path": str(path)})


@dataclass
class _Result:
    text: str = ""
    error: str | None = None
    sha256: str | None = None
    image: tuple[bytes, str] | None = None
    size: int = 0
    details: dict[str, Any] = field(default_factory=dict)


class _HashingReader(io.RawIOBase):
    """Hashes the bytes the text layer reads, so the recorded hash is of exactly what was shown."""

    def __init__(self, raw: io.FileIO) -> None:
        self._raw = raw
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._raw.close()
        super().close()

    def readinto(self, buffer: Any) -> int | None:
        n = self._raw.readinto(buffer)
        if n:
            self.hash.update(memoryview(buffer)[:n])
        return n


def _read_file(path: Path, offset: int, limit: int) -> _Result:
    with path.open("rb") as f:
        head = f.read(SNIFF_BYTES)
        size = os.fstat(f.fileno()).st_size
    mime = image_mime(head)
    if mime is not None:
        if size > MAX_IMAGE_BYTES:
            return _Result(error=f"image ({mime}) is {size} bytes, over the {MAX_IMAGE_BYTES}-byte limit.")
        data = path.read_bytes()
        return _Result(image=(data, mime), size=len(data), sha256=hashlib.sha256(data).hexdigest())
    if is_binary(head):
        return _Result(error=f"binary file ({describe_binary(head, path)}, {size} bytes); not shown.")

    codec = read_codec(head)
    # surrogateescape keeps undecodable UTF-8 bytes visible as such (and detectable); the
    # UTF-16/32 codecs do not support it.
    errors = "surrogateescape" if codec.startswith("utf-8") else "replace"
    out: list[str] = []
    budget = MAX_OUTPUT_CHARS
    total = 0
    last_shown = offset - 1
    cut_lines = 0
    undecodable = False
    hashing = _HashingReader(io.FileIO(path, "r"))
    with io.TextIOWrapper(io.BufferedReader(hashing), encoding=codec, errors=errors, newline="") as text:
        for total, line in enumerate(text, 1):
            if total < offset or total >= offset + limit or budget <= 0:
                continue
            body = strip_eol(line)
            shown = body
            if _SURROGATE.search(body):
                undecodable = True
                shown = _SURROGATE.sub("\ufffd", body)
            if len(shown) > MAX_LINE_CHARS:
                shown = f"{shown[:MAX_LINE_CHARS]}… [line cut: {len(shown)} characters]"
                cut_lines += 1
            entry = f"{total}:{line_hash(body)}|{shown}"
            out.append(entry)
            budget -= len(entry) + 1
            last_shown = total
    sha = hashing.hash.hexdigest()

    if total == 0:
        return _Result(text="(empty file)", sha256=sha, details={"total_lines": 0})
    if offset > total:
        return _Result(error=f"offset {offset} is past the end of the file ({total} lines).", sha256=sha)
    notes = []
    if cut_lines:
        notes.append(f"{cut_lines} line(s) longer than {MAX_LINE_CHARS} characters were cut.")
    if undecodable:
        notes.append("The file is not valid UTF-8: undecodable bytes are shown as U+FFFD; it cannot be edited.")
    if last_shown < total:
        notes.append(
            f"{total - last_shown} more lines (file has {total}); call read with offset={last_shown + 1} to continue."
        )
    body_text = "\n".join(out)
    if notes:
        body_text += "\n\n" + "\n".join(f"[{n}]" for n in notes)
    return _Result(
        text=body_text,
        sha256=sha,
        details={"first_line": offset, "last_line": last_shown, "total_lines": total},
    )


def _list_dir(path: Path, shown: str) -> ToolOutput:
    try:
        with os.scandir(path) as it:
            entries = sorted((e.name + "/" if e.is_dir() else e.name) for e in it)
    except OSError as exc:
        return ToolOutput.error(f"{shown}: cannot list: {exc.strerror or exc}")
    if not entries:
        return ToolOutput.text(f"{shown}/ is empty.", details={"path": str(path), "entries": 0})
    lines = entries[:MAX_DIR_ENTRIES]
    text = f"{shown}/ ({len(entries)} entries; directories end with /)\n" + "\n".join(lines)
    if len(entries) > MAX_DIR_ENTRIES:
        text += f"\n\n[{len(entries) - MAX_DIR_ENTRIES} more entries not shown; use find to narrow down.]"
    return ToolOutput.text(text, details={"path": str(path), "entries": len(entries)})


def _suggest(path: Path) -> str:
    try:
        names = os.listdir(path.parent)
    except OSError:
        return ""
    close = difflib.get_close_matches(path.name, names, n=3)
    return f" Did you mean: {', '.join(close)}?" if close else ""
