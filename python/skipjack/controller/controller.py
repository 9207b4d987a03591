"""`Controller`: one working session, whatever the front end.

It owns the runtime (agent, model, key, approval policy and the sandbox that follows its
mode), the session the conversation is recorded in, the compactor, and one event stream:
the agent's events plus the controller's own (`controller.events`). Front ends render the
events and call the methods; none of them builds an agent, a compactor, a policy or a
session itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import itertools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import msgspec

from skipjack.agent import Agent, RunResult
from skipjack.agent.retry import retry_point
from skipjack.compaction import CompactionError, CompactionResult, Compactor
from skipjack.config import missing_key_hint
from skipjack.config.schema import ApprovalMode, McpServerConfig
from skipjack.controller.access_check import AccessProblem, check_access
from skipjack.controller.checkpointing import RewindMode, RewindOutcome, TurnCheckpoints, run_rewind
from skipjack.controller.events import (
    ApprovalModeChanged,
    ApprovalRequest,
    ApprovalResolved,
    CompactionEnded,
    CompactionFailed,
    CompactionStarted,
    Event,
    HookFailed,
    ModelSwitched,
    PersistenceFailed,
    Rewound,
    SessionChanged,
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
from skipjack.errors import UserError
from skipjack.extensions import CustomCommand
from skipjack.extensions.hooks import HookFailure
from skipjack.llm.types import AssistantMessage, Model, TextContent, ToolCall, Usage, UserMessage
from skipjack.llm.usage import unpriced_requests
from skipjack.runtime import RunOptions, Runtime, attach_session, build_runtime, check_cost_limit
from skipjack.safety.hook import Answer, AskUser
from skipjack.sessions import Session, SessionError, SessionNotFoundError, SessionStore, project_root
from skipjack.subagents import Subagents, TaskTool
from skipjack.tools import with_edit_tool_for
from skipjack.tools.editor_files import STATE_KEY as EDITOR_FILES
from skipjack.tools.editor_files import EditorFiles

if TYPE_CHECKING:
    from skipjack.agent.tool import ToolOutput
    from skipjack.checkpoints import RewindPlan, TurnInfo
    from skipjack.reports import Row
    from skipjack.safety.policy import Verdict
    from skipjack.sessions.store import SessionSummary

Listener = Callable[[Event], None]
APPROVAL_MODES: tuple[ApprovalMode, ...] = ("plan", "ask", "auto-edit", "yolo")


class Controller:
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
        agent.hooks = dataclasses.replace(
            agent.hooks, after_tool_call=self._tool_hooks.after(agent.hooks.after_tool_call)
        )
        self._prompt_hooks = PromptHooks(self.hook_runner)
        self.ask_with(ask)
        agent.subscribe(self._emit)
        self._install_compactor(None)
        self.mcp = McpBridge(runtime, self._emit, trust_project=runtime.trust_project)
        """The session's MCP servers (started now, in the background)."""
        self._checkpoints = TurnCheckpoints(
            runtime.config.settings.checkpoints, project_root(agent.cwd), runtime.env, self._emit
        )

    def ask_with(self, ask: AskUser | Literal["events"] | None) -> None:
        """How approval questions are put from now on (see the class): to the tools' calls,
        custom commands' `!` lines and subagents' calls alike."""
        asker = notifying(self.hook_runner, self._ask_by_event if ask == "events" else ask)
        runtime, agent = self.runtime, self.runtime.agent
        agent.hooks = dataclasses.replace(agent.hooks, before_tool_call=self._tool_hooks.before(runtime.policy, asker))
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

    def set_approval(self, mode: str) -> None:
        """Switch the approval mode; the sandbox of the next shell command follows it."""
        if mode not in APPROVAL_MODES:
            raise UserError(f"approval mode {mode!r} is not one of {', '.join(APPROVAL_MODES)}")
        changed = mode != self.runtime.approval_mode
        self.runtime.approval_mode = mode
        if changed:
            self._remind(mode_reminder(mode))
        self._emit(ApprovalModeChanged(mode, self.runtime.sandbox_policy().mode))

    def _remind(self, text: str) -> None:
        """Tell the model before its next request: now, as steering, when a run is going
        (it reaches the very next model call); else inside the next prompt."""
        if self.agent.is_running:
            self.agent.steer(text)
            self._reminder = None
        else:
            self._reminder = text

    def set_network(self, on: bool | None) -> bool:
        """Network for sandboxed commands from the next one on (None: leave it); returns the state."""
        if on is not None:
            self.runtime.network_override = on
        return self.runtime.sandbox_policy().network

    def trust_project(self) -> Path:
        """Remember this project as trusted in the user config; returns the folder written.
        Its privileged settings apply to a controller built afterwards (`Controller.build`)."""
        from skipjack.config import user_config_path
        from skipjack.config.loader import add_trusted_project

        return add_trusted_project(user_config_path(self.runtime.env), self.runtime.policy.project_root)

    def preview(self, tool_name: str, arguments: Any) -> tuple[str | None, str | None]:
        """(diff, refusal): what a file tool call would change, for its approval; a call the
        tool would refuse gives the reason instead. (None, None) for other tools."""
        from skipjack.tools.preview import PreviewError, preview_diff

        try:
            return preview_diff(tool_name, arguments, self.agent.cwd, self.agent.tool_state), None
        except PreviewError as e:
            return None, str(e)

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

    async def _ask_by_event(self, call: ToolCall, verdict: Verdict) -> Answer:
        approval_id = f"a{next(self._approval_ids)}"
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._pending[approval_id] = (future, call)
        diff, refusal = self.preview(call.name, call.arguments)
        self._emit(
            ApprovalRequest(
                approval_id,
                call.id,
                call.name,
                call.arguments,
                verdict.reason,
                verdict.subject,
                list(verdict.suggested_rules),
                diff,
                refusal,
            )
        )
        try:
            return await future
        finally:
            self._pending.pop(approval_id, None)

    def answer_approval(self, approval_id: str, answer: Answer) -> None:
        """Answer an `approval_request`; raises `UserError` for an id that is not pending."""
        pending = self._pending.pop(approval_id, None)
        if pending is None:
            raise UserError(f"no approval request {approval_id!r} is waiting")
        future, _ = pending
        if not future.done():
            future.set_result(answer)
        self._emit(ApprovalResolved(approval_id, answer.choice))

    # -- model -------------------------------------------------------------------------------

    def switch_model(self, ref: str) -> Model:
        """Use `ref` (`provider/model-id`) from the next request on: its own key, base URL
        and API; the compactor follows; the session records the change."""
        from skipjack.models import RegistryError, registry_for

        runtime = self.runtime
        agent = runtime.agent
        if ref == agent.model.ref:
            model = agent.model
        elif ref in self._models:
            model = self._models[ref]
        else:
            try:
                model = registry_for(runtime.config.settings).get_model(ref, runtime.env)
            except RegistryError as e:
                raise UserError(str(e)) from e
        check_cost_limit(model, agent.limits.max_cost)
        key = runtime.key_for(model)
        self._models[ref] = model
        agent.model = model
        runtime.model = model
        # A GPT-5/codex model gets apply_patch, any other the edit tool (`tools.edit_format`).
        agent.tools = with_edit_tool_for(agent.tools, agent.cwd, model, runtime.config.settings.tools.edit_format)
        agent.options = msgspec.structs.replace(
            agent.options, api_key=key, reasoning=agent.options.reasoning if model.reasoning else None
        )
        if self._compactor is not None:
            self._compactor.options = agent.options
        if self.session is not None:
            try:
                self.session.append_model_change(ref)
            except OSError as e:
                self._emit(PersistenceFailed(self.session.id, f"the model change was not saved: {e}"))
        self._emit(ModelSwitched(ref, model.api, model.base_url, key is not None))
        if key is None and model.api_key_env:
            self._emit(Warning_(missing_key_hint(model)))
        return model

    # -- sessions ------------------------------------------------------------------------------

    def open_session(self, *, continue_latest: bool = False, session_id: str | None = None) -> Session:
        """A new session (now, not at the first prompt), the project's latest, or one by id."""
        cwd = self.agent.cwd
        try:
            if session_id is not None:
                session = self.store.open(session_id, cwd)
            elif continue_latest:
                latest = self.store.latest(cwd)
                if latest is None:
                    raise UserError(f"there is no session to continue in {cwd}; start one without --continue")
                session = latest
            else:
                session = self.store.create(cwd, self.model.ref)
        except SessionNotFoundError as e:
            raise UserError(f"{e}; `skipjack sessions` lists this project's sessions") from e
        except SessionError as e:
            raise UserError(str(e)) from e
        resume = session_id is not None or continue_latest
        if resume:
            # A run that was killed may have left tool calls without results: record their
            # "interrupted" results now, so the file itself is whole (loading mends it anyway).
            try:
                session.answer_open_calls()
            except SessionError as e:
                session.close()
                raise UserError(str(e)) from e
            except OSError:
                pass  # kept in session.write_failures; reported at the end of the run
        self.use_session(session, resume=resume)
        return session

    def resume_session(self, session_id: str) -> Session:
        """`latest` or a session id (a unique prefix will do)."""
        if self.agent.is_running:
            raise UserError("the agent is running: abort it before switching sessions")
        if session_id == "latest":
            return self.open_session(continue_latest=True)
        return self.open_session(session_id=session_id)

    def new_session(self) -> None:
        """An empty conversation; its session file is created at its first prompt."""
        if self.agent.is_running:
            raise UserError("the agent is running: abort it before starting a new conversation")
        self.use_session(None)
        self.agent.replace_messages([])
        self._usage_base = self.agent.usage_totals()
        self._emit(SessionChanged(None, False, 0))

    def fork_session(self, entry_id: str | None = None) -> Session:
        """A new session holding this one's history up to `entry_id` (None: all of it),
        continued from here."""
        if self.session is None:
            raise UserError("nothing to fork: this conversation has no session yet")
        if entry_id is None:
            self.session.sync()
            entries = self.session.all_entries()
            if not entries:
                raise UserError("nothing to fork yet")
            entry_id = entries[-1].id
        try:
            session = self.store.fork(self.session.id, entry_id)
        except (SessionError, KeyError, ValueError) as e:
            raise UserError(f"cannot fork at {entry_id!r}: {e}") from e
        self.use_session(session, resume=True)
        return session

    def list_sessions(self) -> list[SessionSummary]:
        """This project's saved sessions that can be resumed, newest first."""
        return [s for s in self.store.list(self.agent.cwd) if s.error is None]

    def ensure_session(self) -> Session | None:
        if self.session is None and self.record_sessions:
            try:
                self.open_session()
            except UserError as e:
                self.record_sessions = False
                self._emit(Warning_(f"sessions are not saved: {e}"))
        return self.session

    def use_session(self, session: Session | None, *, resume: bool = False) -> None:
        """Record into `session` from now on (None: stop recording); `resume` also makes its
        context the agent's conversation."""
        if self._unrecord is not None:
            self._unrecord()
            self._unrecord = None
        if self.session is not None and self.session is not session:
            self.close_session()
        self.session = session
        self._resumed = resume
        self._last_prompt = None
        if session is None:
            self._install_compactor(None)
            return
        self._unrecord = attach_session(self.runtime, session, resume=resume, on_write_error=self._write_failed)
        self._install_compactor(self.runtime.compactor)
        self._emit(SessionChanged(session.id, resume, len(self.agent.messages)))

    def close_session(self) -> None:
        """Answer any calls a run left open (a no-op after a clean abort), then close."""
        session = self.session
        if session is None:
            return
        with contextlib.suppress(OSError, SessionError):
            session.answer_open_calls()
        with contextlib.suppress(OSError):
            session.close()

    def close(self) -> None:
        self.abort()
        self.mcp.close()
        if self._unrecord is not None:
            self._unrecord()
            self._unrecord = None
        self.close_session()

    def _write_failed(self, error: BaseException) -> None:
        session_id = self.session.id if self.session is not None else ""
        self._emit(PersistenceFailed(session_id, str(error)))

    # -- checkpoints and rewind (see controller/checkpointing.py) ---------------------------------

    def checkpoints(self) -> list[TurnInfo]:
        """This session's user turns with their checkpoints, oldest first."""
        return self._checkpoints.turns(self._require_session())

    def plan_rewind(self, turn: int | None = None, *, kind: str = "rewind") -> RewindPlan:
        """What a rewind (`kind="undo"`/`"redo"`: an undo or redo) would change: diff and conflicts."""
        return self._checkpoints.plan(self._require_session(), kind, turn)

    def rewind(self, turn: int, mode: RewindMode = "both", *, overwrite_conflicts: bool | None = None) -> RewindOutcome:
        """Files and/or conversation back to before `turn`; raises `RewindConflict` (a
        `UserError`) when hand-made changes would be overwritten and `overwrite_conflicts` is None."""
        return self._restore("rewind", turn, mode, overwrite_conflicts)

    def undo(self, *, overwrite_conflicts: bool | None = None) -> RewindOutcome:
        """The last (not yet undone) turn's file changes, reverted."""
        return self._restore("undo", None, "files", overwrite_conflicts)

    def redo(self, *, overwrite_conflicts: bool | None = None) -> RewindOutcome:
        """The files as the last undo found them."""
        return self._restore("redo", None, "files", overwrite_conflicts)

    def _restore(
        self, kind: Literal["rewind", "undo", "redo"], turn: int | None, mode: RewindMode, overwrite: bool | None
    ) -> RewindOutcome:
        if self.agent.is_running:
            raise UserError(f"the agent is running: abort it before {kind}")
        outcome = run_rewind(
            self._checkpoints,
            self._require_session(),
            kind=kind,
            turn=turn,
            mode=mode,
            overwrite_conflicts=overwrite,
            fork=lambda entry_id: self.fork_session(entry_id),
        )
        r = outcome.restored
        left = [f"{s.path}: {s.reason}" for s in r.left]
        self._emit(Rewound(kind, outcome.turn, mode, r.written, r.deleted, left, outcome.session_id, outcome.prompt))
        return outcome

    def _require_session(self) -> Session:
        if self.session is None:
            raise UserError("this conversation has no session yet, so no checkpoints")
        return self.session

    # -- compaction ------------------------------------------------------------------------------

    def _install_compactor(self, compactor: Compactor | None) -> None:
        """The session's compactor (from `attach_session`), or one for a conversation that is
        not recorded; either way its start, end and failure become events."""
        runtime, agent = self.runtime, self.runtime.agent
        if compactor is None:
            compactor = Compactor(
                lambda: agent.model,
                session=None,
                settings=runtime.config.settings.compaction,
                summary_model=runtime.summary_model,
                options=agent.options,
                key_for=runtime.key_for,
            )
            agent.hooks = compactor.hooks(agent.hooks)

        def compacted(result: CompactionResult) -> None:
            agent.charge(result.usage)
            self._emit(
                CompactionEnded(
                    result.trigger,
                    result.summarized,
                    result.kept,
                    result.tokens_before,
                    result.tokens_after,
                    result.usage.cost.total,
                )
            )

        compactor.on_compaction = compacted
        compactor.on_start = lambda trigger: self._emit(CompactionStarted(trigger))
        compactor.on_failure = lambda e: self._emit(CompactionFailed(str(e), True))
        runtime.compactor = compactor
        self._compactor = compactor

    async def compact(self, focus: str | None = None) -> CompactionResult | None:
        """Compact now (`/compact`); None when there is too little history. A failure is a
        `compaction_failed` event and a `UserError`."""
        if self.agent.is_running:
            raise UserError("the agent is running: compact once it is idle")
        compactor = self._compactor
        assert compactor is not None  # installed in __init__ and by every use_session
        compactor.options = self.agent.options  # the key of the model in use now
        try:
            result = await compactor.compact(self.agent.messages, focus)
        except CompactionError as e:
            self._emit(CompactionFailed(str(e), False))
            raise UserError(f"compaction failed: {e}") from e
        if result is not None:
            self.agent.replace_messages(result.messages)
        return result


MODE_REMINDERS: dict[str, str] = {
    "plan": "Plan mode is on: the user wants a plan before any change. Read, search and think; "
    "edits, file writes and commands that change anything will be denied, so do not attempt them. "
    "End with a concrete plan and wait for the user to switch modes.",
    "ask": "The approval mode is now `ask`: edits and commands that change files run only after "
    "the user approves each one.",
    "auto-edit": "The approval mode is now `auto-edit`: edits in the project run without asking; "
    "commands that change files still need the user's approval.",
    "yolo": "The approval mode is now `yolo`: tool calls run without asking the user.",
}


def mode_reminder(mode: str) -> str:
    """What the model is told when the approval mode changes."""
    return f"<system-reminder>{MODE_REMINDERS[mode]}</system-reminder>"


def _replace(hooks: Any, **changes: Any) -> Any:
    import dataclasses

    return dataclasses.replace(hooks, **changes)
