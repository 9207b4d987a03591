"""The status line: model, context used, session cost, and what the agent is doing."""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from skipjack.config.schema import ApprovalMode
from skipjack.llm.types import Model
from skipjack.tui.formatting import tokens, usd


class StatusLine(Static):
    DEFAULT_CSS = """
    StatusLine {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    """

    def __init__(self) -> None:
        super().__init__("", id="status")
        self.model: Model | None = None
        self.context_used = 0
        self.cost = 0.0
        self.mode: ApprovalMode = "ask"
        self.state = "ready"
        self._retry_until: float | None = None
        self._retry_note = ""

    def on_mount(self) -> None:
        # Only a retry countdown changes with time; everything else re-renders on change.
        self.set_interval(0.5, self._tick)
        self.redraw()

    def set_state(self, state: str) -> None:
        self._retry_until = None
        self.state = state
        self.redraw()

    def set_retry(self, delay_ms: int, note: str) -> None:
        self._retry_until = time.monotonic() + delay_ms / 1000
        self._retry_note = note
        self.redraw()

    def set_usage(self, context_used: int, cost: float) -> None:
        self.context_used = context_used
        self.cost = cost
        self.redraw()

    def _tick(self) -> None:
        if self._retry_until is not None:
            self.redraw()

    def state_text(self) -> str:
        if self._retry_until is not None:
            left = max(0.0, self._retry_until - time.monotonic())
            return f"retrying in {left:.0f} s ({self._retry_note})"
        return self.state

    def redraw(self) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        if self.model is not None:
            line.append(self.model.ref, style="bold")
            window = self.model.input_limit  # gpt-5: 272k of its 400k window
            if window:
                pct = 100 * self.context_used / window
                line.append(f"  ctx {pct:.0f}% ({tokens(self.context_used)}/{tokens(window)})")
            else:
                line.append(f"  ctx {tokens(self.context_used)}")
        line.append(f"  {usd(self.cost)}")
        line.append(f"  {self.mode}")
        state = self.state_text()
        busy = state != "ready"
        line.append("  ● " if busy else "  ", style="yellow" if busy else "")
        line.append(state, style="yellow" if busy else "green")
        self.update(line)
