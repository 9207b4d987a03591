"""A loaded conversation drawn into the chat, the way it looked when it streamed."""

from __future__ import annotations

import re
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
from skipjack.tui.formatting import result_text

REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>\s*", re.DOTALL)


def shown_prompt(text: str) -> str:
    """A user message as the user wrote it: the controller's system reminders taken out."""
    return REMINDER.sub("", text).strip()


def render_messages(chat: ChatView, messages: Sequence[Message]) -> None:
    results = {m.tool_call_id: m for m in messages if isinstance(m, ToolResultMessage)}
    for message in messages:
        if isinstance(message, UserMessage):
            text = shown_prompt(text_of(message.content))
            if text:
                chat.add_user(text)
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
            # Details are not part of the model's history, but an edit's result text holds its diff.
            text = result_text(result)
            diff = diff_in(text) if not result.is_error else None
            panel.finish(text, is_error=result.is_error, details={"diff": diff} if diff else None)


def diff_in(text: str) -> str | None:
    """The unified diff an edit, write or apply_patch result carries (`--- a/` to a blank line)."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("--- a/")), None)
    if start is None or start + 1 >= len(lines) or not lines[start + 1].startswith("+++ b/"):
        return None
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return "\n".join(lines[start:end])
