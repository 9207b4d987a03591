"""`Controller`: one working session, whatever the front end.

It owns the runtime (agent, model, key, approval policy and the sandbox that follows its
mode), the session the conversation is recorded in, the compactor, and one event stream:
the agent's events plus the controller's own (`controller.events`). Front ends render the
events and call the methods; none of them builds an agent, a compactor, a policy or a
session itself.

This module holds the conversation (prompt, retry, steering, abort), the events and what
front ends read; the rest of the one object is in `session_control` (session files),
`approvals` (approval mode, questions, trust), `model_control` (model switches,
compaction) and `rewinding` (checkpoints, rewind, undo).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from skipjack.agent import Agent, RunResult
from skipjack.agent.retry import retry_point
from skipjack.compaction import Compactor
from skipjack.config.schema import ApprovalMode, McpServerConfig
from skipjack.controller.access_check import AccessProblem, check_access
from skipjack.controller.approvals import ApprovalControl, mode_reminder
from skipjack.controller.checkpointing import TurnCheckpoints
from skipjack.controller.events import (
    Event,
    HookFailed,
    PersistenceFailed,
    Warning_,
)
from skipjack.controller.extension_hooks import (
    CommandExpander,
    PromptHooks,
    ToolHooks,
    child_spec,
    hook_runner,
    notifying,
)
from skipjack.controller.mcp_bridge import McpBridge
from skipjack.controller.model_control import ModelControl
from skipjack.controller.rewinding import Rewinding
from skipjack.controller.session_control import SessionControl
from skipjack.errors import UserError
from skipjack.extensions.hooks import HookFailure
from skipjack.llm.types import AssistantMessage, Model, TextContent, ToolCall, Usage, UserMessage
from skipjack.llm.usage import unpriced_requests
from skipjack.runtime import RunOptions, Runtime, build_runtime
from skipjack.safety.hook import Answer, AskUser
from skipjack.sessions import Session, SessionError, SessionStore, project_root
from skipjack.subagents import Subagents, TaskTool
from skipjack.tools.editor_files import STATE_KEY as EDITOR_FILES
from skipjack.tools.editor_files import EditorFiles

if TYPE_CHECKING:
    from skipjack.agent.tool import ToolOutput
    from skipjack.extensions import CustomCommand
    from skipjack.reports import Row

Listener = Callable[[Event], None]


class Controller(SessionControl, ApprovalControl, ModelControl, Rewinding):
    """Build with `Controller.build(options)`; `subscribe` a renderer; then `open_session`
    (or let the first `prompt` create one) and `prompt`.

    Approvals: `ask` is how a call that needs approval is put to the user. A front end
    with its own dialogue passes a function; `ask="events"` emits `approval_request`
    events answered with `answer_approval(id, ...)`; None (headless) denies such calls with
    a reason saying how to allow them."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        ask: AskUser | Literal["events"] | None = None,
        store: SessionStore | None = None,
        record_sessions: bool = True,
    ) -> None:
        self.runtime = runtime
        self.store = store if store is not None else SessionStore(env=runtime.env)
        self.record_sessions = record_sessions
        self.session: Session | None = None
        self._listeners: list[Listener] = []
        self._unrecord: Callable[[], None] | None = None
        self._pending: dict[str, tuple[asyncio.Future[Answer], ToolCall]] = {}
        self._approval_ids = itertools.count(1)
        self._compactor: Compactor | None = None
        self._models: dict[str, Model] = {
            runtime.model.ref: runtime.model,
            runtime.agent.model.ref: runtime.agent.model,
        }
        """Every model used so far by ref: switching back to one keeps what the command line
        set for it (`--base-url`, `--api`, `--api-key-env`) instead of the registry's entry."""
        self._reminder: str | None = mode_reminder("plan") if runtime.policy.mode == "plan" else None
        """The approval mode's system reminder, until the model has been told (a session that
        starts in plan mode is told too: plan is the one mode the model must work differently in)."""
        self._last_prompt: str | None = None
        """What the user last wrote as a prompt (before expansion): what a retry compares with."""
        self._usage_base = Usage.zero()
        """The agent's spending before `new_session`: a new conversation starts at $0."""
        agent = runtime.agent
        # Hooks, custom commands and subagents (`extension_hooks`): PreToolUse runs in front of
        # the approval policy, which stays the last word on what may run.
        self._resumed = False
        self.hook_runner = hook_runner(runtime, self._hook_failed, lambda: self.session)
        self._tool_hooks = ToolHooks(self.hook_runner, agent.cwd)
        # PostToolUse wraps the tools' after-hook once; `ask_with` only replaces the before-hook.
        agent.hooks = msgspec.structs.replace(
            agent.hooks, after_tool_call=self._tool_hooks.after(agent.hooks.after_tool_call)
        )
        self._prompt_hooks = PromptHooks(self.hook_runner)
        self._checkpoints = TurnCheckpoints(
            runtime.config.settings.checkpoints, project_root(agent.cwd), runtime.env, self._emit
        )
        self.ask_with(ask)
        agent.subscribe(self._emit)
        self._install_compactor(None)
        self.mcp = McpBridge(runtime, self._emit, trust_project=runtime.trust_project)
        """The session's MCP servers (started now, in the background)."""

    def ask_with(self, ask: AskUser | Literal["events"] | None) -> None:
        """How approval questions are put from now on (see the class): to the tools' calls,
        custom commands' `!` lines and subagents' calls alike."""
        asker = notifying(self.hook_runner, self._ask_by_event if ask == "events" else ask)
        runtime, agent = self.runtime, self.runtime.agent
        # The turn's snapshot is taken while its request is out: a tool that may change a file
        # waits for it first (`TurnCheckpoints.gate`), before PreToolUse hooks and approval.
        before = self._checkpoints.gate(self._tool_hooks.before(runtime.policy, asker))
        agent.hooks = msgspec.structs.replace(agent.hooks, before_tool_call=before)
        self._commands = CommandExpander(
            agent,
            dict(runtime.extensions.commands) if runtime.extensions else {},
            policy=runtime.policy,
            tool_hooks=self._tool_hooks,
            ask=asker,
        )
        self._install_subagents(asker)

    @staticmethod
    async def check_access(options: RunOptions, env: Mapping[str, str]) -> AccessProblem | None:
        """Before a controller is built (setup): does the model these options resolve to answer
        a 1-token request? None when it does, else what to fix (`controller.access_check`)."""
        return await check_access(options, env)

    @classmethod
    def build(
        cls,
        options: RunOptions,
        *,
        env: Mapping[str, str] | None = None,
        ask: AskUser | Literal["events"] | None = None,
        record_sessions: bool = True,
        store: SessionStore | None = None,
    ) -> Controller:
        """From the command line's options and the config files; raises `UserError`."""
        return cls(build_runtime(options, env=env), ask=ask, record_sessions=record_sessions, store=store)

    # -- what front ends read ------------------------------------------------------------

    @property
    def agent(self) -> Agent:
        return self.runtime.agent

    @property
    def model(self) -> Model:
        return self.runtime.agent.model

    @property
    def compactor(self) -> Compactor | None:
        return self._compactor

    @property
    def approval_mode(self) -> ApprovalMode:
        return self.runtime.policy.mode

    @property
    def warnings(self) -> list[str]:
        """What building found worth saying (also sent as `warning` events by `announce`)."""
        return list(self.runtime.warnings)

    def auth_hint(self) -> str:
        """What to set when the provider refused the key: the variable, or the config key."""
        model = self.model
        where = f"set {model.api_key_env} or " if model.api_key_env else ""
        return f"the {model.provider} key was refused: {where}put a valid key under [keys] {model.provider} in config"

    def cost(self) -> float:
        """USD spent in this conversation: the session's total (forks included), else the agent's."""
        if self.session is not None:
            with contextlib.suppress(OSError, SessionError):
                return self.session.usage_totals().cost.total
        return max(0.0, self.agent.usage_totals().cost.total - self._usage_base.cost.total)

    def usage_by_model(self) -> dict[str, Usage]:
        """This conversation's usage per model ref (`/cost`)."""
        if self.session is not None:
            with contextlib.suppress(OSError, SessionError):
                return self.session.by_model()
        from skipjack.llm.usage import add_usage

        out: dict[str, Usage] = {}
        for m in self.agent.messages:
            if isinstance(m, AssistantMessage):
                out[m.model_ref] = add_usage(out.get(m.model_ref, Usage.zero()), m.usage)
        return out

    def project_spend(self) -> tuple[Row, Row]:
        """Today's and this month's spend on this project, every session (`/cost`); reads the
        project's session files, so call it off the event loop."""
        from skipjack.reports import project_totals

        return project_totals(self.store.project_path(self.agent.cwd))

    def unpriced_requests(self) -> int:
        """This conversation's requests to models with no known price (cost unknown)."""
        if self.session is not None:
            return self.session.unpriced_requests()
        return unpriced_requests(self.agent.messages)

    def context_tokens(self) -> int:
        """The estimated size of the context the next request sends."""
        from skipjack.compaction.estimate import estimate_context_tokens

        return estimate_context_tokens(self.agent.messages)

    def state(self) -> dict[str, Any]:
        model = self.model
        return {
            "model": model.ref,
            "api": model.api,
            "base_url": model.base_url,
            "approval": self.approval_mode,
            "sandbox": self.runtime.sandbox_policy().mode,
            "session_id": self.session.id if self.session is not None else None,
            "running": self.agent.is_running,
            "messages": len(self.agent.messages),
            "context_tokens": self.context_tokens(),
            "context_window": model.context_window,
            "input_limit": model.input_limit,
            "cost": self.cost(),
            "pending_approvals": sorted(self._pending),
            "cwd": str(self.agent.cwd),
            "mcp_servers": [
                {"name": m.name, "state": m.state, "error": m.error, "tools": m.tools} for m in self.mcp.statuses()
            ],
        }

    # -- events ----------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Every agent and controller event, synchronously, in order; returns unsubscribe."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def announce(self) -> None:
        """Send the build's warnings as events (call once a renderer is subscribed)."""
        for warning in self.runtime.warnings:
            self._emit(Warning_(warning))

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a renderer's bug must not break the run, as in Agent._emit
                import logging

                logging.getLogger(__name__).exception("controller listener %r failed", listener)

    # -- the conversation --------------------------------------------------------------------

    async def prompt(self, text: str) -> RunResult:
        """Run one prompt to its end (creating the session first, when recording). `/name args`
        naming a custom command runs the command's prompt; hooks run around it."""
        if self.agent.is_running:
            raise UserError("the agent is running: steer, follow up or abort it")
        session = self.ensure_session()
        self._last_prompt = text
        await self.mcp.before_prompt()
        text = await self.mcp.expand(text)
        found = self._commands.find(text)
        model_before: str | None = None
        if found is not None:
            command, arguments = found
            text = await self._commands.expand(command, arguments)
            if command.model and command.model != self.model.ref:
                model_before = self.model.ref
                self.switch_model(command.model)
        session_id = self.session.id if self.session is not None else None
        # The mode's reminder travels inside the user's message, as Claude Code's system
        # reminders do: it is then part of the recorded history, so a resumed session still
        # knows the mode.
        reminder, self._reminder = self._reminder, None
        checkpoint = await self._checkpoints.before_turn(session)
        if any(self.hook_runner.has(e) for e in ("SessionStart", "UserPromptSubmit", "Stop")):
            await self._checkpoints.ready()  # hook commands may change files
        try:
            return await self._prompt_hooks.prompt(
                self.agent, text, session_id=session_id, resumed=self._resumed, reminder=reminder
            )
        finally:
            await self._checkpoints.after_turn(session, checkpoint)
            if model_before is not None:
                self.switch_model(model_before)

    def retry_text(self) -> str | None:
        """What the user wrote for the turn a retry would redo; None when the conversation does
        not end with a failed or aborted reply to it (see `skipjack.agent.retry`)."""
        messages = self.agent.messages
        end = retry_point(messages)
        if end is None or self.agent.is_running:
            return None
        if self._last_prompt is not None:
            return self._last_prompt
        message = messages[end - 1]
        assert isinstance(message, UserMessage)
        if isinstance(message.content, str):
            return message.content
        texts = [c.text for c in message.content if isinstance(c, TextContent)]
        return texts[-1] if texts else None  # (a mode reminder comes first)

    async def retry(self) -> RunResult:
        """Ask the model again for the last prompt's reply after it failed or was aborted: the
        user's message is sent once, as it is in the history (no hooks or expansion again)."""
        if self.retry_text() is None:
            raise UserError("nothing to retry: the last prompt did not fail before the model answered")
        await self.mcp.before_prompt()
        return await self.agent.retry()

    def custom_commands(self) -> list[CustomCommand]:
        """The custom commands (`/name`), sorted, for `/help` and the `/` completion menu."""
        return sorted(self._commands.commands.values(), key=lambda c: c.name)

    async def expand_command(self, text: str) -> str | None:
        """The prompt `/name args` stands for; None when `text` names no custom command."""
        found = self._commands.find(text)
        return None if found is None else await self._commands.expand(*found)

    def steer(self, text: str) -> None:
        self.agent.steer(text)

    def follow_up(self, text: str) -> None:
        self.agent.follow_up(text)

    def abort(self) -> None:
        """Stop the run; open approval questions are answered "deny"."""
        for approval_id in list(self._pending):
            self.answer_approval(approval_id, Answer("deny", "the run was aborted"))
        self.agent.abort()

    def _hook_failed(self, failure: HookFailure) -> None:
        self._emit(HookFailed(failure.event, failure.command, failure.message))

    def _install_subagents(self, asker: AskUser | None) -> None:
        """Give the `task` tool its spawn function: children built like this session's agent,
        their costs charged to it and recorded in its session, their events sent as ours."""
        task = next((t for t in self.agent.tools if isinstance(t, TaskTool)), None)
        if task is None:
            return

        def open_child(model: Model) -> Session | None:
            if self.session is None:
                return None
            try:
                child = self.store.create_child(self.agent.cwd, model.ref)
                self.session.append_event("subagent_session", {"session_id": child.id, "model": model.ref})
            except (OSError, SessionError) as e:
                self._emit(Warning_(f"a subagent's transcript is not saved: {e}"))
                return None
            return child

        def record_usage(ref: str, usage: Usage) -> None:
            if self.session is not None:
                try:
                    self.session.append_usage(ref, usage, "subagent")
                except OSError as e:
                    self._emit(PersistenceFailed(self.session.id, f"a subagent's cost was not saved: {e}"))

        spec = child_spec(
            self.runtime,
            tool_hooks=self._tool_hooks,
            ask=asker,
            emit=self._emit,
            open_session=open_child,
            record_usage=record_usage,
        )
        task.spawn = Subagents(spec, self.agent, 0, self.agent.charge).run

    # -- approvals and trust -----------------------------------------------------------------

    def use_editor_files(self, files: EditorFiles | None) -> None:
        """Read and edit files through an editor's buffers (ACP), or the disk again (None)."""
        if files is None:
            self.agent.tool_state.pop(EDITOR_FILES, None)
        else:
            self.agent.tool_state[EDITOR_FILES] = files

    def use_client_mcp_servers(
        self, servers: Mapping[str, McpServerConfig], client: str, *, problems: Sequence[str] = ()
    ) -> None:
        """MCP servers a client (an editor over ACP) brings for this session, beside the
        configured ones; its choice is the user's, so the project's trust does not gate it.
        `problems`: servers the client passed that cannot be used, shown as warnings."""
        self.mcp.add_client_servers(servers, client, problems=problems)

    async def run_shell(self, command: str, on_update: Callable[[str], None]) -> ToolOutput:
        """The user's own `!command`: run like the bash tool runs (own process group, timeout,
        output cut), in the project, not subject to approval (the user typed it)."""
        from skipjack.agent.tool import ToolContext
        from skipjack.tools.bash import BashArgs, BashTool

        return await BashTool().execute(BashArgs(command=command), ToolContext(cwd=self.agent.cwd, on_update=on_update))

    def close(self) -> None:
        self.abort()
        self.mcp.close()
        if self._unrecord is not None:
            self._unrecord()
            self._unrecord = None
        self.close_session()
