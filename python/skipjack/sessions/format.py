"""The session file format, version 2: one JSON object per line.

Line 1 is the header (`"type": "session"`, `"version": 2`); every later line is one entry,
written as it happens. Entries carry an `id` unique within the file and the `parent` id of
the entry before them, so a fork (a new file) can name the entry it branched from.

Messages are stored in the canonical shapes of `skipjack.llm.types` and decoded into those
strict types, so a usage record with a missing, extra or negative field is rejected on load.

Version 2 added `cost_source` to compaction and usage entries (`unknown` when the model had
no known price); version 1 files read as version 2 with `computed` there, which is what they
recorded.
"""

from __future__ import annotations

import os
import time
from typing import Any, Literal, TypeAlias

import msgspec

from skipjack.llm.types import CostSource, Message, NonNegInt, Usage, UserMessage, model_ref, now_ms

FORMAT_VERSION = 2

CompactionTrigger: TypeAlias = Literal["manual", "threshold", "overflow"]


class ForkRef(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    session: str
    entry: str
    entries: NonNegInt
    """How many entries were copied from that session (they open this file)."""


class SessionHeader(msgspec.Struct, frozen=True, tag_field="type", tag="session", forbid_unknown_fields=True):
    version: int
    id: str
    created: int
    """Milliseconds since the epoch."""
    cwd: str
    project: str
    """The resolved project root the session is grouped under."""
    model: str | None
    """`provider/model-id` the session started with."""
    forked_from: ForkRef | None = None


class MessageEntry(msgspec.Struct, frozen=True, tag_field="type", tag="message", forbid_unknown_fields=True):
    id: str
    parent: str | None
    ts: int
    message: Message


class CompactionEntry(msgspec.Struct, frozen=True, tag_field="type", tag="compaction", forbid_unknown_fields=True):
    """The history before `first_kept` was replaced, in the model's context, by `summary`."""

    id: str
    parent: str | None
    ts: int
    summary: str
    first_kept: str | None
    """Id of the first message entry kept verbatim; None when nothing was kept."""
    tokens_before: NonNegInt
    """The context estimate that led to compacting."""
    model: str
    """`provider/model-id` of the summariser."""
    usage: Usage
    """What the summary requests cost, all of them (chunks and failed attempts included)."""
    requests: NonNegInt = 1
    trigger: CompactionTrigger = "manual"
    focus: str | None = None
    cost_source: CostSource = "computed"
    """`unknown` when the summariser has no known price (its cost fields are then 0)."""


class ModelChangeEntry(msgspec.Struct, frozen=True, tag_field="type", tag="model_change", forbid_unknown_fields=True):
    id: str
    parent: str | None
    ts: int
    model: str


class UsageEntry(msgspec.Struct, frozen=True, tag_field="type", tag="usage", forbid_unknown_fields=True):
    """Spend not carried by a message in the history (e.g. a request that failed and was retried)."""

    id: str
    parent: str | None
    ts: int
    model: str
    usage: Usage
    reason: str
    cost_source: CostSource = "computed"


class EventEntry(msgspec.Struct, frozen=True, tag_field="type", tag="event", forbid_unknown_fields=True):
    """Anything else the agent loop reports that must outlive the process (e.g. why a run stopped)."""

    id: str
    parent: str | None
    ts: int
    name: str
    data: dict[str, Any] = msgspec.field(default_factory=dict)


Entry: TypeAlias = MessageEntry | CompactionEntry | ModelChangeEntry | UsageEntry | EventEntry

encoder = msgspec.json.Encoder()
header_decoder = msgspec.json.Decoder(SessionHeader)
entry_decoder = msgspec.json.Decoder(Entry)


def new_entry_id(taken: set[str] | dict[str, Any]) -> str:
    while True:
        candidate = os.urandom(4).hex()  # what `secrets.token_hex` does, without its imports
        if candidate not in taken:
            return candidate


def new_session_id() -> str:
    """Sortable by creation time and readable: `20250131-142501-9f3a1c`."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{stamp}-{os.urandom(3).hex()}"


SUMMARY_PREFIX = (
    "The earlier part of this conversation was compacted to save context. "
    "A summary of it follows; continue from there.\n\n<summary>\n"
)
SUMMARY_SUFFIX = "\n</summary>"


def summary_message(entry: CompactionEntry) -> UserMessage:
    """The user message that stands for the summarised history in the model's context."""
    return UserMessage(SUMMARY_PREFIX + entry.summary + SUMMARY_SUFFIX, timestamp=entry.ts)


__all__ = [
    "FORMAT_VERSION",
    "CompactionEntry",
    "Entry",
    "EventEntry",
    "ForkRef",
    "MessageEntry",
    "ModelChangeEntry",
    "SessionHeader",
    "UsageEntry",
    "model_ref",
    "new_entry_id",
    "new_session_id",
    "now_ms",
    "summary_message",
]
