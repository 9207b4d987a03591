"""Chained migrations of older versions of the session format, applied on load.

A migration takes version N's header and entries (plain JSON objects, each with the line it
came from, so errors still name the line) and returns version N+1's. Loading applies them
in order up to `FORMAT_VERSION`; the file itself is rewritten only when a session is
appended to (see `Session`), so merely reading an old file never changes it.

Usage records are never converted: a message whose usage is not canonical is rejected
whatever the version, as the usage contract requires.

Version 0 (the first, unreleased shape) differs from version 1 in that:
- the header has no `version`; `timestamp` is an ISO 8601 string; `provider` and `model`
  are separate keys; there is no `project`;
- entries have no `id`/`parent`, and an ISO `timestamp` instead of `ts` (milliseconds);
- a compaction names its first kept entry by position (`first_kept_index`, 0-based over the
  entries after the header) and recorded neither the summariser nor its usage;
- a model change has `provider` and `model` keys.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeAlias

from skipjack.llm.types import Usage
from skipjack.sessions.errors import SessionFormatError
from skipjack.sessions.format import FORMAT_VERSION, model_ref

RawEntry: TypeAlias = tuple[int, dict[str, Any]]
"""(line number, the entry's JSON object)."""
Migration: TypeAlias = Callable[[Path, dict[str, Any], list[RawEntry]], tuple[dict[str, Any], list[RawEntry]]]


def _ms(path: Path, line: int, value: Any) -> int:
    if not isinstance(value, str):
        raise SessionFormatError(path, line, f"expected an ISO 8601 timestamp, got {value!r}")
    try:
        return int(datetime.fromisoformat(value).timestamp() * 1000)
    except ValueError as e:
        raise SessionFormatError(path, line, f"bad timestamp {value!r}: {e}") from None


def _v0_id(line: int) -> str:
    # Derived from the line, so every load of an unmigrated v0 file gives the same ids and a
    # fork made from one still points at the right entry after the file is rewritten.
    return f"v0l{line:05d}"


def v0_to_v1(path: Path, header: dict[str, Any], entries: list[RawEntry]) -> tuple[dict[str, Any], list[RawEntry]]:
    h = dict(header)
    provider, model = h.pop("provider", None), h.pop("model", None)
    new_header = {
        "type": "session",
        "version": 1,
        "id": h.pop("id", None),
        "created": _ms(path, 1, h.pop("timestamp", None)),
        "cwd": h.get("cwd"),
        "project": h.pop("cwd", None),
        "model": model_ref(provider, model) if provider and model else None,
    }
    h.pop("type", None)
    if h:
        raise SessionFormatError(path, 1, f"unknown v0 header keys: {', '.join(sorted(h))}")
    ids = [_v0_id(line) for line, _ in entries]
    current_model = new_header["model"] or "unknown/unknown"
    out: list[RawEntry] = []
    for i, (line, raw) in enumerate(entries):
        e = dict(raw)
        kind = e.get("type")
        new: dict[str, Any] = {"type": kind, "id": ids[i], "parent": ids[i - 1] if i else None}
        new["ts"] = _ms(path, line, e.pop("timestamp", None))
        e.pop("type", None)
        if kind == "compaction":
            index = e.pop("first_kept_index", None)
            if index is not None and not (isinstance(index, int) and 0 <= index < i):
                raise SessionFormatError(path, line, f"first_kept_index {index!r} does not point before this entry")
            new["first_kept"] = ids[index] if index is not None else None
            new["model"] = current_model
            # v0 did not record what a summary cost: zero is the honest figure for "unknown".
            new["usage"] = _zero_usage()
        elif kind == "model_change":
            p, m = e.pop("provider", None), e.pop("model", None)
            current_model = model_ref(str(p), str(m))
            new["model"] = current_model
        new.update(e)
        out.append((line, new))
    return new_header, out


def _zero_usage() -> dict[str, Any]:
    z = Usage.zero()
    return {
        "input": z.input,
        "output": z.output,
        "cache_read": z.cache_read,
        "cache_write": z.cache_write,
        "total_tokens": z.total_tokens,
        "cost": {"input": 0.0, "output": 0.0, "cache_read": 0.0, "cache_write": 0.0, "total": 0.0},
    }


def v1_to_v2(path: Path, header: dict[str, Any], entries: list[RawEntry]) -> tuple[dict[str, Any], list[RawEntry]]:
    """Version 2 only added fields with defaults (`cost_source`); v1 entries are v2 entries."""
    return {**header, "version": 2}, entries


MIGRATIONS: dict[int, Migration] = {0: v0_to_v1, 1: v1_to_v2}
"""`MIGRATIONS[n]` turns version n into version n+1."""


def header_version(path: Path, header: dict[str, Any]) -> int:
    version = header.get("version", 0)  # v0 headers had no version key
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise SessionFormatError(path, 1, f"bad format version {version!r}")
    if version > FORMAT_VERSION:
        raise SessionFormatError(
            path, 1, f"format version {version} is newer than this skipjack understands ({FORMAT_VERSION}); upgrade"
        )
    return version


def migrate(
    path: Path, header: dict[str, Any], entries: list[RawEntry], migrations: Mapping[int, Migration] | None = None
) -> tuple[dict[str, Any], list[RawEntry]]:
    """Apply every migration from the header's version up to the current one, in order."""
    chain = MIGRATIONS if migrations is None else migrations
    version = header_version(path, header)
    target = max(FORMAT_VERSION, max(chain, default=-1) + 1)
    while version < target:
        step = chain.get(version)
        if step is None:
            raise SessionFormatError(path, 1, f"no migration from format version {version}")
        header, entries = step(path, header, entries)
        new_version = header.get("version")
        if new_version != version + 1:
            raise SessionFormatError(path, 1, f"migration from {version} produced version {new_version!r}")
        version = new_version
    return header, entries
