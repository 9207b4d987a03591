"""Compaction: when the context is too big, summarise the older history and keep the recent part.

should_compact(messages, model, settings) -> bool
find_cut(messages, keep_recent_tokens) -> index of the first message kept verbatim
summarize(messages, model, previous_summary=..., focus=...) -> Summary (text, usage, requests)
Compactor(model, session=...) -> .transform_context / .on_context_overflow hooks for the Agent
compact(session, model, focus=None) -> CompactionResult | None  (`/compact [focus]`)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skipjack.compaction.compactor import CompactionResult, Compactor, compact
    from skipjack.compaction.cut import find_cut, is_cut_point
    from skipjack.compaction.estimate import (
        context_limit,
        estimate_context_tokens,
        estimate_tokens,
        should_compact,
        usage_tokens,
    )
    from skipjack.compaction.prompt import SECTIONS, SYSTEM_PROMPT, build_prompt, files_touched, render_message
    from skipjack.compaction.summarize import CompactionError, Summary, summarize


__all__ = [
    "SECTIONS",
    "SYSTEM_PROMPT",
    "CompactionError",
    "CompactionResult",
    "Compactor",
    "Summary",
    "build_prompt",
    "compact",
    "context_limit",
    "estimate_context_tokens",
    "estimate_tokens",
    "files_touched",
    "find_cut",
    "is_cut_point",
    "render_message",
    "should_compact",
    "summarize",
    "usage_tokens",
]


_WHERE = {
    "CompactionResult": "compactor",
    "Compactor": "compactor",
    "compact": "compactor",
    "find_cut": "cut",
    "is_cut_point": "cut",
    "SECTIONS": "prompt",
    "SYSTEM_PROMPT": "prompt",
    "build_prompt": "prompt",
    "files_touched": "prompt",
    "render_message": "prompt",
    "CompactionError": "errors",
    "Summary": "summarize",
    "summarize": "summarize",
}


def __getattr__(name: str) -> Any:
    # Loaded on first use: a run builds its `Compactor` (the check whether one is due) before
    # its first request, but the cut, the prompt and the summariser only when one is due.
    module = _WHERE.get(name) or ("estimate" if name in __all__ else None)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
