"""`/compact [focus]`: summarise the older part of the conversation through the compaction module."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from skipjack.tui.app import SkipjackApp


async def compact_now(app: SkipjackApp, focus: str | None) -> None:
    app.chat.notice("compaction is not wired into the UI yet", "warning")
