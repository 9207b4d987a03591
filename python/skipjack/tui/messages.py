"""The chat's message widgets: the user's turns, the assistant's streamed reply, notices.

Streamed text is never rendered per delta: deltas collect in a buffer that is flushed at
most every `FLUSH_S` (longer when renders get slow), so a fast model (hundreds of deltas a
second) costs a handful of re-renders a second and the screen never flickers.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import Any, ClassVar, Literal

from markdown_it import MarkdownIt
from rich.console import Console, ConsoleOptions, JustifyMethod, RenderableType, RenderResult
from rich.markdown import CodeBlock, Heading, MarkdownElement
from rich.markdown import Markdown as RichMarkdown
from rich.segment import Segment
from rich.syntax import Syntax
from rich.text import Text
from textual.containers import Vertical
from textual.selection import Selection
from textual.timer import Timer
from textual.widgets import Collapsible, Static

FLUSH_S = 0.05
MAX_FLUSH_S = 0.5
CODE_THEME = "monokai"
FLUSH_COST_FACTOR = 3.0
"""A render that took `c` CPU seconds (append, layout, paint) waits `3c` before the next: a
chat long enough to be slow to lay out gets fewer, larger updates instead of a saturated CPU
(rendering stays under a third of a core)."""
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


class StreamingMarkdown(Vertical):
    """Markdown fed in pieces: finished blocks rendered once, the growing tail re-rendered.

    Drawn by Rich's markdown renderer (code highlighted by Pygments) rather than Textual's
    `Markdown` widget, which mounts a widget per paragraph, list item and fence: in a long
    session (thousands of widgets) each streamed update cost tens of milliseconds and more.
    Re-rendering the whole message on each update made a long answer choppy instead (every
    650-850 ms late in a 17k-character answer), so once the text before the last top-level
    block is finished and at least `FREEZE_CHARS` long it moves into a `Static` of its own,
    rendered once, and each update parses and renders only the tail after it.
    """

    DEFAULT_CSS = """
    StreamingMarkdown { padding: 0 1; height: auto; }
    StreamingMarkdown > Static { height: auto; }
    StreamingMarkdown > .frozen { margin: 0 0 1 0; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.source = ""
        """The text rendered so far."""
        self._frozen = 0
        """Characters of `source` in frozen (rendered-once) blocks."""
        self._tail = Static("")
        self._reserved = 0
        """Rows the tail holds while it streams (0: its own height)."""
        self._first_asked = False
        self._pending: list[str] = []
        self._timer: Timer | None = None
        self._interval = FLUSH_S
        self.flushes = 0
        """How many renders the stream took (tests check batching with it)."""

    def compose(self) -> Any:
        yield self._tail

    @property
    def text(self) -> str:
        """Everything fed so far, rendered or not."""
        return self.source + "".join(self._pending)

    @property
    def tail_source(self) -> str:
        """The part of the text that is re-rendered on each update."""
        return self.source[self._frozen :]

    def feed(self, piece: str) -> None:
        if not piece:
            return
        self._pending.append(piece)
        if not self.source and not self._first_asked:
            # The first words show at once (Enter → first visible token); later ones batch.
            self._first_asked = True
            self.call_later(self._flush, from_timer=False)
        elif self._timer is None:
            self._timer = self.set_timer(self._interval, self._flush)

    def finish(self) -> None:
        """Render what is left now, at its own height."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        if self._pending:
            self._flush()
        if self._reserved:
            self._reserved = 0
            self._tail.styles.height = "auto"
            self._tail.update(render_markdown(self.tail_source))

    def _flush(self, from_timer: bool = True) -> None:
        if from_timer:
            self._timer = None
        if not self._pending:
            return
        started = time.thread_time()
        self.source += "".join(self._pending)
        self._pending.clear()
        tail = self.source[self._frozen :]
        cut = finished_prefix(tail) if len(tail) >= FREEZE_CHARS else 0
        # (Until it is composed, the tail is not a child to mount before: render it whole.)
        if cut >= FREEZE_CHARS and self._tail.parent is self:
            self.mount(Static(render_markdown(tail[:cut].rstrip("\n")), classes="frozen"), before=self._tail)
            self._frozen += cut
            tail = tail[cut:]
            self._reserved = 0
        self._show_tail(tail)
        self.flushes += 1
        self.call_after_refresh(self._rendered, started)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """A drag over the reply selects its markdown source (Textual cannot read text back
        out of a Rich renderable), so Ctrl+C copies what was written."""
        return selection.extract(self.text), "\n"

    def _show_tail(self, tail: str) -> None:
        """Render the tail once, at the width it will be shown at, into rows reserved in steps
        of `RESERVE_ROWS`: an update that stays within them repaints this widget alone instead
        of laying out the whole chat (that layout, not the markdown, was most of an update's
        cost with a long history on screen)."""
        width = self._tail.content_region.width
        if width <= 0 or not self.is_mounted:
            self._tail.update(render_markdown(tail))
            return
        rendered = Prerendered(render_markdown(tail), self.app.console, width)
        rows = len(rendered.lines)
        if rows <= self._reserved:
            self._tail.update(rendered, layout=False)
            return
        self._reserved = rows + RESERVE_ROWS
        self._tail.styles.height = self._reserved
        self._tail.update(rendered)

    def _rendered(self, started: float) -> None:
        # CPU time of the UI thread, not wall time: on a loaded machine waiting for a core is
        # not a cost of rendering, and backing off for it made updates rarer than needed.
        cost = time.thread_time() - started
        self._interval = min(MAX_FLUSH_S, max(FLUSH_S, FLUSH_COST_FACTOR * cost))


class Prerendered:
    """A renderable drawn once at a width: replayed as is at that width, redrawn at another."""

    def __init__(self, renderable: RenderableType, console: Console, width: int) -> None:
        self.renderable = renderable
        self.width = width
        self.lines = console.render_lines(renderable, console.options.update(width=width, height=None), pad=False)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width != self.width:
            yield self.renderable
            return
        newline = Segment.line()
        for line in self.lines:
            yield from line
            yield newline


RESERVE_ROWS = 6
"""Rows a streaming tail reserves ahead of its text (the whole chat is laid out once per
this many new rows rather than on every one)."""
FREEZE_CHARS = 1_500
"""Finished text is frozen in pieces at least this long: few seams, a short tail."""
_BLOCK_PARSER = MarkdownIt().enable("strikethrough").enable("table")
"""As Rich's markdown renderer parses (so blocks split where its rendering splits them)."""


def finished_prefix(text: str) -> int:
    """How many characters at the start of `text` are whole top-level markdown blocks that
    nothing appended later can change: everything before the last top-level block once that
    block's first line is complete, else everything before the one above it (until its first
    line is whole, `2` after a list could still become `2.` and join the list)."""
    starts = [t.map[0] for t in _BLOCK_PARSER.parse(text) if t.level == 0 and t.map is not None and t.nesting >= 0]
    lines = text.splitlines(keepends=True)
    if starts and (starts[-1] >= len(lines) or not lines[starts[-1]].endswith("\n")):
        starts.pop()
    if len(starts) < 2:
        return 0
    return sum(len(line) for line in lines[: starts[-1]])


class _LeftHeading(Heading):
    """Headings flush left: Rich centres `#` headings, which reads as a banner in a chat."""

    LEVEL_ALIGN: ClassVar[dict[str, JustifyMethod]] = {}


CODE_CACHE_SIZE = 256
"""Highlighted code blocks kept (a few screens' worth of a long answer)."""
_code_lines: OrderedDict[tuple[str, str, str, int], list[list[Segment]]] = OrderedDict()


class _CachedCodeBlock(CodeBlock):
    """A code block highlighted once per width: the streaming tail is re-rendered several
    times a second, and re-running Pygments over its finished fences was the largest single
    cost of an update (a sixth of the UI's CPU in a long markdown answer)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        code = str(self.text).rstrip()
        key = (code, self.lexer_name, self.theme, options.max_width)
        lines = _code_lines.get(key)
        if lines is None:
            syntax = Syntax(code, self.lexer_name, theme=self.theme, word_wrap=True, padding=1)
            lines = console.render_lines(syntax, options.update(height=None), pad=False)
            _code_lines[key] = lines
            if len(_code_lines) > CODE_CACHE_SIZE:
                _code_lines.popitem(last=False)
        else:
            _code_lines.move_to_end(key)
        newline = Segment.line()
        for line in lines:
            yield from line
            yield newline


class _ChatMarkdown(RichMarkdown):
    elements: ClassVar[dict[str, type[MarkdownElement]]] = {
        **RichMarkdown.elements,
        "heading_open": _LeftHeading,
        "fence": _CachedCodeBlock,
        "code_block": _CachedCodeBlock,
    }


def render_markdown(text: str) -> RichMarkdown:
    return _ChatMarkdown(text, code_theme=CODE_THEME, hyperlinks=False)


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
