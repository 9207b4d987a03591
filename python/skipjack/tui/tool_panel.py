"""A tool call as a compact panel: what runs, its live output, a diff, or an error in red.

Compact by default (a header line and a few lines of output); Enter or a click expands it
to the whole output.
"""

from __future__ import annotations

import re
import time
from typing import Any, ClassVar

from rich.console import Group, RenderableType
from rich.syntax import Syntax
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.events import Click
from textual.timer import Timer
from textual.widgets import Static

from skipjack.terminal_text import TerminalText, sanitize, strip_sgr
from skipjack.tui.formatting import count_lines, plural, tool_key_arg
from skipjack.tui.messages import FLUSH_S
from skipjack.tui.screen_rows import head_rows, tail_rows

_FOOTER = re.compile(r"^\[(exit code -?\d+|killed by \w+|timed out after .*) · [\d.]+ s\]$")
MAX_KEPT_LINES = 2_000
"""Lines of live output held for the expanded view (the full output is in the tool's file)."""
COMPACT_LINES = 4
EXPANDED_LINES = 400
"""Screen rows (not lines: one long line wraps to many) a compact / expanded body shows."""
INTERRUPTED = "[interrupted]"


class ToolPanel(Vertical, can_focus=True):
    DEFAULT_CSS = """
    ToolPanel { height: auto; padding: 0 1; margin: 0; }
    ToolPanel:focus { background: $boost; }
    ToolPanel > .tool-header { height: 1; }
    ToolPanel > .tool-body { height: auto; padding: 0 0 0 2; color: $text-muted; }
    ToolPanel.-error > .tool-body { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "toggle_panel", "expand", show=False)]

    def __init__(self, tool_call_id: str, name: str, arguments: dict[str, Any] | str) -> None:
        super().__init__()
        self.tool_call_id = tool_call_id
        self.tool_name = name
        self.label = name
        self.arguments = arguments
        self.key_arg = tool_key_arg(name, arguments)
        self._term = TerminalText(max_lines=MAX_KEPT_LINES)
        """The output as a terminal would show it, minus anything that drives the terminal."""
        self.diff: str | None = None
        self.status: str = "running"
        self.is_error = False
        self.expanded = False
        self.meta = ""
        self._started = time.monotonic()
        self._timer: Timer | None = None
        self._body_lines: int | None = None
        self.header = Static("", classes="tool-header")
        self.body = Static("", classes="tool-body")

    def compose(self) -> Any:
        yield self.header
        yield self.body

    def on_mount(self) -> None:
        self.refresh_panel()

    # -- updates from the agent --------------------------------------------------------

    @property
    def output(self) -> str:
        """What the body shows (all of it, not only the compact tail), as plain text."""
        return _plain(self._term.text())

    def append_output(self, chunk: str) -> None:
        self._term.feed(chunk)
        if self._timer is None:
            self._timer = self.set_timer(FLUSH_S, self._timed_refresh)

    def _timed_refresh(self) -> None:
        self._timer = None
        self.refresh_panel()

    def finish(self, text: str, *, is_error: bool, details: dict[str, Any] | None = None) -> None:
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        details = details or {}
        self.is_error = is_error
        self.set_class(is_error, "-error")
        diff = details.get("diff")
        self.diff = diff if isinstance(diff, str) and diff else None
        if text.startswith("denied"):
            self.status = "denied"
        elif text.startswith("aborted") or text.startswith("skipped"):
            self.status = "stopped"
        else:
            self.status = "error" if is_error else "done"
        if self.status == "stopped" and self._term.all_lines():
            # Stopped while running: what it printed stays, marked, instead of one line saying
            # it was aborted.
            self._term.finish()
            self._term.feed(("\n" if self._term.current else "") + INTERRUPTED)
        else:
            # The final text replaces the streamed chunks: it is what the model saw (cut and noted).
            self._term = TerminalText(max_lines=MAX_KEPT_LINES)
            self._term.feed(text)
            self._term.finish()
        self.meta = self._meta(details)
        self.refresh_panel()

    def _meta(self, details: dict[str, Any]) -> str:
        parts: list[str] = []
        if self.tool_name == "bash":
            code, sig = details.get("exit_code"), details.get("signal")
            if sig:
                parts.append(str(sig))
            elif code not in (None, 0):
                parts.append(f"exit {code}")
            if isinstance(details.get("duration_s"), int | float):
                parts.append(f"{details['duration_s']:.1f} s")
        elif self.tool_name == "task" and isinstance(details.get("cost"), int | float):
            # A subagent: what it was, how long it worked and what it cost (rolled into the total).
            parts += [str(details.get("agent", "")), f"{details.get('turns', 0)} turns", f"${details['cost']:.4f}"]
        if self.status == "stopped" and self.tool_name == "bash":
            parts.insert(0, "interrupted")
        elif self.diff is None and self.status == "done" and self.tool_name != "task":
            parts.append(self._handled(details))
        return " · ".join(parts)

    def _handled(self, details: dict[str, Any]) -> str:
        """How much the call handled: the file's lines for read and write (their output is a
        listing or one sentence, not the file), else the output's lines."""
        first, last, total = details.get("first_line"), details.get("last_line"), details.get("total_lines")
        if self.tool_name == "read" and isinstance(total, int):
            shown = last - first + 1 if isinstance(first, int) and isinstance(last, int) and total else total
            return plural(shown, "line") + (f" of {total}" if shown < total else "")
        if self.tool_name == "write" and isinstance(details.get("lines"), int):
            return plural(details["lines"], "line")
        output = self.output
        if self.tool_name == "bash":
            # `[exit code 0 · 1.2 s]` closes the output; the header says it already.
            head, _, last = output.rstrip("\r\n").rpartition("\n")
            if _FOOTER.match(last.strip()):
                output = head
        return plural(count_lines(output), "line")

    # -- rendering ---------------------------------------------------------------------

    def action_toggle_panel(self) -> None:
        self.expanded = not self.expanded
        self.refresh_panel()

    def on_click(self, event: Click) -> None:
        self.action_toggle_panel()

    def header_text(self) -> Text:
        icon, style = {
            "running": ("⋯", "yellow"),
            "done": ("✓", "green"),
            "error": ("✗", "red"),
            "denied": ("⊘", "red"),
            "stopped": ("■", "yellow"),
        }[self.status]
        line = Text(no_wrap=True, overflow="ellipsis")
        line.append(f"{icon} ", style=style)
        line.append(self.label, style="bold")
        if self.key_arg:
            line.append(f"  {' '.join(sanitize(self.key_arg).split())}")
        if self.meta:
            line.append(f"  · {self.meta}", style="dim")
        return line

    def body_renderable(self) -> RenderableType | None:
        limit = EXPANDED_LINES if self.expanded or self.tool_name == "todo" else COMPACT_LINES
        if self.diff is not None and not self.is_error:
            lines = sanitize(self.diff).splitlines()
            # The diff header lines repeat the path shown in the panel header.
            body = [ln for ln in lines if not ln.startswith(("--- ", "+++ "))]
            shown = body if self.expanded else body[: limit * 3]
            parts: list[RenderableType] = [Syntax("\n".join(shown), "diff", theme="ansi_dark", word_wrap=True)]
            if len(shown) < len(body):
                more = plural(len(body) - len(shown), "more line")
                parts.append(Text(f"… {more} (enter to expand)", style="dim"))
            return Group(*parts)
        show_output = self.status == "running" or self.is_error or self.expanded or self.tool_name in ("bash", "todo")
        lines = self._term.all_lines()
        while lines and not _plain(lines[-1]).strip():
            lines.pop()
        if not lines or not show_output:
            return None
        if self.tool_name == "bash" and self.status not in ("running", "stopped") and _FOOTER.match(_plain(lines[-1])):
            lines.pop()  # `[exit code 0 · 1.2 s]`: the header says it already
            if not lines:
                return None
        width = self._body_width()
        console = self.app.console
        if self.is_error and not self.expanded:
            rows, cut = head_rows(lines, limit, width, console)
            text = Text("\n").join(rows)
            if cut:
                text.append(f"\n… {plural(cut, 'more line')}", style="dim")
        else:
            rows, above = tail_rows(lines, limit, width, console)
            above += self._term.dropped
            text = Text()
            if above:
                text.append(f"… {plural(above, 'more line')} above\n", style="dim")
            text.append_text(Text("\n").join(rows))
        # Already cut to the body's width: the widget must not wrap it again.
        text.no_wrap = True
        text.overflow = "crop"
        return text

    def _body_width(self) -> int:
        width = self.body.content_region.width
        if width <= 0:
            # Not laid out yet: the chat's width less the panel's padding and the body's indent.
            width = self.app.size.width - 5
        return max(10, width)

    def on_resize(self) -> None:
        self.refresh_panel()

    def refresh_panel(self) -> None:
        self.header.update(self.header_text(), layout=False)
        body = self.body_renderable()
        self.body.display = body is not None
        # Live output in the compact view keeps its height once it has a few lines: repaint
        # only, so a chatty command does not re-lay out the whole chat on every update.
        lines = _line_count(body)
        same_height = lines is not None and lines == self._body_lines
        self._body_lines = lines
        self.body.update(body if body is not None else "", layout=not same_height)


def _line_count(body: RenderableType | None) -> int | None:
    """Rows of a plain-text body, cut to its width already (None when unknown: a diff)."""
    if not isinstance(body, Text) or not body.no_wrap:
        return None
    return body.plain.count("\n") + 1


def _plain(line: str) -> str:
    return strip_sgr(line)
