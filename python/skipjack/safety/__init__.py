"""Safety: trust of project folders, secrets kept from the model, and what a tool call may do
before it runs.

- `trust`: which project settings apply in a folder the user has not trusted.
- `secrets`, `redaction`: the shell's environment without credentials; key values scrubbed from
  tool output.
- `commands`: a shell command line parsed into the commands and redirections it would run.
- `sandbox`: the OS sandbox (bubblewrap) shell commands run in, by approval mode.
- `policy`: approval mode + allow/deny rules → allow, ask or deny for each tool call.
- `hook` (`approval_hook`): the policy as the agent loop's `before_tool_call` hook. The terminal UI
  passes an `ask` callback; headless runs pass none, so a call that needs approval becomes a
  denial the model sees instead of a blocked run.

Names are exported lazily: `tools` import `safety` submodules (the sandbox), and an eager
import of the hook here would pull the agent package in while `tools` is half-initialised.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skipjack.safety.commands import ParsedLine, parse_command_line
    from skipjack.safety.hook import Answer, AskUser, approval_hook
    from skipjack.safety.policy import ApprovalPolicy, Decision, Verdict

_EXPORTS = {
    "Answer": "hook",
    "AskUser": "hook",
    "approval_hook": "hook",
    "ParsedLine": "commands",
    "parse_command_line": "commands",
    "ApprovalPolicy": "policy",
    "Decision": "policy",
    "Verdict": "policy",
}

__all__ = [
    "Answer",
    "ApprovalPolicy",
    "AskUser",
    "Decision",
    "ParsedLine",
    "Verdict",
    "approval_hook",
    "parse_command_line",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"skipjack.safety.{module}"), name)
