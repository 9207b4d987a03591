"""The `task` tool: the model's way to start a subagent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING

import msgspec

from skipjack.agent.tool import Tool, ToolContext, ToolOutput, arguments_schema
from skipjack.llm.types import Tool as ToolSpec

if TYPE_CHECKING:
    from skipjack.extensions.definitions import AgentDefinition

DESCRIPTION = """\
Hand a self-contained task to a subagent: a fresh agent with its own context window that works \
on it alone and returns only its final answer (its intermediate reads and searches stay out of \
your context). Use it for broad searches, investigations and independent pieces of work; call it \
several times in one response to run tasks in parallel. The prompt must say everything the \
subagent needs: it sees none of this conversation. By default a subagent can only read \
(read, grep, find, web_fetch)."""


class TaskArgs(msgspec.Struct, forbid_unknown_fields=True):
    description: str
    """A short (3-7 word) title for the task."""
    prompt: str
    """The whole task: what to do, what is known, what to return."""
    subagent_type: str | None = None
    """One of the agent types listed in the tool description; omit for the general read-only agent."""


Spawn = Callable[[TaskArgs, ToolContext], Awaitable[ToolOutput]]


class TaskTool(Tool[TaskArgs]):
    name = "task"
    description = DESCRIPTION
    Args = TaskArgs

    def __init__(self, definitions: Mapping[str, AgentDefinition], spawn: Spawn | None = None) -> None:
        self.definitions = dict(definitions)
        self.spawn = spawn
        """Set by the controller; None where no subagents can run."""

    def spec(self) -> ToolSpec:
        text = DESCRIPTION
        if self.definitions:
            types = "\n".join(f"- {d.name}: {d.description}" for d in self.definitions.values())
            text += f"\n\nAgent types (subagent_type):\n{types}"
        return ToolSpec(self.name, text, arguments_schema(TaskArgs))

    async def execute(self, args: TaskArgs, ctx: ToolContext) -> ToolOutput:
        if self.spawn is None:
            return ToolOutput.error("subagents are not available in this run")
        return await self.spawn(args, ctx)
