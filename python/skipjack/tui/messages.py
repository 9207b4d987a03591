"""The chat's message widgets: the user's turns, the assistant's streamed reply, notices.

Streamed text is never rendered per delta: deltas collect in a buffer that is flushed at
most every `FLUSH_S` (longer when renders get slow), so a fast model (hundreds of deltas a
second) costs a handful of re-renders a second and the screen never flickers.
"""

from __future__ import annotations

import time
from typing import Literal

from rich.markdown import Markdown as RichMarkdown
from rich.text import Text
from textual.containers import Vertical
from textual.selection import Selection
from textual.timer import Timer
from textual.widgets import Collapsible, Static

FLUSH_S = 0.05
MAX_FLUSH_S = 0.5
CODE_THEME = "monokai"
FLUSH_COST_FACTOR = 3.0
"""A render that took `c` seconds (append, layout, paint) waits `3c` before the next: a chat
long enough to be slow to lay out gets fewer, larger updates instead of a saturated CPU."""
THINKING_TAIL = 2_000
"""Characters of thinking kept on screen while it streams (the full text stays in the session)."""


class UserBubble(Static):
    DEFAULT_CSS = """
    UserBubble {
        margin: 1 0 0 0;
        padding: 0 1;
        background: $boost;
        color: $text;
    }
    UserBubble.pending {
        color: $text-muted;
        background: $surface;
        text-style: italic;
    }
    """

    def __init__(self, text: str, *, pending: bool = False) -> None:
        self.text = text
        super().__init__(self._label(pending), classes="pending" if pending else "", markup=False)

    def _label(self, pending: bool) -> str:
        return f"⏳ queued: {self.text}" if pending else f"› {self.text}"  # noqa: RUF001

    def deliver(self) -> None:
        self.remove_class("pending")
        self.update(self._label(False))


NoticeKind = Literal["info", "warning", "error"]


class Notice(Static):
    DEFAULT_CSS = """
    Notice { padding: 0 1; color: $text-muted; }
    Notice.warning { color: $warning; }
    Notice.error { color: $error; }
    """

    def __init__(self, text: str, kind: NoticeKind = "info") -> None:
        super().__init__(text, classes=kind, markup=False)


class StreamingMarkdown(Static):
    """Markdown fed in pieces, re-rendered from the whole text at most every FLUSH_S.

    One widget per text block, drawn by Rich's markdown renderer (code highlighted by
    Pygments), rather than Textual's `Markdown` widget: that one mounts a widget per
    paragraph, list item and fence, and Textual lays out every widget of the screen on each
    update, so a long session (thousands of widgets) made each streamed update cost tens of
    milliseconds and more. Here the cost of an update is one parse of this message.
    """

    DEFAULT_CSS = """
    StreamingMarkdown { padding: 0 1; height: auto; }
    """

    def __init__(self) -> None:
        super().__init__("")
        self.source = ""
        """The text rendered so far."""
        self._pending: list[str] = []
        self._timer: Timer | None = None
        self._interval = FLUSH_S
        self.flushes = 0
        """How many renders the stream took (tests check batching with it)."""

    @property
    def text(self) -> str:
        """Everything fed so far, rendered or not."""
        return self.source + "".join(self._pending)

    def feed(self, piece: str) -> None:
        if not piece:
            return
        self._pending.append(piece)
        if self._timer is None:
            self._timer = self.set_timer(self._interval, self._flush)

    def finish(self) -> None:
        """Render what is left now."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._pending:
            self._flush()

    def _flush(self) -> None:
        self._timer = None
        if not self._pending:
            return
        started = time.monotonic()
        self.source += "".join(self._pending)
        self._pending.clear()
        self.update(render_markdown(self.source))
        self.flushes += 1
        self.call_after_refresh(self._rendered, started)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """A drag over the reply selects its markdown source (Textual cannot read text back
        out of a Rich renderable), so Ctrl+C copies what was written."""
        return selection.extract(self.text), "\n"

    def _rendered(self, started: float) -> None:
        cost = time.monotonic() - started
        self._interval = min(MAX_FLUSH_S, max(FLUSH_S, FLUSH_COST_FACTOR * cost))


def render_markdown(text: str) -> RichMarkdown:
    return RichMarkdown(text, code_theme=CODE_THEME, hyperlinks=False)


class ThinkingBlock(Collapsible):
    """The model's reasoning: dimmed, open while it streams, folded away once it ends."""

    DEFAULT_CSS = """
    ThinkingBlock {
        border-top: none;
        padding: 0 0 0 1;
        background: transparent;
        color: $text-muted;
    }
    ThinkingBlock Static { color: $text-muted; text-style: italic; max-height: 8; }
    """

    def __init__(self) -> None:
        self.body = Static("", markup=False)
        super().__init__(self.body, title="thinking…", collapsed=False)
        self.thinking = ""
        self._timer: Timer | None = None

    def feed(self, piece: str) -> None:
        self.thinking += piece
        if self._timer is None:
            self._timer = self.set_timer(FLUSH_S, self._render_body)

    def _render_body(self) -> None:
        self._timer = None
        self.body.update(self.thinking[-THINKING_TAIL:])

    def finish(self, full: str | None = None) -> None:
        if full is not None:
            self.thinking = full
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        self.body.update(self.thinking)
        self.title = f"thought ({len(self.thinking.split())} words)"
        self.collapsed = True


class AssistantBlock(Vertical):
    """One assistant message: its thinking and text blocks in stream order."""

    DEFAULT_CSS = """
    AssistantBlock { height: auto; margin: 1 0 0 0; }
    """

    def __init__(self) -> None:
        super().__init__()
        self._text: dict[int, StreamingMarkdown] = {}
        self._thinking: dict[int, ThinkingBlock] = {}

    def _markdown(self, index: int) -> StreamingMarkdown:
        md = self._text.get(index)
        if md is None:
            md = self._text[index] = StreamingMarkdown()
            self.mount(md)
        return md

    def _thinking_block(self, index: int) -> ThinkingBlock:
        block = self._thinking.get(index)
        if block is None:
            block = self._thinking[index] = ThinkingBlock()
            self.mount(block)
        return block

    def text_delta(self, index: int, delta: str) -> None:
        self._markdown(index).feed(delta)

    def text_end(self, index: int) -> None:
        self._markdown(index).finish()

    def thinking_delta(self, index: int, delta: str) -> None:
        self._thinking_block(index).feed(delta)

    def thinking_end(self, index: int, full: str) -> None:
        self._thinking_block(index).finish(full)

    def finish(self) -> None:
        for md in self._text.values():
            md.finish()
        for block in self._thinking.values():
            if not block.collapsed:
                block.finish()

    @property
    def text(self) -> str:
        return "".join(md.text for _, md in sorted(self._text.items()))

    @property
    def thinking(self) -> str:
        return "".join(b.thinking for _, b in sorted(self._thinking.items()))


def static_text(widget: Static) -> str:
    """What a Static shows, as plain text (for tests)."""
    content = widget.content
    if isinstance(content, Text):
        return content.plain
    return content if isinstance(content, str) else str(content)
