"""The read tool: a file's lines tagged `LINE:HASH|text`, an image, or a directory listing."""

from __future__ import annotations

import base64
import codecs
import hashlib
import io
import os
import re
import stat
from pathlib import Path
from typing import Annotated, Any, ClassVar

import msgspec

from skipjack.agent.tool import Tool, ToolContext, ToolOutput
from skipjack.tools._filelock import NotRegularError, open_regular
from skipjack.tools._files import MAX_EDIT_BYTES, CancelFlag, record_read, run_cancellable
from skipjack.tools._paths import display_path, resolve_path
from skipjack.tools._sniff import SNIFF_BYTES, describe_binary, image_mime, is_binary
from skipjack.tools._text import DIGEST_SIZE, read_codec, short_hash
from skipjack.tools.editor_files import editor_files

DEFAULT_LIMIT = 2000
MAX_LINE_CHARS = 2000
MAX_OUTPUT_CHARS = 120_000
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_DIR_ENTRIES = 1000

_SURROGATE = re.compile("[\udc80-\udcff]")
_EOL = re.compile("\r\n|\r|\n")
_CHUNK = 1 << 20


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
            return await run_cancellable(lambda flag: _list_dir(path, shown))
        buffer: bytes | None = None
        files = editor_files(ctx.state)
        if files is not None and path.is_file() and _is_text(path):
            # The editor's buffer, unsaved changes included: what the user sees.
            try:
                buffer = (await files.read_text(path)).encode("utf-8", "surrogatepass")
            except OSError as exc:
                return ToolOutput.error(f"{shown}: the editor could not give its text: {exc}")
        small = len(buffer) <= INLINE_READ_BYTES if buffer is not None else _small_regular_file(path)
        try:
            result = await run_cancellable(
                lambda flag: _read_file(path, args.offset or 1, args.limit or DEFAULT_LIMIT, flag, buffer),
                # One chunk, then the check before the read that finds the end.
                inline_checks=2 if small else 0,
            )
        except NotRegularError as exc:
            return ToolOutput.error(f"{shown}: {exc}; not read.")
        except OSError as exc:
            return ToolOutput.error(f"{shown}: cannot read: {exc.strerror or exc}")
        if result.error is not None:
            return ToolOutput.error(f"{shown}: {result.error}")
        if result.sha256 is not None:
            record_read(ctx.state, path, result.sha256, result.lines)
        if result.image is not None:
            data, mime = result.image
            note = f"Image {shown} ({mime}, {result.size} bytes)."
            return ToolOutput.image(base64.b64encode(data).decode("ascii"), mime, note)
        return ToolOutput.text(result.text, details=result.details | {"path": str(path)})


INLINE_READ_BYTES = 64 * 1024
"""A regular file up to this size is read on the event loop's thread rather than a worker's
(well under a millisecond; the file's own stat already ran here)."""


def _small_regular_file(path: Path) -> bool:
    try:
        st = path.stat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size <= min(INLINE_READ_BYTES, _CHUNK)


class _Result(msgspec.Struct):
    """What reading a file gave."""

    text: str = ""
    error: str | None = None
    sha256: str | None = None
    lines: bytes | None = None
    image: tuple[bytes, str] | None = None
    size: int = 0
    details: dict[str, Any] = msgspec.field(default_factory=dict)


def _is_text(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            head = f.read(SNIFF_BYTES)
    except OSError:
        return False
    return image_mime(head) is None and not is_binary(head)


def _read_file(path: Path, offset: int, limit: int, flag: CancelFlag, buffer: bytes | None = None) -> _Result:
    if buffer is not None:
        lines = _Lines(offset, limit, keep_digests=len(buffer) <= MAX_EDIT_BYTES)
        return lines.scan(io.BytesIO(buffer), read_codec(buffer[:SNIFF_BYTES]), flag)
    fd = open_regular(path)
    with os.fdopen(fd, "rb", buffering=0) as f:
        head = os.pread(fd, SNIFF_BYTES, 0)
        size = os.fstat(fd).st_size
        mime = image_mime(head)
        if mime is not None:
            if size > MAX_IMAGE_BYTES:
                return _Result(error=f"image ({mime}) is {size} bytes, over the {MAX_IMAGE_BYTES}-byte limit.")
            data = f.read(MAX_IMAGE_BYTES + 1)
            if len(data) > MAX_IMAGE_BYTES:
                return _Result(error=f"image ({mime}) grew past the {MAX_IMAGE_BYTES}-byte limit while read.")
            return _Result(image=(data, mime), size=len(data), sha256=hashlib.sha256(data).hexdigest())
        if is_binary(head):
            return _Result(error=f"binary file ({describe_binary(head, path)}, {size} bytes); not shown.")
        lines = _Lines(offset, limit, keep_digests=size <= MAX_EDIT_BYTES)
        return lines.scan(f, read_codec(head), flag)


class _Lines:
    """One pass over a text file in fixed-size chunks: memory stays bounded by the chunk and the
    window shown, whatever the file's size or the length of its lines (a 1 GiB line included).

    Lines end at "\\r\\n", "\\r" or "\\n" (as `_text.split_lines`). Each line's tag digest is
    computed incrementally over its whole text, though only `MAX_LINE_CHARS` of it is kept.
    """

    def __init__(self, offset: int, limit: int, keep_digests: bool) -> None:
        self.offset = offset
        self.last_wanted = offset + limit - 1
        self.digests: bytearray | None = bytearray() if keep_digests else None
        self.done = 0  # lines finished
        self.out: list[str] = []
        self.budget = MAX_OUTPUT_CHARS
        self.cut_lines = 0
        self.undecodable = False
        self.last_shown = offset - 1
        self._reset()

    def _reset(self) -> None:
        self.hash = hashlib.blake2b(digest_size=DIGEST_SIZE)
        self.kept: list[str] = []
        self.kept_chars = 0
        self.chars = 0

    def _wanted(self, lineno: int) -> bool:
        return self.offset <= lineno <= self.last_wanted and self.budget > 0

    def scan(self, f: io.RawIOBase | io.BytesIO, codec: str, flag: CancelFlag) -> _Result:
        # surrogateescape keeps undecodable UTF-8 bytes visible as such (and detectable); the
        # UTF-16/32 codecs do not support it.
        errors = "surrogateescape" if codec.startswith("utf-8") else "replace"
        decoder = codecs.getincrementaldecoder(codec)(errors)
        sha = hashlib.sha256()
        held_cr = ""  # a chunk ending in "\\r" may continue with "\\n": decide with the next one
        while True:
            flag.check()
            chunk = f.read(_CHUNK)
            if chunk:
                sha.update(chunk)
            text = held_cr + decoder.decode(chunk or b"", final=not chunk)
            held_cr = ""
            if chunk and text.endswith("\r"):
                text, held_cr = text[:-1], "\r"
            if text:
                self._feed(text)
            if not chunk:
                break
        if self.chars or self.kept:
            self._end_line()  # a last line without an ending
        return self._result(sha.hexdigest())

    def _feed(self, text: str) -> None:
        has_cr = "\r" in text
        ends = text.count("\n") + (text.count("\r") - text.count("\r\n") if has_cr else 0)
        if self.digests is None and (
            self.budget <= 0 or self.done + ends + 1 < self.offset or self.done + 1 > self.last_wanted
        ):
            # Nothing in this chunk is shown or recorded: count its lines, skip the rest.
            if ends:
                self.done += ends
                self._reset()
                self.chars = len(text) - (max(text.rfind("\n"), text.rfind("\r")) + 1)
            else:
                self.chars += len(text)
            return
        if not ends:
            self._add(text)
            return
        # str.split is several times faster than a regex; \r only needs the regex.
        parts = _EOL.split(text) if has_cr else text.split("\n")
        # The first part may end a line an earlier chunk began.
        self._add(parts[0])
        self._end_line()
        if len(parts) > 2:
            self._whole_lines(parts, clean=_SURROGATE.search(text) is None)
        self._add(parts[-1])

    def _whole_lines(self, parts: list[str], *, clean: bool) -> None:
        """`parts[1:-1]`: lines that begin and end in this chunk. What `_add` + `_end_line`
        do for each, in one loop: a read of a source file is a few hundred short lines, and
        those two calls (a hash object and a list per line) were most of its time. A line
        that needs more (cut for length, undecodable bytes) takes the general path."""
        digests, out = self.digests, self.out
        lineno = self.done
        blake2b, size = hashlib.blake2b, DIGEST_SIZE
        for i in range(1, len(parts) - 1):
            line = parts[i]
            lineno += 1
            if not clean or len(line) > MAX_LINE_CHARS:
                self.done = lineno - 1
                self._add(line)
                self._end_line()
                continue
            digest = blake2b(line.encode("utf-8", "surrogatepass"), digest_size=size).digest()
            if digests is not None:
                digests += digest
            if self.offset <= lineno <= self.last_wanted and self.budget > 0:
                entry = f"{lineno}:{short_hash(digest)}|{line}"
                out.append(entry)
                self.budget -= len(entry) + 1
                self.last_shown = lineno
        self.done = lineno

    def _add(self, piece: str) -> None:
        if not piece:
            return
        self.hash.update(piece.encode("utf-8", "surrogatepass"))
        self.chars += len(piece)
        if self._wanted(self.done + 1) and self.kept_chars <= MAX_LINE_CHARS:
            part = piece[: MAX_LINE_CHARS + 1 - self.kept_chars]
            self.kept.append(part)
            self.kept_chars += len(part)

    def _end_line(self) -> None:
        lineno = self.done + 1
        digest = self.hash.digest()
        if self.digests is not None:
            self.digests += digest
        if self._wanted(lineno):
            shown = "".join(self.kept)
            if _SURROGATE.search(shown):
                self.undecodable = True
                shown = _SURROGATE.sub("\ufffd", shown)
            if self.chars > MAX_LINE_CHARS:
                shown = f"{shown[:MAX_LINE_CHARS]}… [line cut: {self.chars} characters]"
                self.cut_lines += 1
            entry = f"{lineno}:{short_hash(digest)}|{shown}"
            self.out.append(entry)
            self.budget -= len(entry) + 1
            self.last_shown = lineno
        self.done = lineno
        self._reset()

    def _result(self, sha: str) -> _Result:
        total = self.done
        lines = bytes(self.digests) if self.digests is not None else None
        if total == 0:
            return _Result(text="(empty file)", sha256=sha, lines=lines, details={"total_lines": 0})
        if self.offset > total:
            return _Result(error=f"offset {self.offset} is past the end of the file ({total} lines).", sha256=sha)
        notes = []
        if self.cut_lines:
            notes.append(f"{self.cut_lines} line(s) longer than {MAX_LINE_CHARS} characters were cut.")
        if self.undecodable:
            notes.append("The file is not valid UTF-8: undecodable bytes are shown as U+FFFD; it cannot be edited.")
        if self.last_shown < total:
            notes.append(
                f"{total - self.last_shown} more line{'' if total - self.last_shown == 1 else 's'} (file has {total}); "
                "call read with "
                f"offset={self.last_shown + 1} to continue."
            )
        body_text = "\n".join(self.out)
        if notes:
            body_text += "\n\n" + "\n".join(f"[{n}]" for n in notes)
        return _Result(
            text=body_text,
            sha256=sha,
            lines=lines,
            details={"first_line": self.offset, "last_line": self.last_shown, "total_lines": total},
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
    import difflib  # only for a missing file

    close = difflib.get_close_matches(path.name, names, n=3)
    return f" Did you mean: {', '.join(close)}?" if close else ""
