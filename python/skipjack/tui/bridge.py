"""Agent events → the chat, the tool panels and the status line.

The agent calls `AgentView.handle` synchronously from the app's own event loop (the run is
a task of the app), so widgets are updated directly; the widgets batch their own renders.
"""

from __future__ import annotations

from typing import Protocol

from skipjack.agent.events import (
    AgentEnd,
    AgentEvent,
    MessageEnd,
    MessageStart,
    MessageUpdate,
    ModelRetry,
    ToolExecutionEnd,
    ToolExecutionStart,
    ToolExecutionUpdate,
    TurnStart,
)
from skipjack.controller.events import HookFailed
from skipjack.llm.events import (
    TextDelta,
    TextEnd,
    ThinkingDelta,
    ThinkingEnd,
    ThinkingStart,
    ToolCallStart,
)
from skipjack.llm.types import AssistantMessage, UserMessage
from skipjack.subagents import SubagentEvent
from skipjack.tui.chat import ChatView
from skipjack.tui.formatting import context_tokens, one_line, result_text, tool_key_arg
from skipjack.tui.messages import AssistantBlock, Notice
from skipjack.tui.status import StatusLine

LIMIT_NOTES = {
    "max_turns": "stopped: the turn limit was reached",
    "max_cost": "stopped: the cost limit was reached",
    "max_tokens": "stopped: the token limit was reached",
}


class ChatHost(Protocol):
    """Enough for `AgentView` to render agent events."""

    @property
    def chat(self) -> ChatView: ...
    @property
    def status(self) -> StatusLine: ...
    def delivered(self, text: str) -> None: ...
    def refresh_usage(self) -> None: ...
    def auth_hint(self) -> str:
        """For a rejected key: which variable or config key to set."""
        ...


class AgentView:
    def __init__(self, app: ChatHost) -> None:
        self.app = app
        self.block: AssistantBlock | None = None
        self.running_tools: dict[str, str] = {}
        """tool call id → its status text, for the status line."""
        self.last_context = 0
        self.retry_notice: Notice | None = None

    def handle(self, event: AgentEvent | SubagentEvent | HookFailed) -> None:
        app = self.app
        status = app.status
        chat = app.chat
        if isinstance(event, MessageUpdate):
            self._content(event)
            piece = getattr(event.event, "delta", None)
            if isinstance(piece, str):
                status.data_received(len(piece))
        elif isinstance(event, ToolExecutionUpdate):
            panel = chat.tool_panels.get(event.tool_call_id)
            if panel is not None:
                panel.append_output(event.chunk)
        elif isinstance(event, TurnStart):
            status.set_state("thinking…")
            self.retry_notice = None
            status.request_started()
        elif isinstance(event, MessageStart):
            if event.role == "assistant":
                self.block = chat.add_assistant()
        elif isinstance(event, MessageEnd):
            self._message_end(event)
        elif isinstance(event, ToolExecutionStart):
            chat.add_tool(event.tool_call_id, event.tool_name, event.arguments)
            key = one_line(tool_key_arg(event.tool_name, event.arguments), 40)
            label = f"running `{key}`" if event.tool_name == "bash" else f"{event.tool_name} {key}".strip()
            self.running_tools[event.tool_call_id] = label
            status.set_state(label)
        elif isinstance(event, ToolExecutionEnd):
            panel = chat.tool_panels.get(event.tool_call_id)
            if panel is not None:
                panel.finish(result_text(event.result), is_error=event.is_error, details=event.details)
            self.running_tools.pop(event.tool_call_id, None)
            status.set_state(next(iter(self.running_tools.values()), "thinking…"))
        elif isinstance(event, ModelRetry):
            status.set_retry(event.delay_ms, event.error_kind)
            status.request_started()
            text = (
                f"model request failed ({event.error_kind}: {one_line(event.error_message, 80)}); "
                f"retrying in {event.delay_ms / 1000:.0f} s"
            )
            # One notice per failing request, updated in place: retries must not pile up.
            if self.retry_notice is not None and self.retry_notice.is_attached:
                self.retry_notice.update(f"{text} (retry {event.attempt})")
            else:
                self.retry_notice = chat.notice(text, "warning")
        elif isinstance(event, AgentEnd):
            self._agent_end(event)
        elif isinstance(event, SubagentEvent):
            self._subagent(event)
        elif isinstance(event, HookFailed):
            chat.notice(f"hook failed ({event.event}: {one_line(event.command, 60)}): {event.message}", "warning")

    def _subagent(self, wrapped: SubagentEvent) -> None:
        """A child's activity as lines in its `task` call's panel (collapsible like any tool
        panel), ending with its cost; the status line names what it is doing."""
        panel = self.app.chat.tool_panels.get(wrapped.top_task_call_id or wrapped.task_call_id)
        event, pad = wrapped.event, "  " * (wrapped.depth - 1)
        line = ""
        if isinstance(event, ToolExecutionStart):
            key = one_line(tool_key_arg(event.tool_name, event.arguments), 60)
            line = f"{pad}→ {event.tool_name} {key}".rstrip()
            self.app.status.set_state(f"{wrapped.agent}: {event.tool_name} {one_line(key, 30)}".rstrip())
        elif isinstance(event, ToolExecutionEnd) and event.is_error:
            line = f"{pad}✗ {event.tool_name}: {one_line(result_text(event.result), 80)}"
        elif isinstance(event, AgentEnd):
            line = f"{pad}[{wrapped.agent}: {event.stop_reason} · {event.turns} turns · ${event.usage.cost.total:.4f}]"
            self.app.refresh_usage()
        if line and panel is not None:
            panel.append_output(line + "\n")

    def _content(self, update: MessageUpdate) -> None:
        block = self.block
        ev = update.event
        if block is None:
            block = self.block = self.app.chat.add_assistant()
        if isinstance(ev, TextDelta):
            if self.app.status.state != "writing…":
                self.app.status.set_state("writing…")
            block.text_delta(ev.index, ev.delta)
        elif isinstance(ev, TextEnd):
            block.text_end(ev.index)
        elif isinstance(ev, ThinkingStart):
            self.app.status.set_state("thinking…")
        elif isinstance(ev, ThinkingDelta):
            block.thinking_delta(ev.index, ev.delta)
        elif isinstance(ev, ThinkingEnd) and ev.thinking:
            # A block with a signature and no text (Gemini's signature carrier) shows nothing,
            # as in a resumed session's history.
            block.thinking_end(ev.index, ev.thinking)
        elif isinstance(ev, ToolCallStart):
            self.app.status.set_state(f"preparing {ev.name}…")

    def _message_end(self, event: MessageEnd) -> None:
        message = event.message
        if isinstance(message, UserMessage):
            text = message.content if isinstance(message.content, str) else ""
            self.app.delivered(text)
            return
        if not isinstance(message, AssistantMessage):
            return
        if self.block is not None:
            self.block.finish()
            self.block = None
        self.app.status.reply_ended(message.usage.output)
        if message.usage.total_tokens:
            self.last_context = context_tokens(message.usage)
        # A failed message ends the run; `agent_end` reports it once.
        self.app.refresh_usage()

    def _agent_end(self, event: AgentEnd) -> None:
        self.running_tools.clear()
        if self.block is not None:
            self.block.finish()
            self.block = None
        self.app.status.set_state("ready")
        if event.stop_reason == "aborted":
            self.app.chat.notice("aborted: the model request and any running tools were stopped", "warning")
        elif event.stop_reason == "error":
            kind = f" ({event.error_kind})" if event.error_kind else ""
            hint = self.app.auth_hint() if event.error_kind == "auth" else ""
            message = f"the run failed{kind}: {event.error_message or 'unknown error'}"
            again = "/retry (or the same prompt again) asks the model once more"
            self.app.chat.notice(f"{message}{'; ' + hint if hint else ''}\n{again}", "error")
        elif event.stop_reason in LIMIT_NOTES:
            self.app.chat.notice(LIMIT_NOTES[event.stop_reason], "warning")
        self.app.refresh_usage()
