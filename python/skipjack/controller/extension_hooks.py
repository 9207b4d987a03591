"""The user's hooks, custom commands and subagents, wired into a controller's agent.

Kept out of `controller.py` so the controller only calls in: `ToolHooks` wraps the approval
hook (PreToolUse first, then the policy) and the after-call hook (PostToolUse), `PromptHooks`
runs UserPromptSubmit, SessionStart and Stop around a prompt, `CommandExpander` turns
`/name args` into a custom command's prompt, and `child_spec` is what subagents are built from.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from skipjack.agent import Agent, Deny, Hooks, Replace, RunResult
from skipjack.agent.hooks import AfterToolCall, BeforeToolCall
from skipjack.agent.tool import ToolContext, ToolOutput
from skipjack.config.files import UnreadableFile, read_regular_file
from skipjack.config.schema import ApprovalMode
from skipjack.errors import UserError
from skipjack.extensions.hooks import CLAUDE_NAMES, PERMISSION_MODES, HookFailure, HookRunner, claude_tool_input
from skipjack.llm.types import TextContent, ToolCall, text_of
from skipjack.llm.usage import add_usage
from skipjack.safety.hook import Answer, AskUser, approval_hook
from skipjack.safety.policy import Decision, Verdict
from skipjack.safety.redaction import with_redaction

if TYPE_CHECKING:
    from skipjack.extensions.commands import CustomCommand
    from skipjack.runtime import Runtime
    from skipjack.safety.policy import ApprovalPolicy
    from skipjack.sessions import Session
    from skipjack.subagents import ChildSpec

MAX_STOP_CONTINUATIONS = 3
"""A Stop hook that keeps blocking gets this many continuations, then the run ends."""
MAX_INCLUDE_BYTES = 256 * 1024


def hook_runner(
    runtime: Runtime, on_failure: Callable[[HookFailure], None], session: Callable[[], Session | None]
) -> HookRunner:
    def sandbox_for(sandboxed: bool) -> Any:
        policy = runtime.sandbox_policy()
        return policy if sandboxed else policy.outside()

    def base() -> dict[str, Any]:
        current = session()
        return {
            "session_id": current.id if current is not None else "",
            # skipjack's session file (JSON lines, its own format rather than Claude Code's).
            "transcript_path": str(current.path) if current is not None else "",
            "cwd": str(runtime.agent.cwd),
            "permission_mode": PERMISSION_MODES.get(runtime.policy.mode, runtime.policy.mode),
        }

    runner = HookRunner(
        runtime.config.settings.hooks,
        project_dir=runtime.project_root or runtime.agent.cwd,
        env=runtime.shell_env,
        sandbox_for=sandbox_for,
        on_failure=on_failure,
        base_payload=base,
    )
    runtime.warnings.extend(runner.problems)
    return runner


class ToolHooks(msgspec.Struct):
    """PreToolUse in front of the approval policy, PostToolUse after each call that worked."""

    runner: HookRunner
    cwd: Path

    def before(self, policy: ApprovalPolicy, ask: AskUser | None) -> BeforeToolCall:
        approve = approval_hook(policy, ask)

        async def before_tool_call(call: ToolCall, args: Any) -> Deny | Replace | None:
            return await self.check(policy, ask, approve, call, args)

        return before_tool_call

    async def check(
        self, policy: ApprovalPolicy, ask: AskUser | None, approve: BeforeToolCall | None, call: ToolCall, args: Any
    ) -> Deny | Replace | None:
        """PreToolUse, then `approve` (the approval policy; None: the caller has approved)."""
        if self.runner.has("PreToolUse"):
            result = await self.runner.run("PreToolUse", self._payload(call), tool_name=call.name)
            if result.permission == "deny" or result.blocked:
                return Deny(f"a PreToolUse hook blocked this: {result.reason}")
            if result.permission == "allow":
                # A hook may spare the question, never overrule a deny rule or plan mode.
                verdict = policy.check(call.name, args)
                return Deny(verdict.reason) if verdict.decision is Decision.DENY else None
            if result.permission == "ask":
                return await self._ask(policy, ask, call, args, result.reason)
        return await approve(call, args) if approve is not None else None

    async def _ask(
        self, policy: ApprovalPolicy, ask: AskUser | None, call: ToolCall, args: Any, reason: str
    ) -> Deny | None:
        verdict = policy.check(call.name, args)
        if verdict.decision is Decision.DENY:
            return Deny(verdict.reason)
        why = f"a PreToolUse hook asks for approval: {reason or 'no reason given'}"
        if ask is None:
            return Deny(f"{why}, and this run cannot ask")
        answer = await ask(call, Verdict(Decision.ASK, why, verdict.subject))
        return Deny(answer.reason or "the user declined") if answer.choice == "deny" else None

    def after(self, inner: AfterToolCall | None) -> AfterToolCall:
        async def after_tool_call(call: ToolCall, output: ToolOutput) -> ToolOutput:
            if self.runner.has("PostToolUse") and not output.is_error:
                payload = self._payload(call)
                payload["tool_response"] = {
                    "content": text_of(output.content, image="[image]"),
                    "is_error": output.is_error,
                    **(output.details or {}),
                }
                result = await self.runner.run("PostToolUse", payload, tool_name=call.name)
                feedback = [result.reason] if result.blocked and result.reason else []
                feedback += result.context
                if feedback:
                    note = "\n".join(feedback)
                    output = _with_text(output, f"[PostToolUse hook] {note}")
            # Redaction (the inner hook) last: a hook's words may quote a secret too.
            return await inner(call, output) if inner is not None else output

        return after_tool_call

    def _payload(self, call: ToolCall) -> dict[str, Any]:
        return {
            "tool_name": CLAUDE_NAMES.get(call.name, call.name),
            "skipjack_tool_name": call.name,
            "tool_input": claude_tool_input(call.name, call.arguments, self.cwd),
            "tool_use_id": call.id,
        }

    def install(self, hooks: Hooks, policy: ApprovalPolicy, ask: AskUser | None) -> Hooks:
        return msgspec.structs.replace(
            hooks, before_tool_call=self.before(policy, ask), after_tool_call=self.after(hooks.after_tool_call)
        )


def _with_text(output: ToolOutput, text: str) -> ToolOutput:
    return ToolOutput([*output.content, TextContent(text)], is_error=output.is_error, details=output.details)


def notifying(runner: HookRunner, ask: AskUser | None) -> AskUser | None:
    """`ask` that first tells Notification hooks (a desktop notifier) the user is needed."""
    if ask is None:
        return None
    pending: set[asyncio.Task[Any]] = set()

    async def ask_and_notify(call: ToolCall, verdict: Verdict) -> Answer:
        if runner.has("Notification"):
            message = f"skipjack needs your permission to use {call.name}: {verdict.subject}"
            task = asyncio.ensure_future(runner.run("Notification", {"message": message}))
            pending.add(task)  # held until done: the question must not wait on a notifier
            task.add_done_callback(pending.discard)
        return await ask(call, verdict)

    return ask_and_notify


class PromptHooks:
    """UserPromptSubmit (may block or add context), SessionStart (context for the session's
    first prompt) and Stop (may send the model back to work) around `Agent.prompt`."""

    def __init__(self, runner: HookRunner) -> None:
        self.runner = runner
        self.session_started: str | None = None
        """The session id SessionStart last ran for."""

    async def prompt(
        self, agent: Agent, text: str, *, session_id: str | None, resumed: bool, reminder: str | None = None
    ) -> RunResult:
        """Run `text` (what the user wrote; hooks see it) as a prompt, after `reminder` (a
        system reminder for the model, e.g. the approval mode) when one is due."""
        context: list[str] = []
        if self.runner.has("SessionStart") and self.session_started != (session_id or ""):
            self.session_started = session_id or ""
            start = await self.runner.run("SessionStart", {"source": "resume" if resumed else "startup"})
            context += start.context
        if self.runner.has("UserPromptSubmit"):
            submitted = await self.runner.run("UserPromptSubmit", {"prompt": text})
            if submitted.blocked:
                raise UserError(f"a UserPromptSubmit hook blocked the prompt: {submitted.reason}")
            context += submitted.context
        if context:
            text += "\n\n" + "\n\n".join(f"[context from a hook]\n{c}" for c in context)
        result = await agent.prompt(text if reminder is None else [TextContent(reminder), TextContent(text)])
        for i in range(MAX_STOP_CONTINUATIONS):
            if result.stop_reason != "completed" or not self.runner.has("Stop"):
                break
            last = result.message.text if result.message is not None else ""
            stop = await self.runner.run("Stop", {"stop_hook_active": i > 0, "last_assistant_message": last})
            if not stop.blocked:
                break
            more = await agent.prompt(f"[a Stop hook asks you to continue] {stop.reason}")
            result = _combined(result, more)
        return result


def _combined(first: RunResult, then: RunResult) -> RunResult:
    import msgspec

    return msgspec.structs.replace(then, turns=first.turns + then.turns, usage=add_usage(first.usage, then.usage))


class CommandExpander:
    """`/name args` → the custom command's prompt, its `!` commands run through the approval
    hook (PreToolUse hooks included) and the bash tool's sandbox, its `@` files read as the
    read tool's policy allows."""

    def __init__(
        self,
        agent: Agent,
        commands: dict[str, CustomCommand],
        *,
        policy: ApprovalPolicy | None = None,
        tool_hooks: ToolHooks | None = None,
        ask: AskUser | None = None,
    ) -> None:
        self.agent = agent
        self.commands = commands
        self.policy = policy
        self.tool_hooks = tool_hooks
        self.ask = ask
        self._ids = itertools.count(1)

    def find(self, text: str) -> tuple[CustomCommand, str] | None:
        if not self.commands:  # no command folder had any: the parser need not load
            return None
        from skipjack.extensions.commands import split_invocation

        parts = split_invocation(text)
        if parts is None or parts[0] not in self.commands:
            return None
        return self.commands[parts[0]], parts[1]

    async def expand(self, command: CustomCommand, arguments: str) -> str:
        from skipjack.extensions.commands import bash_patterns, expand

        patterns = bash_patterns(command.allowed_tools)

        async def run_shell(line: str) -> str:
            return await self._run_shell(line, patterns)

        return await expand(command, arguments, run_shell=run_shell, read_include=self._read_include)

    async def _approved(
        self, name: str, arguments: dict[str, Any], granted: list[str] | None = None
    ) -> tuple[Any, str | None]:
        """(parsed args, None) when the call may run; (None, why not) otherwise."""
        tool = next((t for t in self.agent.tools if t.name == name), None)
        if tool is None:
            return None, f"there is no {name} tool"
        call = ToolCall(f"command-{next(self._ids)}", name, arguments)
        args = tool.parse_args(arguments)
        if granted and self._grants(granted, args):
            # The command's `allowed-tools` spares the question (PreToolUse hooks and deny rules
            # still apply); only where the sandbox confines it.
            assert self.policy is not None
            assert self.tool_hooks is not None
            decision = await self.tool_hooks.check(self.policy, self.ask, None, call, args)
        else:
            before = self.agent.hooks.before_tool_call
            decision = await before(call, args) if before is not None else None
        if isinstance(decision, Deny):
            return None, decision.reason
        return args, None

    def _grants(self, patterns: list[str], args: Any) -> bool:
        from skipjack.safety.commands import parse_command_line
        from skipjack.safety.rules import compile_pattern, covers_line

        policy = self.policy
        if policy is None or self.tool_hooks is None or not policy.sandboxed:
            return False
        if policy.check("bash", args).decision is not Decision.ASK:
            return False  # allowed anyway, or denied whatever the command says
        parsed = parse_command_line(args.command)
        try:
            compiled = [compile_pattern(p) for p in patterns]
        except ValueError:
            return False
        if parsed.opaque or parsed.redirects or parsed.assignments:
            return False
        return covers_line(compiled, parsed.commands)

    async def _run_shell(self, command: str, granted: list[str] | None = None) -> str:
        args, denied = await self._approved("bash", {"command": command}, granted)
        if denied is not None:
            return f"[`{command}` was not run: {denied}]"
        tool = next(t for t in self.agent.tools if t.name == "bash")
        call = ToolCall(f"command-{next(self._ids)}", "bash", {"command": command})
        output = await tool.execute(args, ToolContext(cwd=self.agent.cwd, tool_call_id=call.id))
        after = self.agent.hooks.after_tool_call
        if after is not None:
            output = await after(call, output)  # redaction, PostToolUse
        return text_of(output.content, image="[image]").strip()

    async def _read_include(self, raw: str) -> str:
        _, denied = await self._approved("read", {"path": raw})
        if denied is not None:
            return f"[@{raw} was not included: {denied}]"
        try:
            text = _read_text(self.agent.cwd, raw)
        except UnreadableFile as e:
            return f"[@{raw} was not included: {e}]"
        return f"{raw}:\n```\n{text.rstrip()}\n```"


def _read_text(cwd: Path, raw: str) -> str:
    """A file for an `@` include (small, checked by the read policy already)."""
    path = Path(os.path.join(cwd, os.path.expanduser(raw)))
    return read_regular_file(path, MAX_INCLUDE_BYTES).decode("utf-8", "replace")


def child_spec(
    runtime: Runtime,
    *,
    tool_hooks: ToolHooks,
    ask: AskUser | None,
    emit: Callable[[Any], None],
    open_session: Callable[[Any], Any],
    record_usage: Callable[[str, Any], None],
) -> ChildSpec:
    from skipjack.models import RegistryError, registry_for
    from skipjack.runtime import build_policy
    from skipjack.sessions.recorder import record
    from skipjack.subagents import ChildSpec
    from skipjack.tools import default_tools

    settings = runtime.config.settings
    cwd = runtime.agent.cwd
    extensions = runtime.extensions

    def make_tools(model: Any, mode: ApprovalMode) -> list[Any]:
        return default_tools(
            cwd,
            shell_env=runtime.shell_env,
            sandbox=lambda: runtime.sandbox_policy_for(mode),
            model=model,
            edit_format=settings.tools.edit_format,
        )

    def make_policy(mode: ApprovalMode) -> ApprovalPolicy:
        return build_policy(cwd, settings, mode, user_config_dir=runtime.user_config_dir)

    def make_hooks(policy: ApprovalPolicy) -> Hooks:
        hooks = Hooks()
        if runtime.redactor is not None:
            hooks = with_redaction(hooks, runtime.redactor)
        return tool_hooks.install(hooks, policy, ask)

    def resolve_model(ref: str) -> Any:
        try:
            return registry_for(settings).get_model(ref, runtime.env)
        except RegistryError as e:
            raise ValueError(str(e)) from e

    return ChildSpec(
        cwd=cwd,
        definitions=dict(extensions.agents) if extensions is not None else {},
        settings=settings.subagents,
        parent_mode=lambda: runtime.policy.mode,
        make_policy=make_policy,
        make_tools=make_tools,
        make_hooks=make_hooks,
        resolve_model=resolve_model,
        key_for=runtime.key_for,
        options=lambda: runtime.agent.options,
        emit=emit,
        open_session=open_session,
        record=lambda agent, session: record(agent, session),
        record_usage=record_usage,
    )
