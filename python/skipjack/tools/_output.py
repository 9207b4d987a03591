"""Command output kept as head and tail in memory, with the whole of it (up to a cap) spooled to disk."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from skipjack.terminal_text import sanitize
from skipjack.tools._spool import FILE_CAP, process_spool

HEAD_BYTES = 16 * 1024
TAIL_BYTES = 16 * 1024
HEAD_LINES = 200
TAIL_LINES = 200


@dataclass(frozen=True)
class Collected:
    """A command's output as the tool returns it."""

    text: str
    """What the model sees: everything, or head and tail around an omission marker."""
    total_bytes: int
    total_lines: int
    truncated: bool
    full_output_path: str | None
    saved_bytes: int = 0
    """How much of the output the file at `full_output_path` holds (capped at `FILE_CAP`)."""
    file_note: str = ""
    """Where the output went, for the result's footer: the file, how much of it, or why none."""


class SpooledOutput:
    """Feed it chunks; memory stays bounded by HEAD_BYTES + TAIL_BYTES whatever the volume.

    Everything is held in memory until it outgrows head + tail; from then on the stream goes
    to a file in this process's spool folder (its start copied from memory), at most
    `FILE_CAP` bytes of it, and only the tail is kept in memory. A file that cannot be
    written (a full or read-only disk) costs the copy on disk, never the command's result.
    """

    def __init__(self, prefix: str = "skipjack-output-") -> None:
        self._prefix = prefix
        self._buf = bytearray()
        self._head = b""
        self._spooling = False
        self._spool: BinaryIO | None = None
        self._spool_path: Path | None = None
        self._saved = 0
        self._problem: str | None = None
        """Why the file stops short of the whole output, or why there is none."""
        self.total_bytes = 0
        self._newlines = 0
        self._ends_with_newline = True

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.total_bytes += len(chunk)
        self._newlines += chunk.count(b"\n")
        self._ends_with_newline = chunk.endswith(b"\n")
        if not self._spooling:
            self._buf += chunk
            if len(self._buf) <= HEAD_BYTES + TAIL_BYTES:
                return
            self._head = bytes(self._buf[:HEAD_BYTES])
            self._spooling = True
            self._open_spool()
            self._write(bytes(self._buf))
        else:
            self._write(chunk)
            self._buf += chunk
        if len(self._buf) > TAIL_BYTES:
            del self._buf[: len(self._buf) - TAIL_BYTES]

    def _open_spool(self) -> None:
        try:
            fd, path = process_spool().new_file(self._prefix)
        except OSError as e:
            self._problem = f"could not be saved ({e.strerror or e})"
            return
        self._spool = os.fdopen(fd, "wb")
        self._spool_path = path

    def _write(self, data: bytes) -> None:
        if self._spool is None:
            return
        room = FILE_CAP - self._saved
        if len(data) > room:
            data = data[:room]
            self._problem = f"cut at {FILE_CAP // (1024 * 1024)} MiB"
        try:
            self._spool.write(data)
        except OSError as e:
            self._problem = f"cut at {self._saved} bytes: {e.strerror or e}"
            self._close_spool()
            return
        self._saved += len(data)
        if self._saved >= FILE_CAP:
            self._close_spool()

    def _close_spool(self) -> None:
        spool, self._spool = self._spool, None
        if spool is None:
            return
        try:
            spool.close()
        except OSError as e:  # buffered bytes that did not fit on the disk
            self._problem = self._problem or f"incomplete: {e.strerror or e}"
        if self._spool_path is not None:
            process_spool().finished(self._spool_path)

    @property
    def total_lines(self) -> int:
        return self._newlines + (0 if self._ends_with_newline or not self.total_bytes else 1)

    def close(self) -> None:
        self._close_spool()

    def finish(self) -> Collected:
        """Close the spool and build the model's view of the output."""
        self.close()
        if not self._spooling:
            text = _clean(self._buf.decode("utf-8", "replace"))
            lines = text.removesuffix("\n").split("\n")
            if len(lines) <= HEAD_LINES + TAIL_LINES:
                return Collected(text, self.total_bytes, self.total_lines, False, None)
            # Few bytes but many lines: still cut, and keep the whole in a file.
            self._open_spool()
            self._write(bytes(self._buf))
            self.close()
            head_lines, tail_lines = lines[:HEAD_LINES], lines[-TAIL_LINES:]
            omitted = len(lines) - HEAD_LINES - TAIL_LINES
        else:
            head = self._head.decode("utf-8", "replace")
            tail = bytes(self._buf).decode("utf-8", "replace")
            # Drop the partial line at each cut; keep a single huge line rather than nothing.
            head = head[: head.rfind("\n")] if "\n" in head else head
            tail = tail[tail.find("\n") + 1 :] if "\n" in tail[:-1] else tail
            head_lines = _clean(head).split("\n")[:HEAD_LINES]
            tail_lines = _clean(tail).removesuffix("\n").split("\n")[-TAIL_LINES:]
            omitted = max(self.total_lines - len(head_lines) - len(tail_lines), 0)
        if self._spool_path is not None and self._problem is None and self._saved < self.total_bytes:
            self._problem = f"cut at {FILE_CAP // (1024 * 1024)} MiB"  # the chunk that filled it ended exactly there
        size = f"{self.total_bytes} bytes, {self.total_lines} lines"
        path = str(self._spool_path) if self._spool_path is not None else None
        if path is None:
            note = f"the full output {self._problem or 'could not be saved'}"
            marker = f"[... {omitted} lines omitted; the full output ({size}) {self._problem} ...]"
        elif self._problem is None:
            note = f"full output in {path}"
            marker = f"[... {omitted} lines omitted; the full output ({size}) is in {path} ...]"
        else:
            note = f"the first {self._saved} bytes of the output are in {path} ({self._problem})"
            marker = (
                f"[... {omitted} lines omitted; the output ({size}) is in {path}, "
                f"{self._problem}: its first {self._saved} bytes ...]"
            )
        text = "\n".join([*head_lines, marker, *tail_lines])
        return Collected(text, self.total_bytes, self.total_lines, True, path, self._saved, note)


def _clean(text: str) -> str:
    # What a terminal would show, minus colours: escape sequences of every kind (OSC, DCS,
    # APC, C1) and their payloads removed, progress bars (`\r`) collapsed to their last state.
    return sanitize(text)
