"""Persisted sessions: append-only JSONL files, grouped by project, with usage accounting.

SessionStore(root=None) -> create(cwd, model), open(id), latest(cwd), list(cwd), fork(id, entry),
    delete(id), export_markdown(id)
Session -> append_message / append_compaction / append_model_change / append_usage / append_event,
    messages() (the model's context), all_entries() (everything), usage_totals(), by_model()
"""

from __future__ import annotations

from skipjack.llm.usage import add_usage, sum_usage
from skipjack.sessions.errors import (
    LoadWarning,
    SessionChangedError,
    SessionError,
    SessionFormatError,
    SessionLockedError,
    SessionNotFoundError,
)
from skipjack.sessions.format import (
    FORMAT_VERSION,
    CompactionEntry,
    CompactionTrigger,
    Entry,
    EventEntry,
    ForkRef,
    MessageEntry,
    ModelChangeEntry,
    SessionHeader,
    UsageEntry,
    model_ref,
    summary_message,
)
from skipjack.sessions.session import Session
from skipjack.sessions.store import SessionStore, SessionSummary, data_dir, project_dir_name, project_root

__all__ = [
    "FORMAT_VERSION",
    "CompactionEntry",
    "CompactionTrigger",
    "Entry",
    "EventEntry",
    "ForkRef",
    "LoadWarning",
    "MessageEntry",
    "ModelChangeEntry",
    "Session",
    "SessionChangedError",
    "SessionError",
    "SessionFormatError",
    "SessionHeader",
    "SessionLockedError",
    "SessionNotFoundError",
    "SessionStore",
    "SessionSummary",
    "UsageEntry",
    "add_usage",
    "data_dir",
    "model_ref",
    "project_dir_name",
    "project_root",
    "sum_usage",
    "summary_message",
]
