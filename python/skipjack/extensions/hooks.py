"""Hooks: the user's commands run on agent events, with Claude Code's contract, so existing
hook scripts (policy guards, formatters, notifiers) work unchanged.

Contract: the event as JSON on stdin (`session_id`, `cwd`, `hook_event_name`,
`permission_mode`, and per event `tool_name`/`tool_input`/`tool_response`, `prompt`,
`stop_hook_active`, `source`, `message`). Exit 0: success; stdout may be JSON with `decision`
(`block`/`approve`), `reason`, `continue`, `stopReason` and `hookSpecificOutput`
(`permissionDecision` allow/deny/ask, `permissionDecisionReason`, `additionalContext`); for
`UserPromptSubmit` and `SessionStart` plain stdout is context for the model. Exit 2: block,
with stderr as the reason the model (or the user, for a prompt) sees. Any other exit, a
timeout or a command that cannot start is a failure: reported, and the action goes ahead.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec

from skipjack.config.schema import HookCommand, HookMatcher
from skipjack.safety.sandbox import SandboxPolicy
from skipjack.tools._procgroup import stop_group

HookEvent = Literal["PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop", "SessionStart", "Notification"]
HOOK_EVENTS: tuple[HookEvent, ...] = (
    "PreToolUse",
    "PostToolUse",
    "UserPromptSubmit",
    "Stop",
    "SessionStart",
    "Notification",
)
TOOL_EVENTS = ("PreToolUse", "PostToolUse")
MAX_OUTPUT = 64 * 1024
"""Of a hook's stdout or stderr kept: a reason for the model, not a log."""

# Claude Code's names for skipjack's tools: hook scripts test `tool_name == "Bash"`.
CLAUDE_NAMES = {
    "bash": "Bash",
    "read": "Read",
    "edit": "Edit",
    "apply_patch": "Edit",
    "write": "Write",
    "grep": "Grep",
    "find": "Glob",
    "web_fetch": "WebFetch",
    "todo": "TodoWrite",
    "task": "Task",
}
PERMISSION_MODES = {"ask": "default", "auto-edit": "acceptEdits", "yolo": "bypassPermissions", "plan": "plan"}


class HookFailure(msgspec.Struct, frozen=True):
    """A hook command that failed, for the user."""

    event: str
    command: str
    message: str


class HookResult(msgspec.Struct):
    """What the hooks of one event decided, together."""

    blocked: bool = False
    """Exit 2, `decision: block`, `permissionDecision: deny` or `continue: false`."""
    reason: str = ""
    permission: Literal["allow", "deny", "ask"] | None = None
    context: list[str] = msgspec.field(default_factory=list)
    """Text for the model (a prompt's or session's added context, a PostToolUse block reason)."""
    ran: int = 0


SandboxFor = Callable[[bool], SandboxPolicy | None]
"""`(sandboxed)` → the sandbox to run a hook in; None runs it as a plain process."""


class HookRunner:
    def __init__(
        self,
        config: Mapping[str, list[HookMatcher]],
        *,
        project_dir: Path,
        env: Mapping[str, str],
        sandbox_for: SandboxFor,
        on_failure: Callable[[HookFailure], None],
        base_payload: Callable[[], dict[str, Any]] = dict,
    ) -> None:
        self.config = dict(config)
        self.project_dir = project_dir
        self.env = dict(env)
        self.sandbox_for = sandbox_for
        self.on_failure = on_failure
        self.base_payload = base_payload
        self.problems: list[str] = []
        self._matchers: dict[str, list[tuple[re.Pattern[str] | None, HookMatcher]]] = {}
        for event, groups in self.config.items():
            if event not in HOOK_EVENTS:
                self.problems.append(f"hooks.{event}: skipjack has no such event (it has {', '.join(HOOK_EVENTS)})")
                continue
            for group in groups:
                try:
                    pattern = None if group.matcher in ("", "*") else re.compile(group.matcher)
                except re.error as e:
                    self.problems.append(f"hooks.{event}: matcher {group.matcher!r} is not a regular expression ({e})")
                    continue
                self._matchers.setdefault(event, []).append((pattern, group))

    def has(self, event: HookEvent) -> bool:
        return bool(self._matchers.get(event))

    def commands_for(self, event: HookEvent, tool_name: str | None = None) -> list[HookCommand]:
        names = [] if tool_name is None else [tool_name, CLAUDE_NAMES.get(tool_name, tool_name)]
        out: list[HookCommand] = []
        for pattern, group in self._matchers.get(event, []):
            if pattern is None or event not in TOOL_EVENTS or any(pattern.fullmatch(n) for n in names):
                out += group.hooks
        return out

    async def run(self, event: HookEvent, payload: dict[str, Any], *, tool_name: str | None = None) -> HookResult:
        result = HookResult()
        commands = self.commands_for(event, tool_name)
        if not commands:
            return result
        full = {**self.base_payload(), "hook_event_name": event, **payload}
        stdin = json.dumps(full, ensure_ascii=False, default=str).encode()
        for hook in commands:
            result.ran += 1
            outcome = await self._run_one(event, hook, stdin)
            if outcome is not None:
                _merge(result, event, *outcome)
        return result

    async def _run_one(self, event: str, hook: HookCommand, stdin: bytes) -> tuple[int, str, str] | None:
        policy = self.sandbox_for(hook.sandbox)
        if policy is not None and policy.confined and (why := policy.unavailable_reason()) is not None:
            self.on_failure(HookFailure(event, hook.command, f"not run: it cannot be sandboxed ({why})"))
            return None
        env = {**self.env, "CLAUDE_PROJECT_DIR": str(self.project_dir), "SKIPJACK_PROJECT_DIR": str(self.project_dir)}
        argv = ["/bin/sh", "-c", hook.command]
        with contextlib.ExitStack() as stack:
            if policy is not None:
                argv = stack.enter_context(policy.command(argv, self.project_dir))
            try:
                proc = await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    cwd=self.project_dir,
                    env=env,
                    start_new_session=True,  # its own process group, so a timeout kills its children too
                )
            except OSError as e:
                self.on_failure(HookFailure(event, hook.command, f"could not start: {e.strerror or e}"))
                return None
            try:
                async with asyncio.timeout(hook.timeout):
                    out, err = await proc.communicate(stdin)
            except TimeoutError:
                await stop_group(proc)
                self.on_failure(HookFailure(event, hook.command, f"timed out after {hook.timeout:g} s and was stopped"))
                return None
            except BaseException:
                await stop_group(proc)
                raise
        code = proc.returncode if proc.returncode is not None else -1
        stdout = out[:MAX_OUTPUT].decode("utf-8", "replace")
        stderr = err[:MAX_OUTPUT].decode("utf-8", "replace")
        if code not in (0, 2):
            detail = stderr.strip() or stdout.strip() or "no output"
            self.on_failure(HookFailure(event, hook.command, f"exit code {code}: {detail[:500]}"))
            return None
        return code, stdout, stderr


def _merge(result: HookResult, event: str, code: int, stdout: str, stderr: str) -> None:
    if code == 2:
        result.blocked = True
        result.permission = "deny" if event == "PreToolUse" else result.permission
        _add_reason(result, stderr.strip() or "blocked by a hook")
        return
    reply = _json_reply(stdout)
    if reply is None:
        if event in ("UserPromptSubmit", "SessionStart") and stdout.strip():
            result.context.append(stdout.strip())
        return
    specific = reply.get("hookSpecificOutput")
    specific = specific if isinstance(specific, dict) else {}
    reason = str(specific.get("permissionDecisionReason") or reply.get("reason") or reply.get("stopReason") or "")
    permission = specific.get("permissionDecision")
    decision = reply.get("decision")
    if event == "PreToolUse" and permission is None and decision in ("approve", "block"):
        permission = "allow" if decision == "approve" else "deny"  # the older spelling
    if permission in ("allow", "deny", "ask"):
        # The strictest answer of all the hooks wins: deny, then ask, then allow.
        order = {None: 0, "allow": 1, "ask": 2, "deny": 3}
        if order[permission] > order[result.permission]:
            result.permission = permission
        if permission == "deny":
            result.blocked = True
            _add_reason(result, reason or "denied by a hook")
        elif permission == "ask" and reason:
            _add_reason(result, reason)
    elif decision == "block" or reply.get("continue") is False:
        result.blocked = True
        _add_reason(result, reason or "blocked by a hook")
    extra = specific.get("additionalContext")
    if isinstance(extra, str) and extra.strip():
        result.context.append(extra.strip())


def _add_reason(result: HookResult, reason: str) -> None:
    result.reason = f"{result.reason}\n{reason}" if result.reason else reason


def _json_reply(stdout: str) -> dict[str, Any] | None:
    text = stdout.strip()
    if not text.startswith("{"):
        return None
    try:
        reply = json.loads(text)
    except ValueError:
        return None
    return reply if isinstance(reply, dict) else None


def claude_tool_input(tool_name: str, arguments: Any, cwd: Path) -> Any:
    """The call's arguments, plus Claude Code's `file_path` (absolute) where a path is given."""
    if not isinstance(arguments, dict):
        return arguments
    out = dict(arguments)
    path = out.get("path")
    if isinstance(path, str) and "file_path" not in out:
        out["file_path"] = os.path.normpath(os.path.join(cwd, os.path.expanduser(path)))
    return out
