"""A loaded conversation drawn into the chat, the way it looked when it streamed."""

from __future__ import annotations

from collections.abc import Sequence

from skipjack.llm.types import (
    AssistantMessage,
    Message,
    TextContent,
    ThinkingContent,
    ToolCall,
    ToolResultMessage,
    UserMessage,
    text_of,
)
from skipjack.tui.chat import ChatView
from skipjack.tui.earlier import RESUME_EXCHANGES, EarlierMessages, exchange_start
from skipjack.tui.formatting import result_text


def render_messages(chat: ChatView, messages: Sequence[Message]) -> None:
    """The last exchanges of `messages`; the earlier ones behind a marker that pages them in."""
    start = exchange_start(messages, RESUME_EXCHANGES)
    if start:
        marker = EarlierMessages(messages, start, lambda page, everything: _page_in(chat, marker, page, everything))
        chat.add(marker)
    _render(chat, messages[start:], messages)


def _page_in(chat: ChatView, marker: EarlierMessages, page: Sequence[Message], everything: Sequence[Message]) -> None:
    after = (
        chat.children[chat.children.index(marker) + 1] if chat.children.index(marker) + 1 < len(chat.children) else None
    )
    with chat.inserting_before(after):
        _render(chat, page, everything)


def _render(chat: ChatView, messages: Sequence[Message], everything: Sequence[Message]) -> None:
    results = {m.tool_call_id: m for m in everything if isinstance(m, ToolResultMessage)}
    for message in messages:
        if isinstance(message, UserMessage):
            chat.add_user(text_of(message.content))
        elif isinstance(message, AssistantMessage):
            _assistant(chat, message, results)


def _assistant(chat: ChatView, message: AssistantMessage, results: dict[str, ToolResultMessage]) -> None:
    block = chat.add_assistant()
    calls: list[ToolCall] = []
    for i, part in enumerate(message.content):
        if isinstance(part, TextContent):
            block.text_delta(i, part.text)
        elif isinstance(part, ThinkingContent) and part.thinking:
            block.thinking_end(i, part.thinking)
        elif isinstance(part, ToolCall):
            calls.append(part)
    block.finish()
    for call in calls:
        panel = chat.add_tool(call.id, call.name, call.arguments)
        result = results.get(call.id)
        if result is None:
            panel.finish("(no result recorded)", is_error=True)
        else:
            # Details (diffs) are not part of the model's history; the result text is.
            panel.finish(result_text(result), is_error=result.is_error)
