"""Controller events as ACP `session/update`s: message and thought chunks, tool calls with
their status, diffs for edits and writes, plans from the todo tool, mode changes."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import acp
from acp import schema

from skipjack.agent.events import MessageUpdate, ToolExecutionEnd, ToolExecutionStart, ToolExecutionUpdate
from skipjack.controller import Event
from skipjack.controller.events import ApprovalModeChanged
from skipjack.llm.types import Message, ToolResultMessage
from skipjack.subagents import SubagentEvent
from skipjack.user_paths import expand_user

MAX_DIFF_FILE_BYTES = 1024 * 1024
"""A file larger than this is not sent whole as a diff's old/new text (the editor would choke)."""

TOOL_KINDS: dict[str, schema.ToolKind] = {
    "read": "read",
    "edit": "edit",
    "write": "edit",
    "bash": "execute",
    "grep": "search",
    "find": "search",
    "web_fetch": "fetch",
    "todo": "think",
}
_PLAN_STATUS: dict[str, schema.PlanEntryStatus] = {
    "pending": "pending",
    "in_progress": "in_progress",
    "done": "completed",
}


CHILD_LINES = 40
"""A subagent's last lines kept in its `task` call's content."""


def tool_title(name: str, arguments: dict[str, Any] | str) -> str:
    if isinstance(arguments, dict):
        for key in ("command", "path", "pattern", "url"):
            value = arguments.get(key)
            if isinstance(value, str) and value:
                line = value.splitlines()[0] if value.splitlines() else value
                return f"{name}: {line[:200]}"
    return name


def _locations(arguments: dict[str, Any] | str, cwd: Path) -> list[schema.ToolCallLocation] | None:
    if isinstance(arguments, dict) and isinstance(arguments.get("path"), str):
        return [schema.ToolCallLocation(path=str(resolve(arguments["path"], cwd)))]
    return None


def resolve(path: str, cwd: Path) -> Path:
    candidate = expand_user(path.strip())
    return candidate if candidate.is_absolute() else cwd / candidate


def read_small_text(path: Path) -> str | None:
    """The file's text for a diff, or None (missing, too large, not text)."""
    with contextlib.suppress(OSError, UnicodeDecodeError, ValueError):
        if path.is_file() and path.stat().st_size <= MAX_DIFF_FILE_BYTES:
            return path.read_text(encoding="utf-8")
    return None


def _result_text(result: ToolResultMessage | Message) -> str:
    content = getattr(result, "content", "")
    if isinstance(content, str):
        return content
    return "".join(getattr(block, "text", "") for block in content)


class UpdateMapper:
    """Turns one controller's events into ACP updates. It remembers, per running edit or
    write, the file's text before the call, so the finished call can carry a real diff."""

    def __init__(self, cwd: Path, changes: Callable[[Path], tuple[str | None, str] | None] | None = None) -> None:
        self.cwd = cwd
        self._changes = changes
        """Where edits went to the editor: the texts before and after, in place of the disk's."""
        self._before: dict[str, tuple[Path, str | None]] = {}
        self._child_lines: dict[str, list[str]] = {}
        self._running: set[str] = set()

    def updates(self, event: Event) -> list[Any]:
        if isinstance(event, SubagentEvent):
            return self._child(event)
        if isinstance(event, MessageUpdate):
            inner = event.event
            if inner.type == "text_delta":
                return [acp.update_agent_message_text(inner.delta)]
            if inner.type == "thinking_delta":
                return [acp.update_agent_thought_text(inner.delta)]
            return []
        if isinstance(event, ToolExecutionStart):
            return [self._start(event)]
        if isinstance(event, ToolExecutionUpdate):
            if event.tool_call_id in self._running:
                return [acp.update_tool_call(event.tool_call_id, content=[_text_content(event.chunk)])]
            self._running.add(event.tool_call_id)
            return [
                acp.update_tool_call(event.tool_call_id, status="in_progress", content=[_text_content(event.chunk)])
            ]
        if isinstance(event, ToolExecutionEnd):
            return self._end(event)
        if isinstance(event, ApprovalModeChanged):
            return [schema.CurrentModeUpdate(session_update="current_mode_update", current_mode_id=event.mode)]
        return []

    def _child(self, wrapped: SubagentEvent) -> list[Any]:
        """A subagent's tool activity as lines in its `task` call's content (a child's text
        stays out of the conversation: only the parent answers the user)."""
        inner = wrapped.event
        pad = "  " * (wrapped.depth - 1)
        if isinstance(inner, ToolExecutionStart):
            line = f"{pad}{wrapped.agent}: → {tool_title(inner.tool_name, inner.arguments)}"
        elif isinstance(inner, ToolExecutionEnd) and inner.is_error:
            line = f"{pad}{wrapped.agent}: ✗ {inner.tool_name}"
        else:
            return []
        task_id = wrapped.top_task_call_id or wrapped.task_call_id
        lines = self._child_lines.setdefault(task_id, [])
        lines.append(line)
        return [acp.update_tool_call(task_id, content=[_text_content("\n".join(lines[-CHILD_LINES:]))])]

    def running(self, tool_call_id: str) -> Any:
        """The update for a call that was allowed and now runs."""
        self._running.add(tool_call_id)
        return acp.update_tool_call(tool_call_id, status="in_progress")

    def _start(self, event: ToolExecutionStart) -> Any:
        args = event.arguments
        if event.tool_name in ("edit", "write") and isinstance(args, dict) and isinstance(args.get("path"), str):
            path = resolve(args["path"], self.cwd)
            self._before[event.tool_call_id] = (path, read_small_text(path))
        return acp.start_tool_call(
            event.tool_call_id,
            tool_title(event.tool_name, args),
            kind=TOOL_KINDS.get(event.tool_name, "other"),
            status="pending",
            locations=_locations(args, self.cwd),
            raw_input=args,
        )

    def _end(self, event: ToolExecutionEnd) -> list[Any]:
        self._running.discard(event.tool_call_id)
        before = self._before.pop(event.tool_call_id, None)
        content: list[Any] = []
        details = event.details or {}
        if before is not None and not event.is_error:
            path = Path(details["path"]) if isinstance(details.get("path"), str) else before[0]
            sent = self._changes(path) if self._changes is not None else None
            if sent is not None:
                content.append(acp.tool_diff_content(str(path), sent[1], sent[0]))
            elif (after := read_small_text(path)) is not None:
                content.append(acp.tool_diff_content(str(path), after, before[1]))
        text = _result_text(event.result)
        if text:
            content.append(_text_content(text))
        out: list[Any] = [
            acp.update_tool_call(
                event.tool_call_id,
                status="failed" if event.is_error else "completed",
                content=content,
                raw_output=text,
            )
        ]
        todos = details.get("todos") if event.tool_name == "todo" and not event.is_error else None
        if isinstance(todos, list):
            out.append(
                acp.update_plan(
                    acp.plan_entry(
                        str(item.get("content", "")), status=_PLAN_STATUS.get(item.get("status", ""), "pending")
                    )
                    for item in todos
                    if isinstance(item, dict)
                )
            )
        return out


def _text_content(text: str) -> schema.ContentToolCallContent:
    return acp.tool_content(acp.text_block(text))


def history_updates(messages: list[Message]) -> list[Any]:
    """A loaded session's conversation, replayed as the updates that would have streamed."""
    from skipjack.llm.types import AssistantMessage, TextContent, ThinkingContent, ToolCall, UserMessage

    out: list[Any] = []
    for message in messages:
        if isinstance(message, UserMessage):
            text = _result_text(message)
            if text:
                out.append(acp.update_user_message_text(text))
        elif isinstance(message, AssistantMessage):
            for block in message.content:
                if isinstance(block, ToolCall):
                    out.append(
                        acp.start_tool_call(
                            block.id,
                            tool_title(block.name, block.arguments),
                            kind=TOOL_KINDS.get(block.name, "other"),
                            status="pending",
                            raw_input=block.arguments,
                        )
                    )
                elif isinstance(block, TextContent) and block.text:
                    out.append(acp.update_agent_message_text(block.text))
                elif isinstance(block, ThinkingContent) and block.thinking:
                    out.append(acp.update_agent_thought_text(block.thinking))
        elif isinstance(message, ToolResultMessage):
            text = _result_text(message)
            out.append(
                acp.update_tool_call(
                    message.tool_call_id,
                    status="failed" if message.is_error else "completed",
                    content=[_text_content(text)] if text else None,
                    raw_output=text,
                )
            )
    return out
