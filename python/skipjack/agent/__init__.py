"""The agent loop: a conversation, its tools, hooks and limits, and the events it reports."""

from skipjack.agent.agent import Agent
from skipjack.agent.events import (
    AgentEnd,
    AgentEvent,
    AgentStart,
    MessageEnd,
    MessageStart,
    MessageUpdate,
    ModelRetry,
    RunStopReason,
    ToolExecutionEnd,
    ToolExecutionStart,
    ToolExecutionUpdate,
    TurnEnd,
    TurnStart,
    event_to_json,
)
from skipjack.agent.hooks import Deny, Hooks, Replace
from skipjack.agent.limits import Limits
from skipjack.agent.loop import RunResult
from skipjack.agent.subscription import EventStream
from skipjack.agent.tool import Tool, ToolContext, ToolError, ToolOutput
from skipjack.llm.events import stream_event_to_dict  # kept here for existing importers

__all__ = [
    "Agent",
    "AgentEnd",
    "AgentEvent",
    "AgentStart",
    "Deny",
    "EventStream",
    "Hooks",
    "Limits",
    "MessageEnd",
    "MessageStart",
    "MessageUpdate",
    "ModelRetry",
    "Replace",
    "RunResult",
    "RunStopReason",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolExecutionEnd",
    "ToolExecutionStart",
    "ToolExecutionUpdate",
    "ToolOutput",
    "TurnEnd",
    "TurnStart",
    "event_to_json",
    "stream_event_to_dict",
]
