from __future__ import annotations

import msgspec
import pytest
from _tool_helpers import text_of

from skipjack.agent.tool import ToolContext
from skipjack.tools.todo import TodoArgs, TodoItem, TodoTool, current_todos


async def test_list_replaced_and_stored_in_state(ctx: ToolContext) -> None:
    tool = TodoTool()
    out = await tool.execute(
        TodoArgs([TodoItem("read the code", "done"), TodoItem("fix the bug", "in_progress"), TodoItem("add a test")]),
        ctx,
    )
    assert not out.is_error
    assert text_of(out).splitlines() == [
        "Todo list (1/3 done):",
        "[x] read the code",
        "[>] fix the bug",
        "[ ] add a test",
    ]
    assert [t.content for t in ctx.state["todos"]] == ["read the code", "fix the bug", "add a test"]
    await tool.execute(TodoArgs([TodoItem("only this", "pending")]), ctx)
    assert current_todos(ctx.state) == [TodoItem("only this", "pending")]
    out = await tool.execute(TodoArgs([]), ctx)
    assert "cleared" in text_of(out)
    assert current_todos(ctx.state) == []


async def test_at_most_one_in_progress(ctx: ToolContext) -> None:
    tool = TodoTool()
    await tool.execute(TodoArgs([TodoItem("keep me")]), ctx)
    out = await tool.execute(TodoArgs([TodoItem("a", "in_progress"), TodoItem("b", "in_progress")]), ctx)
    assert out.is_error
    assert "at most one" in text_of(out)
    assert current_todos(ctx.state) == [TodoItem("keep me")]  # a refused call changes nothing


async def test_blank_content_refused(ctx: ToolContext) -> None:
    out = await TodoTool().execute(TodoArgs([TodoItem("   ")]), ctx)
    assert out.is_error


def test_model_arguments_validated() -> None:
    tool = TodoTool()
    with pytest.raises(msgspec.ValidationError):
        tool.parse_args({"todos": [{"content": "x", "status": "started"}]})
    parsed: object = tool.parse_args({"todos": [{"content": "x"}]})
    assert parsed == TodoArgs([TodoItem("x", "pending")])
