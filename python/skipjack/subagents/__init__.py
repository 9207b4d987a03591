"""Subagents: the `task` tool hands a self-contained piece of work to a child agent with its own
context, tools, approval ceiling and budget; its final answer is the tool's result."""

from skipjack.subagents.events import SubagentEvent
from skipjack.subagents.spawner import ChildSpec, Subagents
from skipjack.subagents.task_tool import TaskArgs, TaskTool

__all__ = ["ChildSpec", "SubagentEvent", "Subagents", "TaskArgs", "TaskTool"]
