"""The coding tools an agent gets by default: read, edit (or apply_patch), write, bash, grep,
find, web fetch, todo. Which edit tool a model gets is decided in `edit_format`.

Each tool resolves paths against `ToolContext.cwd` at call time. `default_tools(cwd)` also hands
`cwd` to the tools whose `concurrency_key` names a file, because that hook sees only the
arguments: it must turn `a.py` and `./a.py` into the same key before any context exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skipjack.agent.tool import Tool
from skipjack.llm.types import Model
from skipjack.tools.bash import BashTool, SandboxProvider
from skipjack.tools.edit import EditTool
from skipjack.tools.edit_format import EditFormat, edit_tool_for, with_edit_tool_for
from skipjack.tools.find import FindTool
from skipjack.tools.grep import GrepTool
from skipjack.tools.read import ReadTool
from skipjack.tools.todo import TodoTool
from skipjack.tools.web_fetch import WebFetchTool
from skipjack.tools.write import WriteTool

if TYPE_CHECKING:
    from skipjack.tools.apply_patch import ApplyPatchTool

__all__ = [
    "ApplyPatchTool",
    "BashTool",
    "EditFormat",
    "EditTool",
    "FindTool",
    "GrepTool",
    "ReadTool",
    "TodoTool",
    "WebFetchTool",
    "WriteTool",
    "default_tools",
    "edit_tool_for",
    "with_edit_tool_for",
]


def default_tools(
    cwd: Path,
    *,
    shell_env: Mapping[str, str] | None = None,
    sandbox: SandboxProvider | None = None,
    model: Model | None = None,
    edit_format: EditFormat = "auto",
) -> list[Tool[Any]]:
    """One instance of every built-in tool, for an agent working in `cwd`; `shell_env` is the
    bash tool's environment (see `BashTool`), `sandbox` gives the policy bash commands run
    under (read at each call). `model` and `edit_format` choose between the edit and
    apply_patch tools (`edit_format.wants_apply_patch`); without a model it is `edit`."""
    root = cwd.resolve()
    return [
        ReadTool(),
        edit_tool_for(root, model, edit_format),
        WriteTool(root),
        BashTool(shell_env, sandbox=sandbox),
        GrepTool(),
        FindTool(),
        WebFetchTool(),
        TodoTool(),
    ]


def __getattr__(name: str) -> Any:
    # apply_patch (its parser and hunk matcher) is loaded only for a model that gets the tool.
    if name == "ApplyPatchTool":
        from skipjack.tools.apply_patch import ApplyPatchTool

        return ApplyPatchTool
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
