"""When a session file was last updated, read from its first and last lines only.

`--continue` wants the project's most recently updated session that loads. Loading every
session of the project to find it made resuming cost the size of all of them (a project's
history can be gigabytes); the header and the last whole line say the same for a file in
the current format, so only the winner is loaded in full. Anything unusual (an older format,
a torn or invalid last line, no entries) returns None and the caller loads the file to know.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import BinaryIO

import msgspec

from skipjack.sessions.format import FORMAT_VERSION, entry_decoder, header_decoder

_CHUNK = 64 * 1024


def quick_updated(path: Path) -> int | None:
    """`Session.load(path).updated` when it can be told from the file's ends, else None."""
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            first = f.readline()
            if not first.endswith(b"\n") or f.tell() >= size:
                return None  # a torn header, or no entries: leave it to the full load
            last = _last_line(f, size)
    except OSError:
        return None
    if last is None:
        return None
    try:
        header = header_decoder.decode(first)
        if header.version != FORMAT_VERSION:
            return None
        return entry_decoder.decode(last).ts
    except msgspec.DecodeError:  # ValidationError included
        return None


def _last_line(f: BinaryIO, size: int) -> bytes | None:
    """The last newline-terminated line (a torn tail after it is dropped by the loader too)."""
    buf = b""
    pos = size
    while pos > 0:
        step = min(_CHUNK, pos)
        pos -= step
        f.seek(pos)
        buf = f.read(step) + buf
        nl = buf.rfind(b"\n")
        if nl < 0:
            continue
        start = buf.rfind(b"\n", 0, nl)
        if start >= 0:
            return buf[start + 1 : nl + 1]
    return None
