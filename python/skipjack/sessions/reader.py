"""Loading a session file: strict decoding, torn-tail recovery, migrations.

Every line is written with a single `write`, newline included, so a process killed while
writing leaves at most one incomplete line, at the end. Such a tail (bytes after the last
newline, or a final line that is not JSON) is reported as a warning and everything before it
loads. Anywhere else a bad line is an error naming it: it means the file was damaged or
edited, and guessing past it could silently drop history.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from skipjack.sessions.errors import LoadWarning, SessionFormatError
from skipjack.sessions.format import (
    FORMAT_VERSION,
    CompactionEntry,
    Entry,
    MessageEntry,
    SessionHeader,
    entry_decoder,
    header_decoder,
)
from skipjack.sessions.migrations import RawEntry, header_version, migrate


class LoadedFile(msgspec.Struct):
    """A session file as read: header, entries and warnings."""

    header: SessionHeader
    entries: list[Entry]
    warnings: list[LoadWarning] = msgspec.field(default_factory=list)
    version: int = FORMAT_VERSION
    """The version the file is written in (entries are always the current version)."""
    size: int = 0
    """File size when read."""
    good_size: int = 0
    """Bytes up to the end of the last complete line: where appending may continue."""


USAGE_CONTRACT = (
    "usage must have exactly input, output, cache_read, cache_write, total_tokens and "
    "cost{input, output, cache_read, cache_write, total}, none negative"
)


def _validation(path: Path, line: int, e: msgspec.ValidationError) -> SessionFormatError:
    text = str(e)
    if ".usage" in text:
        return SessionFormatError(path, line, f"non-canonical usage record: {text} ({USAGE_CONTRACT})")
    return SessionFormatError(path, line, f"invalid entry: {text}")


def _syntax(path: Path, line: int, e: msgspec.DecodeError) -> SessionFormatError:
    return SessionFormatError(path, line, f"malformed JSON: {e}")


def read_session(path: Path) -> LoadedFile:
    data = path.read_bytes()
    lines = data.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    warnings: list[LoadWarning] = []
    good_size = len(data) - len(tail)
    if tail:
        warnings.append(
            LoadWarning(
                str(path),
                len(lines) + 1,
                f"incomplete last line ({len(tail)} bytes, no newline): an interrupted write; ignored",
            )
        )
    if not lines:
        raise SessionFormatError(path, 1, "no session header (empty or torn file)")

    def torn_if_last(number: int, raw: bytes, e: msgspec.DecodeError) -> bool:
        """A final line that is not JSON is the interrupted write (e.g. zeros after a crash)."""
        nonlocal good_size
        if number != len(lines) or tail or isinstance(e, msgspec.ValidationError):
            return False
        good_size -= len(raw) + 1
        warnings.append(
            LoadWarning(str(path), number, f"last line is not valid JSON ({e}): an interrupted write; ignored")
        )
        return True

    try:
        head_obj = msgspec.json.decode(lines[0])
    except msgspec.DecodeError as e:
        raise _syntax(path, 1, e) from None
    if not isinstance(head_obj, dict) or head_obj.get("type") != "session":
        raise SessionFormatError(path, 1, 'the first line is not a session header ({"type": "session", ...})')
    version = header_version(path, head_obj)

    if version == FORMAT_VERSION:
        # The common case decodes straight into the strict types, no intermediate objects.
        try:
            header = header_decoder.decode(lines[0])
        except msgspec.ValidationError as e:
            raise SessionFormatError(path, 1, f"invalid header: {e}") from None
        entries: list[Entry] = []
        numbers: list[int] = []
        for number, raw in enumerate(lines[1:], start=2):
            try:
                entries.append(entry_decoder.decode(raw))
                numbers.append(number)
            except msgspec.ValidationError as e:
                raise _validation(path, number, e) from None
            except msgspec.DecodeError as e:
                if torn_if_last(number, raw, e):
                    break
                raise _syntax(path, number, e) from None
    else:
        raw_entries: list[RawEntry] = []
        for number, raw in enumerate(lines[1:], start=2):
            try:
                obj: Any = msgspec.json.decode(raw)
            except msgspec.DecodeError as e:
                if torn_if_last(number, raw, e):
                    break
                raise _syntax(path, number, e) from None
            if not isinstance(obj, dict):
                raise SessionFormatError(path, number, "an entry must be a JSON object")
            raw_entries.append((number, obj))
        head_dict, migrated = migrate(path, head_obj, raw_entries)
        try:
            header = msgspec.convert(head_dict, SessionHeader)
        except msgspec.ValidationError as e:
            raise SessionFormatError(path, 1, f"invalid header (after migration from v{version}): {e}") from None
        entries = []
        numbers = []
        for number, obj in migrated:
            try:
                entries.append(msgspec.convert(obj, Entry))
                numbers.append(number)
            except msgspec.ValidationError as e:
                raise _validation(path, number, e) from None
    _check_links(path, entries, numbers)
    return LoadedFile(header, entries, warnings, version, len(data), good_size)


def _check_links(path: Path, entries: list[Entry], numbers: list[int]) -> None:
    """Ids unique; a compaction keeps from a message entry written before it."""
    messages: set[str] = set()
    seen: set[str] = set()
    for e, number in zip(entries, numbers, strict=True):
        if e.id in seen:
            raise SessionFormatError(path, number, f"entry id {e.id!r} was already used")
        seen.add(e.id)
        if isinstance(e, MessageEntry):
            messages.add(e.id)
        elif isinstance(e, CompactionEntry) and e.first_kept is not None and e.first_kept not in messages:
            raise SessionFormatError(path, number, f"compaction keeps from {e.first_kept!r}, no earlier message entry")
