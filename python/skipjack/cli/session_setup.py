"""Attach a persisted session to a runtime's agent (placeholder until the store lands)."""

from __future__ import annotations

from typing import Any

from skipjack.runtime import Runtime


def attach_session(runtime: Runtime, *, continue_latest: bool, session_id: str | None) -> Any:
    return None
