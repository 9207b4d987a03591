"""Command output kept as head and tail in memory, with the whole of it spooled to disk."""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from typing import BinaryIO

HEAD_BYTES = 16 * 1024
TAIL_BYTES = 16 * 1024
HEAD_LINES = 200
TAIL_LINES = 200

# CSI and OSC escape sequences: colour and cursor codes mean nothing to a model.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")


@dataclass(frozen=True)
class Collected:
    text: str
    """What the model sees: everything, or head and tail around an omission marker."""
    total_bytes: int
    total_lines: int
    truncated: bool
    full_output_path: str | None


class SpooledOutput:
    """Feed it chunks; memory stays bounded by HEAD_BYTES + TAIL_BYTES whatever the volume.

    Everything is held in memory until it outgrows head + tail; from then on the whole stream
    goes to a temporary file (its start copied from memory) and only the tail is kept.
    """

    def __init__(self, prefix: str = "skipjack-output-") -> None:
        self._prefix = prefix
        self._buf = bytearray()
        self._head = b""
        self._spool: BinaryIO | None = None
        self._spool_path: str | None = None
        self.total_bytes = 0
        self._newlines = 0
        self._ends_with_newline = True

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        self.total_bytes += len(chunk)
        self._newlines += chunk.count(b"\n")
        self._ends_with_newline = chunk.endswith(b"\n")
        if self._spool is None:
            self._buf += chunk
            if len(self._buf) <= HEAD_BYTES + TAIL_BYTES:
                return
            self._head = bytes(self._buf[:HEAD_BYTES])
            self._open_spool().write(self._buf)
        else:
            self._spool.write(chunk)
            self._buf += chunk
        if len(self._buf) > TAIL_BYTES:
            del self._buf[: len(self._buf) - TAIL_BYTES]

    def _open_spool(self) -> BinaryIO:
        fd, path = tempfile.mkstemp(prefix=self._prefix, suffix=".log")
        self._spool = spool = os.fdopen(fd, "wb")
        self._spool_path = path
        return spool

    @property
    def total_lines(self) -> int:
        return self._newlines + (0 if self._ends_with_newline or not self.total_bytes else 1)

    def close(self) -> None:
        if self._spool is not None and not self._spool.closed:
            self._spool.close()

    def finish(self) -> Collected:
        """Close the spool and build the model's view of the output."""
        self.close()
        if self._spool_path is None:
            text = _clean(self._buf.decode("utf-8", "replace"))
            lines = text.removesuffix("\n").split("\n")
            if len(lines) <= HEAD_LINES + TAIL_LINES:
                return Collected(text, self.total_bytes, self.total_lines, False, None)
            # Few bytes but many lines: still cut, and keep the whole in a file.
            with self._open_spool() as f:
                f.write(self._buf)
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
        marker = (
            f"[... {omitted} lines omitted; the full output ({self.total_bytes} bytes, "
            f"{self.total_lines} lines) is in {self._spool_path} ...]"
        )
        text = "\n".join([*head_lines, marker, *tail_lines])
        return Collected(text, self.total_bytes, self.total_lines, True, self._spool_path)


def _clean(text: str) -> str:
    return _ANSI.sub("", text)
