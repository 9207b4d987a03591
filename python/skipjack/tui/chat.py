"""The chat: a scrolling column of messages, tool panels and notices, kept at the bottom
while new content arrives unless the user scrolled up."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widget import Widget

from skipjack.tui.messages import AssistantBlock, Notice, NoticeKind, UserBubble
from skipjack.tui.tool_panel import ToolPanel


class ChatView(VerticalScroll, can_focus=False):
    DEFAULT_CSS = """
    ChatView { height: 1fr; padding: 0 0 1 0; scrollbar-size-vertical: 1; }
    """

    def __init__(self) -> None:
        super().__init__(id="chat")
        self.tool_panels: dict[str, ToolPanel] = {}

    def on_mount(self) -> None:
        self.anchor()

    def add(self, widget: Widget) -> Widget:
        self.mount(widget)
        return widget

    def add_user(self, text: str) -> UserBubble:
        bubble = UserBubble(text)
        self.mount(bubble)
        return bubble

    def add_assistant(self) -> AssistantBlock:
        block = AssistantBlock()
        self.mount(block)
        return block

    def add_tool(self, tool_call_id: str, name: str, arguments: dict[str, object] | str) -> ToolPanel:
        panel = ToolPanel(tool_call_id, name, dict(arguments) if isinstance(arguments, dict) else arguments)
        self.tool_panels[tool_call_id] = panel
        self.mount(panel)
        return panel

    def notice(self, text: str, kind: NoticeKind = "info") -> Notice:
        note = Notice(text, kind)
        self.mount(note)
        return note

    async def clear_all(self) -> None:
        self.tool_panels.clear()
        await self.remove_children()
