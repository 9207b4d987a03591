"""The approval policy: mode + allow/deny rules → allow, ask, or deny for each tool call.

Modes:
- `ask`: shell commands, file changes and web fetches ask unless an allow rule matches.
- `auto-edit`: file changes inside the project run; shell commands and fetches ask.
- `yolo`: nothing asks.
- `plan`: read-only — no file changes, and only read-only shell commands.
Deny rules win over everything, in every mode. A write outside the project root asks
unless the mode is `yolo`.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from skipjack.approvals.shell import is_read_only, split_commands
from skipjack.config.schema import ApprovalMode, Rule, parse_rule

READ_TOOLS = frozenset({"read", "grep", "find", "todo"})
WRITE_TOOLS = frozenset({"edit", "write"})


class Decision(Enum):
    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reason: str
    subject: str
    """What the rules were matched against: the command line, the path or the URL."""
    suggested_rule: str | None = None
    """An allow rule that would let calls like this one run ("always allow")."""


class ApprovalPolicy:
    def __init__(
        self,
        mode: ApprovalMode,
        project_root: Path,
        *,
        allow: Sequence[str] = (),
        deny: Sequence[str] = (),
    ) -> None:
        self.mode: ApprovalMode = mode
        self.project_root = project_root.resolve()
        self._allow: list[Rule] = [parse_rule(r) for r in allow]
        self._deny: list[Rule] = [parse_rule(r) for r in deny]

    def allow_always(self, rule: str) -> None:
        """Add an allow rule for the rest of the session (the user's "always allow")."""
        self._allow.append(parse_rule(rule))

    def check(self, tool: str, args: Any) -> Verdict:
        subject = _subject(tool, args)
        if _matches(self._deny, tool, subject):
            return Verdict(Decision.DENY, f"a deny rule forbids {tool}: {subject}", subject)
        if self.mode == "yolo":
            return Verdict(Decision.ALLOW, "yolo mode", subject)
        if tool in READ_TOOLS:
            return Verdict(Decision.ALLOW, "reads nothing outside what it is shown", subject)
        if tool in WRITE_TOOLS:
            return self._check_write(tool, subject)
        if tool == "bash" and _field(args, "sandbox") is False:
            # Out of the OS sandbox nothing but the user stands between the command and the
            # machine: always ask, in plan mode too, and never offer an "always allow".
            return Verdict(Decision.ASK, "runs outside the sandbox (sandbox=false)", subject)
        if tool == "bash":
            return self._check_shell(subject)
        if self.mode == "plan":
            return Verdict(Decision.DENY, f"plan mode is read-only: {tool} is not allowed", subject)
        if _matches(self._allow, tool, subject):
            return Verdict(Decision.ALLOW, "an allow rule matches", subject)
        return Verdict(Decision.ASK, f"{tool} needs approval", subject, f"{tool}: {subject}")

    def _check_write(self, tool: str, subject: str) -> Verdict:
        if self.mode == "plan":
            return Verdict(Decision.DENY, "plan mode is read-only: no file changes", subject)
        path = (self.project_root / subject).resolve()
        inside = path == self.project_root or self.project_root in path.parents
        if not inside:
            return Verdict(Decision.ASK, f"{path} is outside the project", subject)
        if self.mode == "auto-edit" or _matches(self._allow, tool, subject):
            return Verdict(Decision.ALLOW, "file changes inside the project are allowed", subject)
        return Verdict(Decision.ASK, f"{tool} of {subject} needs approval", subject, f"{tool}: {subject}")

    def _check_shell(self, command: str) -> Verdict:
        if self.mode == "plan":
            if is_read_only(command):
                return Verdict(Decision.ALLOW, "a read-only command", command)
            return Verdict(Decision.DENY, "plan mode allows only read-only shell commands", command)
        parts = split_commands(command)
        # Every simple command of a line must be allowed: `git status && rm -rf x` must not
        # pass on the strength of a `git status*` rule.
        if parts is not None and all(_matches(self._allow, "bash", p) for p in parts):
            return Verdict(Decision.ALLOW, "allow rules match", command)
        first = command.split()[0] if command.split() else command
        return Verdict(Decision.ASK, "shell commands need approval", command, f"bash: {first} *")


def _subject(tool: str, args: Any) -> str:
    for field in ("command", "path", "url", "pattern"):
        value = _field(args, field)
        if isinstance(value, str):
            return value
    return ""


def _field(args: Any, name: str) -> Any:
    value = getattr(args, name, None)
    if value is None and isinstance(args, dict):
        value = args.get(name)
    return value


def _matches(rules: list[Rule], tool: str, subject: str) -> bool:
    return any(r.tool == tool and fnmatch.fnmatchcase(subject, r.pattern) for r in rules)
