"""The status line: model, context used, session cost, and what the agent is doing.

While a run is busy the line shows signs of life: how long the run has taken, about how many
tokens the model has sent, "esc to interrupt", and, once the model's stream has been silent
for `STALL_S`, "no data for N s": a hung server is told apart from a slow model that streams.
"""

from __future__ import annotations

import time

from rich.text import Text
from textual.widgets import Static

from skipjack.config.schema import ApprovalMode
from skipjack.llm.types import Model
from skipjack.tui.formatting import tokens, usd

STALL_S = 5.0
"""Seconds without a byte of the model's reply before the line says so."""
CHARS_PER_TOKEN = 4
"""The usual estimate while streaming; the real count arrives with the reply's usage."""


SHOW_ELAPSED_AFTER_S = 3.0
"""A run's elapsed time shows once it is this old."""


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
        self.unpriced = 0
        """Requests whose cost is unknown (no price for their model): shown as `?`, never $0."""
        self.mode: ApprovalMode = "ask"
        self.state = "ready"
        self._retry_until: float | None = None
        self._retry_note = ""
        self._busy_since: float | None = None
        self._waiting_since: float | None = None
        """When the model's stream last sent something (None: not waiting on the model)."""
        self._received_chars = 0
        self._received_tokens = 0
        """Tokens of the run's finished replies (their usage) …"""

    @property
    def received_tokens(self) -> int:
        """… plus an estimate for the reply streaming now."""
        return self._received_tokens + self._received_chars // CHARS_PER_TOKEN

    def on_mount(self) -> None:
        # Elapsed time, the stall timer and a retry countdown change with time; everything
        # else re-renders on change.
        self.set_interval(0.5, self._tick)
        self.redraw()

    def set_state(self, state: str) -> None:
        self._retry_until = None
        self.state = state
        if state == "ready":
            self._busy_since = self._waiting_since = None
            self._received_chars = self._received_tokens = 0
        elif self._busy_since is None:
            self._busy_since = time.monotonic()
        self.redraw()

    # -- the model's stream --------------------------------------------------------------

    def request_started(self) -> None:
        """A model request went out: its silence is counted from now."""
        self._waiting_since = time.monotonic()

    def data_received(self, chars: int) -> None:
        """A piece of the reply arrived (text, thinking or a tool call's arguments)."""
        was_stalled = self.stalled_for() is not None
        self._waiting_since = time.monotonic()
        self._received_chars += chars
        if was_stalled:
            self.redraw()

    def reply_ended(self, output_tokens: int) -> None:
        """The reply is complete: the estimate gives way to its real count."""
        self._waiting_since = None
        self._received_tokens += output_tokens or self._received_chars // CHARS_PER_TOKEN
        self._received_chars = 0

    def stalled_for(self) -> float | None:
        if self._waiting_since is None:
            return None
        silent = time.monotonic() - self._waiting_since
        return silent if silent >= STALL_S else None

    def set_retry(self, delay_ms: int, note: str) -> None:
        self._retry_until = time.monotonic() + delay_ms / 1000
        self._retry_note = note
        self.redraw()

    def set_usage(self, context_used: int, cost: float, unpriced: int = 0) -> None:
        self.context_used = context_used
        self.cost = cost
        self.unpriced = unpriced
        self.redraw()

    def _tick(self) -> None:
        if self._retry_until is not None or self._busy_since is not None:
            self.redraw()

    def state_text(self) -> str:
        if self._retry_until is not None:
            left = max(0.0, self._retry_until - time.monotonic())
            return f"retrying in {left:.0f} s ({self._retry_note})"
        return self.state

    def activity(self) -> Text:
        """The busy run's signs of life: `12 s · ↓ 1.2k tokens · no data for 7 s · esc to interrupt`."""
        line = Text()
        if self._busy_since is None:
            return line
        parts: list[str] = []
        elapsed = time.monotonic() - self._busy_since
        if elapsed >= SHOW_ELAPSED_AFTER_S:  # the first seconds say nothing (and would only flicker)
            parts.append(f"{elapsed:.0f} s")
        if self.received_tokens:
            parts.append(f"↓ {tokens(self.received_tokens)} tokens")
        if parts:
            line.append(" " + " · ".join(parts))
        stalled = self.stalled_for()
        if stalled is not None and self._retry_until is None:
            line.append(f" · no data for {stalled:.0f} s", style="bold red")
        line.append(" · esc to interrupt", style="dim")
        return line

    def redraw(self) -> None:
        line = Text(no_wrap=True, overflow="ellipsis")
        state = self.state_text()
        busy = state != "ready"
        if busy:
            # What the run is doing comes first: the part a narrow terminal must not cut.
            line.append("● ", style="yellow")
            line.append(state, style="yellow")
            line.append_text(self.activity())
            line.append("  ")
        if self.model is not None:
            line.append(self.model.ref, style="bold")
            window = self.model.input_limit  # gpt-5: 272k of its 400k window
            if window:
                pct = 100 * self.context_used / window
                line.append(f"  ctx {pct:.0f}% ({tokens(self.context_used)}/{tokens(window)})")
            else:
                line.append(f"  ctx {tokens(self.context_used)}")
        if self.unpriced and not self.cost:
            line.append("  $?")
        else:
            line.append(f"  {usd(self.cost)}" + ("+?" if self.unpriced else ""))
        line.append(f"  {self.mode}")
        if not busy:
            line.append("  ")
            line.append(state, style="green")
        # One row whatever it says: repaint only, never a layout of the whole screen.
        self.update(line, layout=False)
