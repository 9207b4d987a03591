"""Every priced request in the session files, read once and streaming.

A report reads every session file of every project, which for a long-time user is gigabytes
of tool output. Entries are decoded into `_Light` shapes that name only the fields a report
needs, so msgspec skips message content without building it; the strict session types are
used only for files of an older format version (through the session loader's migrations).

What a report must not do: count a request twice or not at all. A fork copies its parent's
first entries into its own file (`forked_from.entries`); those are skipped here, since the
parent's file holds them. A line that is torn or not ours is reported with its file and line
and skipped, never fatal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, TypeAlias

import msgspec

from skipjack.llm.types import CostSource, Usage
from skipjack.sessions.format import FORMAT_VERSION

Kind: TypeAlias = Literal["turn", "compaction", "retry", "subagent"]


@dataclass(frozen=True, slots=True)
class Request:
    """One model request's spend, as a report groups it."""

    ts: int
    """Milliseconds since the epoch."""
    project: str
    session: str
    provider: str
    model: str
    kind: Kind
    requests: int
    """A compaction entry records all of its summary requests in one usage record."""
    usage: Usage
    cost_source: CostSource
    saved: float
    """What prompt caching saved: cache reads at the input price minus what they cost."""


@dataclass
class Problem:
    path: Path
    line: int
    why: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.why}"


@dataclass
class ScanResult:
    requests: list[Request] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    bytes: int = 0


class _LightForkRef(msgspec.Struct):
    entries: int = 0


class _LightHeader(msgspec.Struct):
    type: str = ""
    version: int | None = None
    id: str = ""
    project: str = ""
    forked_from: _LightForkRef | None = None
    parent_task: str | None = None
    """Set on a subagent's own session file (its requests are counted as `subagent`)."""


class _LightMessage(msgspec.Struct):
    role: str = ""
    provider: str = ""
    model: str = ""
    usage: Usage | None = None
    cost_source: CostSource = "computed"
    timestamp: int = 0


class _LightEntry(msgspec.Struct):
    type: str = ""
    ts: int = 0
    message: _LightMessage | None = None
    model: str = ""
    usage: Usage | None = None
    requests: int = 1
    cost_source: CostSource = "computed"


_header = msgspec.json.Decoder(_LightHeader)
_entry = msgspec.json.Decoder(_LightEntry)

InputPrice: TypeAlias = Callable[[str, str], "float | None"]
"""USD per million input tokens for `(provider, model)`, or None when unknown."""


def saved_by_cache(usage: Usage, provider: str, model: str, input_price: InputPrice) -> float:
    """Cache-read tokens priced as plain input, minus what they actually cost.

    The input rate is the one this very request was charged (`cost.input / input`), which is
    right whatever tier or price sheet applied then; only a request with no uncached input
    falls back to today's registry price.
    """
    if usage.cache_read == 0:
        return 0.0
    if usage.input > 0 and usage.cost.input > 0:
        per_token = usage.cost.input / usage.input
    else:
        price = input_price(provider, model)
        if price is None:
            return 0.0
        per_token = price / 1_000_000
    return max(0.0, usage.cache_read * per_token - usage.cost.cache_read)


def scan_file(path: Path, input_price: InputPrice, into: ScanResult) -> None:
    """Append `path`'s requests and problems to `into`."""
    try:
        data = path.read_bytes()
    except OSError as e:
        into.problems.append(Problem(path, 0, f"cannot read: {e.strerror or e}"))
        return
    into.files += 1
    into.bytes += len(data)
    # One C-speed split; the last piece is what followed the final newline (b"" for a whole file).
    lines = data.split(b"\n")
    del data
    try:
        header = _header.decode(lines[0])
    except (msgspec.DecodeError, msgspec.ValidationError) as e:
        into.problems.append(Problem(path, 1, f"not a session header ({e})"))
        return
    if header.type != "session" or not header.id:
        into.problems.append(Problem(path, 1, "not a session file"))
        return
    if header.version is None or header.version < 1 or header.version > FORMAT_VERSION:
        _scan_migrated(path, header, input_price, into)
        return
    copied = header.forked_from.entries if header.forked_from else 0
    base_kind: Kind = "subagent" if header.parent_task else "turn"
    last = len(lines) - 1
    index = 0
    for number, raw in enumerate(lines):
        if number == 0 or not raw.strip():
            continue
        # Counted before decoding, so a bad line cannot shift which entries a fork copied.
        index += 1
        if index <= copied:
            continue
        torn = number == last
        # A user or tool-result line in skipjack's own compact encoding, told from its first
        # bytes: most of a history's bytes are tool output, and skipping those lines unread
        # makes a report several times faster. Anything else is decoded in full, so a torn or
        # foreign line is still reported.
        if not torn and raw.startswith(_MESSAGE_PREFIX):
            head = raw[:256]
            if _ROLE in head and _ASSISTANT not in head:
                continue
        try:
            entry = _entry.decode(raw)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            into.problems.append(Problem(path, number + 1, "torn last line" if torn else f"skipped: {e}"))
            continue
        request = _request(entry, header, base_kind, input_price)
        if request is not None:
            into.requests.append(request)


_MESSAGE_PREFIX = b'{"type":"message",'
_ROLE = b'"role":"'
_ASSISTANT = b'"role":"assistant"'


def _request(entry: _LightEntry, header: _LightHeader, base_kind: Kind, input_price: InputPrice) -> Request | None:
    if entry.type == "message":
        m = entry.message
        if m is None or m.role != "assistant" or m.usage is None:
            return None
        ts = m.timestamp or entry.ts
        return _make(ts, header, m.provider, m.model, base_kind, 1, m.usage, m.cost_source, input_price)
    if entry.type in ("compaction", "usage") and entry.usage is not None:
        provider, _, model = entry.model.partition("/")
        kind: Kind = "compaction" if entry.type == "compaction" else "retry"
        if base_kind == "subagent":
            kind = "subagent"
        requests = entry.requests if entry.type == "compaction" else 1
        return _make(entry.ts, header, provider, model, kind, requests, entry.usage, entry.cost_source, input_price)
    return None


def _make(
    ts: int,
    header: _LightHeader,
    provider: str,
    model: str,
    kind: Kind,
    requests: int,
    usage: Usage,
    cost_source: CostSource,
    input_price: InputPrice,
) -> Request:
    saved = 0.0 if cost_source == "unknown" else saved_by_cache(usage, provider, model, input_price)
    return Request(ts, header.project, header.id, provider, model, kind, requests, usage, cost_source, saved)


def _scan_migrated(path: Path, header: _LightHeader, input_price: InputPrice, into: ScanResult) -> None:
    """An older format version: load it whole through the migrations (rare, so not streamed)."""
    from skipjack.sessions import Session, SessionError
    from skipjack.sessions.format import CompactionEntry, MessageEntry, UsageEntry

    try:
        session = Session.load(path)
    except (SessionError, OSError) as e:
        into.problems.append(Problem(path, 0, f"skipped: {e}"))
        return
    light = _LightHeader(type="session", version=FORMAT_VERSION, id=session.id, project=session.header.project)
    for entry in session.all_entries():
        converted: _LightEntry | None = None
        if isinstance(entry, MessageEntry):
            m = entry.message
            usage = getattr(m, "usage", None)
            if isinstance(usage, Usage):
                lm = _LightMessage(
                    role="assistant",
                    provider=getattr(m, "provider", ""),
                    model=getattr(m, "model", ""),
                    usage=usage,
                    cost_source=getattr(m, "cost_source", "computed"),
                    timestamp=getattr(m, "timestamp", entry.ts),
                )
                converted = _LightEntry(type="message", ts=entry.ts, message=lm)
        elif isinstance(entry, CompactionEntry):
            converted = _LightEntry("compaction", entry.ts, None, entry.model, entry.usage, entry.requests)
        elif isinstance(entry, UsageEntry):
            converted = _LightEntry("usage", entry.ts, None, entry.model, entry.usage)
        if converted is not None:
            request = _request(converted, light, "turn", input_price)
            if request is not None:
                into.requests.append(request)


def session_files(root: Path) -> Iterator[Path]:
    """Every `*.jsonl` one level under each project folder of the sessions root."""
    if not root.is_dir():
        return
    for project in sorted(root.iterdir()):
        if project.is_dir() and not project.is_symlink():
            yield from sorted(p for p in project.glob("*.jsonl") if p.is_file())


def is_zero(x: float) -> bool:
    return math.isclose(x, 0.0, abs_tol=1e-15)
