"""The chat: a scrolling column of messages, tool panels and notices, kept at the bottom
while new content arrives unless the user scrolled up."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from weakref import WeakSet

from textual.containers import VerticalScroll
from textual.widget import Widget

from skipjack.tui.earlier import LIVE_DROP, LIVE_MAX_EXCHANGES, EarlierMessages
from skipjack.tui.messages import AssistantBlock, Notice, NoticeKind, UserBubble
from skipjack.tui.tool_panel import ToolPanel


class ChatView(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    ChatView { height: 1fr; padding: 0 0 1 0; scrollbar-size-vertical: 1; }
    """

    def __init__(self) -> None:
        super().__init__(id="chat")
        self.tool_panels: dict[str, ToolPanel] = {}
        self._before: Widget | None = None
        self._gone: WeakSet[Widget] = WeakSet()

    def on_mount(self) -> None:
        self.anchor()

    def _place(self, widget: Widget) -> None:
        if self._before is not None:
            self.mount(widget, before=self._before)
        else:
            self.mount(widget)

    @contextmanager
    def inserting_before(self, widget: Widget | None) -> Iterator[None]:
        """What is added meanwhile goes before `widget` (None: at the end), e.g. earlier
        messages paged back in."""
        self._before = widget
        try:
            yield
        finally:
            self._before = None

    def add(self, widget: Widget) -> Widget:
        self._place(widget)
        return widget

    def add_user(self, text: str) -> UserBubble:
        if self._before is None:
            self._keep_bounded()
        bubble = UserBubble(text)
        self._place(bubble)
        return bubble

    def add_assistant(self) -> AssistantBlock:
        block = AssistantBlock()
        self._place(block)
        return block

    def add_tool(self, tool_call_id: str, name: str, arguments: dict[str, object] | str) -> ToolPanel:
        panel = ToolPanel(tool_call_id, name, dict(arguments) if isinstance(arguments, dict) else arguments)
        self.tool_panels[tool_call_id] = panel
        self._place(panel)
        return panel

    def notice(self, text: str, kind: NoticeKind = "info") -> Notice:
        note = Notice(text, kind)
        self._place(note)
        return note

    def _keep_bounded(self) -> None:
        """A new exchange starts: past `LIVE_MAX_EXCHANGES`, the oldest `LIVE_DROP` go (see
        tui.earlier): a long session stays as fast to update and as small as a short one."""
        # Widgets being removed are still children until the removal is processed.
        children = [c for c in self.children if c not in self._gone]
        bubbles = [c for c in children if isinstance(c, UserBubble)]
        if len(bubbles) < LIVE_MAX_EXCHANGES:
            return
        keep_from = children.index(bubbles[LIVE_DROP])
        gone = [c for c in children[:keep_from] if not isinstance(c, EarlierMessages)]
        for panel in [c for c in gone if isinstance(c, ToolPanel)]:
            self.tool_panels.pop(panel.tool_call_id, None)
        marker = next((c for c in children if isinstance(c, EarlierMessages)), None)
        if marker is None:
            marker = EarlierMessages([], 0, lambda page, messages: None)
            self.mount(marker, before=children[0])
        marker.forget(LIVE_DROP)
        self._gone.update(gone)
        self.remove_children(gone)

    async def clear_all(self) -> None:
        self.tool_panels.clear()
        await self.remove_children()
