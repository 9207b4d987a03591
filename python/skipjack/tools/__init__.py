"""The coding tools an agent gets by default: read, edit, write, bash, grep, find, web fetch, todo.

Each tool resolves paths against `ToolContext.cwd` at call time. `default_tools(cwd)` also hands
`cwd` to the tools whose `concurrency_key` names a file, because that hook sees only the
arguments: it must turn `a.py` and `./a.py` into the same key before any context exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from skipjack.agent.tool import Tool
from skipjack.tools.bash import BashTool, SandboxProvider
from skipjack.tools.edit import EditTool
from skipjack.tools.find import FindTool
from skipjack.tools.grep import GrepTool
from skipjack.tools.read import ReadTool
from skipjack.tools.todo import TodoTool
from skipjack.tools.web_fetch import WebFetchTool
from skipjack.tools.write import WriteTool

__all__ = [
    "BashTool",
    "EditTool",
    "FindTool",
    "GrepTool",
    "ReadTool",
    "TodoTool",
    "WebFetchTool",
    "WriteTool",
    "default_tools",
]


def default_tools(
    cwd: Path, *, shell_env: Mapping[str, str] | None = None, sandbox: SandboxProvider | None = None
) -> list[Tool[Any]]:
    """One instance of every built-in tool, for an agent working in `cwd`; `shell_env` is the
    bash tool's environment (see `BashTool`), `sandbox` gives the policy bash commands run
    under (read at each call)."""
    root = cwd.resolve()
    return [
        ReadTool(),
        EditTool(root),
        WriteTool(root),
        BashTool(shell_env, sandbox=sandbox),
        GrepTool(),
        FindTool(),
        WebFetchTool(),
        TodoTool(),
    ]
