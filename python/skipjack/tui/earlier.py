"""The chat keeps a bounded number of exchanges on screen; older ones wait behind a marker.

Textual lays out and keeps in memory every widget of the chat, so a resumed 1,000-message
session took over 30 s to appear and a long live session got slower and bigger with every
exchange. A resumed session shows its last `RESUME_EXCHANGES` exchanges; a live chat drops
the oldest exchanges once it holds `LIVE_MAX_EXCHANGES` (they stay in the session). The
marker at the top says how many are not shown; Enter or a click on it brings back the
previous page when the messages are at hand (a resumed session's).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.events import Click
from textual.widgets import Static

from skipjack.llm.types import Message, UserMessage

RESUME_EXCHANGES = 10
PAGE_EXCHANGES = 10
LIVE_MAX_EXCHANGES = 40
"""Exchanges (a user message and all that follows it) a live chat keeps mounted …"""
LIVE_DROP = 15
"""… and how many it lets go at once (dropping in batches keeps re-layouts rare)."""


def exchange_start(messages: Sequence[Message], keep: int) -> int:
    """Where the last `keep` exchanges of `messages` begin (0: all of them)."""
    starts = [i for i, m in enumerate(messages) if isinstance(m, UserMessage)]
    return starts[-keep] if len(starts) > keep else 0


class EarlierMessages(Static, can_focus=True):
    DEFAULT_CSS = """
    EarlierMessages { padding: 0 1; color: $text-muted; text-style: italic; }
    EarlierMessages:focus { background: $boost; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "show_more", "show earlier", show=False)]

    def __init__(
        self,
        messages: Sequence[Message],
        upto: int,
        render: Callable[[Sequence[Message], Sequence[Message]], None],
    ) -> None:
        """`messages[:upto]` are not shown; `render(page, all_messages)` draws a page of them
        where the marker is (the chat mounts before it meanwhile)."""
        super().__init__("", markup=False)
        self.messages: Sequence[Message] | None = messages
        self.upto = upto
        self.dropped = 0
        """Exchanges of the live chat let go: not shown, and not at hand to show again."""
        self._page_in = render
        self._label()

    def _label(self) -> None:
        hidden = sum(1 for m in self.messages[: self.upto] if isinstance(m, UserMessage)) if self.messages else 0
        parts = []
        if hidden:
            parts.append(f"▲ {hidden} earlier exchange{'s' if hidden > 1 else ''} (enter or click to show)")
        if self.dropped:
            parts.append(f"{self.dropped} earlier exchange{'s' if self.dropped > 1 else ''} not shown (in the session)")
        self.update(" · ".join(parts) or "")

    def forget(self, exchanges: int) -> None:
        """The live chat let `exchanges` more go: what is hidden can no longer be paged back."""
        self.dropped += exchanges + sum(1 for m in (self.messages or [])[: self.upto] if isinstance(m, UserMessage))
        self.messages, self.upto = None, 0
        self._label()

    def action_show_more(self) -> None:
        if not self.messages or self.upto == 0:
            return
        start = exchange_start(self.messages[: self.upto], PAGE_EXCHANGES)
        self._page_in(self.messages[start : self.upto], self.messages)
        self.upto = start
        self._label()

    def on_click(self, event: Click) -> None:
        self.action_show_more()
