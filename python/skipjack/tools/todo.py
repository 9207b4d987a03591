"""The todo tool: the model's own short task list, replaced whole on every call."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

import msgspec

from skipjack.agent.tool import Tool, ToolContext, ToolOutput

STATE_KEY = "todos"
MAX_ITEMS = 50

_MARK = {"done": "[x]", "in_progress": "[>]", "pending": "[ ]"}


class TodoItem(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    content: Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
    status: Literal["pending", "in_progress", "done"] = "pending"


class TodoArgs(msgspec.Struct, forbid_unknown_fields=True):
    todos: Annotated[
        list[TodoItem],
        msgspec.Meta(max_length=MAX_ITEMS, description="The whole list, in order; it replaces the previous one"),
    ]


class TodoTool(Tool[TodoArgs]):
    name: ClassVar[str] = "todo"
    description: ClassVar[str] = (
        "Keep a short task list for multi-step work. Send the whole list each time (it replaces "
        "the previous one): items with `content` and `status` pending, in_progress or done. "
        "Mark one item in_progress before starting it and done as soon as it is finished; at "
        "most one item is in_progress at a time. An empty list clears it."
    )
    Args = TodoArgs

    async def execute(self, args: TodoArgs, ctx: ToolContext) -> ToolOutput:
        items = [TodoItem(item.content.strip(), item.status) for item in args.todos]
        if any(not item.content for item in items):
            return ToolOutput.error("Every item needs non-empty content.")
        active = [item.content for item in items if item.status == "in_progress"]
        if len(active) > 1:
            return ToolOutput.error(
                f"{len(active)} items are in_progress ({', '.join(active)}); at most one may be. "
                "Finish or pause the others first."
            )
        ctx.state[STATE_KEY] = items
        done = sum(item.status == "done" for item in items)
        if not items:
            text = "Todo list cleared."
        else:
            lines = [f"{_MARK[item.status]} {item.content}" for item in items]
            text = f"Todo list ({done}/{len(items)} done):\n" + "\n".join(lines)
        return ToolOutput.text(text, details={"todos": msgspec.to_builtins(items)})


def current_todos(state: dict[str, object]) -> list[TodoItem]:
    """The list as last set in an agent's shared state (empty before the first call)."""
    items = state.get(STATE_KEY)
    return list(items) if isinstance(items, list) else []
