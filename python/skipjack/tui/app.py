"""The skipjack terminal UI: chat, prompt, status line; the agent runs as a task of the app."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical

import skipjack.tui.commands as commands
import skipjack.tui.rewind as rewind  # registers /rewind, /undo, /redo; Esc Esc opens the list
from skipjack.agent import Agent, RunResult
from skipjack.controller import Controller, Event
from skipjack.controller.events import ApprovalModeChanged, CompactionEnded, CompactionFailed, Warning_
from skipjack.controller.stop_signals import StopSignals
from skipjack.errors import UserError
from skipjack.llm.types import ToolCall
from skipjack.runtime import RunOptions, Runtime, build_runtime
from skipjack.safety.hook import Answer
from skipjack.safety.policy import ApprovalPolicy, Verdict
from skipjack.tui.approval import ApprovalScreen
from skipjack.tui.bridge import AgentView
from skipjack.tui.chat import ChatView
from skipjack.tui.formatting import tokens
from skipjack.tui.messages import UserBubble
from skipjack.tui.prompt import PromptBox, PromptInput
from skipjack.tui.status import StatusLine

if TYPE_CHECKING:
    from skipjack.compaction import Compactor
    from skipjack.sessions import Session, SessionStore

log = logging.getLogger(__name__)

_NOT_SHOWN = frozenset(
    {"compaction_start", "persistence_failed", "session_changed", "approval_request", "approval_resolved"}
    | {"checkpoint", "rewound"}  # rewinds: tui/rewind.py reports what it did
)
EXIT_WINDOW_S = 2.0
"""A second Ctrl+C within this long of the first, on an idle empty prompt, exits."""


class SkipjackApp(App[int]):
    TITLE = "skipjack"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { layout: vertical; }
    #pending { height: auto; max-height: 6; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "interrupt", "abort / exit", priority=True, show=False),
        Binding("escape", "abort", "abort", show=False),
    ]

    def __init__(
        self,
        options: RunOptions,
        *,
        runtime: Runtime | None = None,
        prompt: str | None = None,
        resume: str | None = None,
        store: SessionStore | None = None,
        record_sessions: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`resume`: a session id, or "latest" for the project's most recent session."""
        super().__init__()
        self.options = options
        self.cwd = options.cwd.resolve()
        self.env: Mapping[str, str] = os.environ if env is None else env
        self._initial_runtime = runtime
        self.controller: Controller | None = None
        """The working session: every model, session, compaction and approval action goes
        through it; the app only renders its events."""
        self.first_prompt = prompt
        self.resume = resume
        self.record_sessions = record_sessions
        self._store = store
        self.chat = ChatView()
        self.pending = Vertical(id="pending")
        self.prompt_box = PromptBox(self.cwd, commands.completions)
        self.status = StatusLine()
        self.view = AgentView(self)
        self._expect_echo = 0
        self.shell_count = 0
        self._last_ctrl_c = 0.0
        self._run_result: RunResult | None = None
        self._trust_asked = options.trust_project
        self._stop_signals: StopSignals | None = None
        self._reported_unsaved: str | None = None
        if runtime is not None:
            self.controller = self._control(runtime)

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.chat
        yield self.pending
        yield self.prompt_box
        yield self.status

    @property
    def input(self) -> PromptInput:
        return self.prompt_box.input

    @property
    def runtime(self) -> Runtime | None:
        return self.controller.runtime if self.controller is not None else None

    @property
    def session(self) -> Session | None:
        return self.controller.session if self.controller is not None else None

    @property
    def compactor(self) -> Compactor | None:
        return self.controller.compactor if self.controller is not None else None

    @property
    def policy(self) -> ApprovalPolicy | None:
        """The runtime's one policy: `/approval` switches its mode."""
        return self.runtime.policy if self.runtime is not None else None

    @property
    def agent(self) -> Agent | None:
        return self.runtime.agent if self.runtime is not None else None

    @property
    def store(self) -> SessionStore:
        if self._store is None:
            from skipjack.sessions import SessionStore

            self._store = SessionStore(env=self.env)
        return self._store

    async def on_mount(self) -> None:
        self.input.focus()
        # Outside the terminal's own keys (Ctrl+C arrives as a key in raw mode): `kill`,
        # closing the terminal (SIGHUP), a service manager's SIGTERM. The first stops the run
        # like Esc does and then leaves; a second one forces the exit (see controller.stop_signals).
        self._stop_signals = StopSignals(
            asyncio.get_running_loop(), self._leave_on_signal, before_exit=self._close_session
        )
        self._stop_signals.install()
        if self._initial_runtime is not None:
            self.attach(self._initial_runtime)
            return
        try:
            runtime = build_runtime(self.options, env=self.env)
        except UserError as e:
            from skipjack.tui.setup import SetupScreen, needs_setup

            if needs_setup(self.options, self.env):
                self.push_screen(SetupScreen(self.env), callback=self._after_setup)
            else:
                self.chat.notice(f"{e} — or pick one with /model", "error")
            return
        self.attach(runtime)

    def _after_setup(self, model_ref: str | None) -> None:
        if model_ref is not None:
            self.options = dataclasses.replace(self.options, model=model_ref)
        try:
            self.attach(build_runtime(self.options, env=self.env))
        except UserError as e:
            self.chat.notice(f"{e} — pick a model with /model", "error")

    def attach(self, runtime: Runtime) -> None:
        """Start using `runtime` through a controller: approvals, events, status; resume and
        first prompt."""
        if self.controller is None or self.controller.runtime is not runtime:
            if self.controller is not None:
                self.controller.close()
            self.controller = self._control(runtime)
        agent = runtime.agent
        self.status.model = agent.model
        self.status.mode = runtime.approval_mode
        for warning in runtime.warnings:
            self.chat.notice(warning, "warning")
        if runtime.config.untrusted_privileged and not self._trust_asked:
            from skipjack.tui.trust import TrustScreen

            self._trust_asked = True
            self.push_screen(TrustScreen(str(runtime.policy.project_root), runtime.config), callback=self._after_trust)
            return
        self._start()

    def _after_trust(self, trusted: bool | None) -> None:
        """Trust: remember the folder and reload with the project's settings; else go on."""
        if trusted:
            from skipjack.config import user_config_path
            from skipjack.config.loader import add_trusted_project

            root = self.runtime.policy.project_root if self.runtime is not None else self.cwd
            folder = add_trusted_project(user_config_path(self.env), root)
            try:
                runtime = build_runtime(self.options, env=self.env)
            except UserError as e:
                self.chat.notice(f"{e}; the project's settings were not applied", "error")
            else:
                self.chat.notice(f"trusted {folder}; its project settings now apply", "info")
                self.attach(runtime)
                return
        self._start()

    def _start(self) -> None:
        """Resume the asked-for session and send the first prompt, once the runtime is settled."""
        if self.resume is not None:
            commands.resume_session(self, self.resume)
            self.resume = None
        self.refresh_usage()
        if self.first_prompt:
            prompt, self.first_prompt = self.first_prompt, None
            self.submit(prompt)

    # -- sessions ----------------------------------------------------------------------

    def _control(self, runtime: Runtime) -> Controller:
        controller = Controller(runtime, ask=self.ask_approval, store=self.store, record_sessions=self.record_sessions)
        controller.subscribe(self.on_controller_event)
        return controller

    def use_session(self, session: Session | None, *, resume: bool = False) -> None:
        """Record the agent's messages into `session` from now on (None: stop recording);
        `resume` also makes the session's context the agent's conversation."""
        if self.controller is None:
            if session is not None:
                session.close()
            return
        self.controller.use_session(session, resume=resume)

    def on_controller_event(self, event: Event) -> None:
        """The agent's events to the chat view; the controller's own as notices and status."""
        kind = event.type
        if kind == "compaction_end":
            assert isinstance(event, CompactionEnded)
            how = {"threshold": "the context was filling up", "overflow": "the model said the context was too long"}
            why = how.get(event.trigger, "on request")
            self.chat.notice(
                f"compacted ({why}): {event.summarized} messages summarised, {event.kept} kept; "
                f"~{tokens(event.tokens_before)} → ~{tokens(event.tokens_after)} tokens"
            )
            self.view.last_context = event.tokens_after
            self.refresh_usage()
        elif kind == "compaction_failed":
            assert isinstance(event, CompactionFailed)
            if event.automatic:
                self.chat.notice(f"automatic compaction failed: {event.message}", "warning")
        elif kind == "model_switched":
            self.status.model = self.controller.model if self.controller is not None else None
            self.status.redraw()
        elif kind == "approval_mode_changed":
            assert isinstance(event, ApprovalModeChanged)
            self.status.mode = self.policy.mode if self.policy is not None else self.status.mode
            self.status.redraw()
        elif kind == "warning":
            assert isinstance(event, Warning_)
            self.chat.notice(event.message, "warning")
        elif kind in _NOT_SHOWN:
            # persistence_failed: reported once per run with what was not saved
            # (`_report_lost_work`); session_changed and approvals: the app made them.
            return
        else:
            self.view.handle(event)  # type: ignore[arg-type]

    # -- input -------------------------------------------------------------------------

    def on_prompt_input_submitted(self, event: PromptInput.Submitted) -> None:
        self.submit(event.text)

    def on_prompt_input_scroll(self, event: PromptInput.Scroll) -> None:
        if event.pages < 0:
            self.chat.scroll_page_up()
        else:
            self.chat.scroll_page_down()

    def submit(self, text: str) -> None:
        if text.startswith("/"):
            self.run_worker(commands.dispatch(self, text), group="command", exit_on_error=False)
            return
        if text.startswith("!"):
            self.run_worker(commands.shell(self, text[1:].strip()), group="shell", exit_on_error=False)
            return
        agent = self.agent
        if agent is None:
            self.chat.notice("no model is set up yet: pick one with /model", "error")
            return
        if agent.is_running:
            agent.steer(text)
            self.pending.mount(UserBubble(text, pending=True))
            return
        self.start_run(text)

    def start_run(self, text: str) -> None:
        self.chat.add_user(text)
        self._expect_echo += 1
        self.status.set_state("thinking…")
        self.run_worker(self._run(text), group="agent", exit_on_error=False)

    async def _run(self, text: str) -> None:
        controller = self.controller
        assert controller is not None
        result: RunResult | None = None
        try:
            result = await controller.prompt(text)
        except Exception as e:
            log.exception("the agent run failed")
            self.chat.notice(f"internal error: {type(e).__name__}: {e}", "error")
            self.status.set_state("ready")
        finally:
            self._expect_echo = 0
            self._run_result = result
        self._report_lost_work()
        code = self._stop_signals.exit_code if self._stop_signals is not None else None
        if code is not None:
            self.exit(code)
            return
        self._after_run(result)

    def _leave_on_signal(self) -> None:
        """The first stop signal: abort a run (the app leaves when it has ended), or leave now."""
        if not self.abort_run():
            code = self._stop_signals.exit_code if self._stop_signals is not None else None
            self.exit(code if code is not None else 0)

    def _report_lost_work(self) -> None:
        """Failures the run went on past, which would otherwise only reach the log: automatic
        compactions that failed, and session writes that failed (a full disk)."""
        from skipjack.sessions.session import unsaved_summary

        if self.session is None:
            return
        unsaved = unsaved_summary(self.session)
        if unsaved is not None and unsaved != self._reported_unsaved:
            self._reported_unsaved = unsaved
            self.chat.notice(f"{unsaved}; free some space, then /resume to go on", "error")

    def _after_run(self, result: RunResult | None) -> None:
        """Steering that arrived too late for the run: sent as the next prompt after a clean
        finish, handed back to the editor after an abort or an error."""
        leftover = [b for b in self.pending.query(UserBubble)]
        if not leftover:
            return
        texts = [b.text for b in leftover]
        for bubble in leftover:
            bubble.remove()
        agent = self.agent
        if agent is not None:
            agent.abort()  # idle: only empties the inbox, so nothing is delivered twice
        if result is not None and result.stop_reason == "completed":
            self.start_run("\n\n".join(texts))
        else:
            self.input.load_text("\n\n".join([*texts, self.input.text]).strip())
            self.input.move_cursor(self.input.document.end)

    def delivered(self, text: str) -> None:
        """A user message reached the model: the prompt itself, or a queued steering message."""
        if self._expect_echo:
            self._expect_echo -= 1
            return
        for bubble in self.pending.query(UserBubble):
            if bubble.text == text:
                bubble.remove()
                self.chat.add_user(text)
                return

    # -- keys --------------------------------------------------------------------------

    def abort_run(self) -> bool:
        agent = self.agent
        if agent is None or not agent.is_running:
            return False
        agent.abort()
        self.status.set_state("aborting…")
        return True

    def action_abort(self) -> None:
        self.abort_run() or rewind.on_escape(self)

    def action_interrupt(self) -> None:
        if self.abort_run():
            return
        if len(self.screen_stack) > 1:
            self.screen.dismiss()
            return
        if self.input.text:
            self.input.clear()
            return
        now = time.monotonic()
        if now - self._last_ctrl_c < EXIT_WINDOW_S:
            self.exit(0)
            return
        self._last_ctrl_c = now
        self.notify("Press Ctrl+C again to exit", timeout=EXIT_WINDOW_S)

    async def action_quit(self) -> None:
        self.abort_run()
        self.exit(0)

    # -- approvals ---------------------------------------------------------------------

    async def ask_approval(self, call: ToolCall, verdict: Verdict) -> Answer:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()

        def answered(answer: Answer | None) -> None:
            if not future.done():
                future.set_result(answer if answer is not None else Answer("deny"))

        screen = ApprovalScreen(call, verdict)
        before = self.status.state
        self.status.set_state(f"waiting for approval: {call.name}")
        await self.push_screen(screen, callback=answered)
        try:
            return await future
        except asyncio.CancelledError:
            # The run was aborted while the question was open: take the question away.
            if screen.is_current:
                screen.dismiss(Answer("deny"))
            raise
        finally:
            if self.status.state.startswith("waiting for approval"):
                self.status.set_state(before)

    # -- status ------------------------------------------------------------------------

    def refresh_usage(self) -> None:
        cost = 0.0
        if self.session is not None:
            cost = self.session.usage_totals().cost.total
        elif self.agent is not None:
            cost = self.agent.usage_totals().cost.total
        self.status.set_usage(self.view.last_context, cost)

    def on_unmount(self) -> None:
        self.abort_run()
        if self._stop_signals is not None:
            self._stop_signals.remove()
        if self.controller is not None:
            self.controller.close()

    def _close_session(self) -> None:
        """Answer the calls an unfinished run left open, so the session resumes, then close it."""
        if self.controller is not None:
            self.controller.close_session()
