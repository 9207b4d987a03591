"""The skipjack terminal UI: chat, prompt, status line; the agent runs as a task of the app."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Mapping
from typing import ClassVar

import msgspec
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical

import skipjack.tui.commands as commands
import skipjack.tui.rewind as rewind  # registers /rewind, /undo, /redo; Esc Esc opens the list
from skipjack.agent import Agent, RunResult
from skipjack.controller import Controller, Event
from skipjack.controller.access_check import AccessProblem
from skipjack.controller.events import ApprovalModeChanged, CompactionEnded, CompactionFailed, Warning_
from skipjack.controller.stop_signals import StopSignals
from skipjack.errors import UserError
from skipjack.llm.types import ToolCall
from skipjack.runtime import RunOptions
from skipjack.safety.hook import Answer
from skipjack.safety.policy import Verdict
from skipjack.sessions import Session
from skipjack.tui.approval import ApprovalBox
from skipjack.tui.bridge import AgentView
from skipjack.tui.chat import ChatView
from skipjack.tui.formatting import plural, tokens
from skipjack.tui.mcp import is_prompt_command, prompt_completions, resource_completion, show_server_states
from skipjack.tui.messages import UserBubble
from skipjack.tui.prompt import PromptBox, PromptInput
from skipjack.tui.prompt_history import PromptHistory
from skipjack.tui.status import StatusLine
from skipjack.tui.welcome import welcome_text

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
    #approval-slot { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "interrupt", "abort / exit", priority=True, show=False),
        Binding("escape", "abort", "abort", show=False),
    ]

    def __init__(
        self,
        options: RunOptions,
        *,
        controller: Controller | None = None,
        prompt: str | None = None,
        resume: str | None = None,
        record_sessions: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """`controller`: the working session, when the caller built it (else built on mount,
        or after the setup screen); `resume`: a session id, or "latest"."""
        super().__init__()
        self.options = options
        self.cwd = options.cwd.resolve()
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.controller: Controller | None = None
        """The working session: every model, session, compaction and approval action goes
        through it; the app only renders its events."""
        self._initial = controller
        self.first_prompt = prompt
        self.resume = resume
        self.record_sessions = record_sessions
        self.chat = ChatView()
        self.pending = Vertical(id="pending")
        self.approval_slot = Vertical(id="approval-slot")
        self.prompt_box = PromptBox(
            self.cwd,
            lambda: commands.completions() + commands.custom_completions(self) + prompt_completions(self.controller),
            lambda before_cursor: resource_completion(self.controller, before_cursor),
        )
        self.status = StatusLine()
        self.view = AgentView(self)
        self.history = PromptHistory(self.env, self.cwd)
        self._expect_echo = 0
        self.shell_count = 0
        self._last_ctrl_c = 0.0
        self._run_result: RunResult | None = None
        self._trust_asked = options.trust_project
        self._stop_signals: StopSignals | None = None
        self._reported_unsaved: str | None = None
        self._approvals: dict[ApprovalBox, asyncio.Future[Answer]] = {}
        self.goodbye: str | None = None
        """Printed by `run_tui` once the screen is given back: how to come back to this session."""
        if controller is not None:
            self._control(controller)

    # -- layout ------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.chat
        yield self.pending
        yield self.approval_slot
        yield self.prompt_box
        yield self.status

    @property
    def input(self) -> PromptInput:
        return self.prompt_box.input

    @property
    def agent(self) -> Agent | None:
        return self.controller.agent if self.controller is not None else None

    @property
    def session(self) -> Session | None:
        return self.controller.session if self.controller is not None else None

    async def on_mount(self) -> None:
        self.input.sent = self.history.load()
        self.input.focus()
        # Outside the terminal's own keys (Ctrl+C arrives as a key in raw mode): `kill`,
        # closing the terminal (SIGHUP), a service manager's SIGTERM. The first stops the run
        # like Esc does and then leaves; a second one forces the exit (see controller.stop_signals).
        self._stop_signals = StopSignals(
            asyncio.get_running_loop(), self._leave_on_signal, before_exit=self._close_session
        )
        self._stop_signals.install()
        if self._initial is not None:
            self.attach(self._initial)
            return
        try:
            controller = self.build_controller()
        except UserError as e:
            from skipjack.tui.setup import SetupScreen, needs_setup

            self.chat.add(welcome_text(self.cwd, None))
            if needs_setup(self.options, self.env):
                self.push_screen(SetupScreen(self.env, check=self.check_access), callback=self._after_setup)
            else:
                self.chat.notice(f"{e} — or pick one with /model", "error")
            return
        self.attach(controller)

    def build_controller(self) -> Controller:
        """A controller from the options and config files; raises `UserError`."""
        return Controller.build(self.options, env=self.env, record_sessions=self.record_sessions)

    async def check_access(self, model_ref: str) -> AccessProblem | None:
        """Setup's check of a new key or server: one 1-token request through the controller."""
        return await Controller.check_access(msgspec.structs.replace(self.options, model=model_ref), self.env)

    def _after_setup(self, model_ref: str | None) -> None:
        if model_ref is not None:
            self.options = msgspec.structs.replace(self.options, model=model_ref)
        try:
            self.attach(self.build_controller())
        except UserError as e:
            self.chat.notice(f"{e} — pick a model with /model", "error")

    def attach(self, controller: Controller) -> None:
        """Start using `controller`: approvals, events, status; resume and first prompt."""
        if self.controller is not controller:
            if self.controller is not None:
                self.controller.close()
            self._control(controller)
        self.run_worker(show_server_states(controller), group="mcp", exit_on_error=False)
        self.status.model = controller.model
        self.status.mode = controller.approval_mode
        if not self.chat.children:
            self.chat.add(welcome_text(self.cwd, controller.model.ref))
        for warning in controller.warnings:
            self.chat.notice(warning, "warning")
        config = controller.runtime.config
        if config.untrusted_privileged and not self._trust_asked:
            from skipjack.tui.trust import TrustScreen

            self._trust_asked = True
            root = str(controller.runtime.policy.project_root)
            self.push_screen(TrustScreen(root, config), callback=self._after_trust)
            return
        self._start()

    def _after_trust(self, trusted: bool | None) -> None:
        """Trust: remember the folder and reload with the project's settings; else go on."""
        if trusted and self.controller is not None:
            folder = self.controller.trust_project()
            try:
                controller = self.build_controller()
            except UserError as e:
                self.chat.notice(f"{e}; the project's settings were not applied", "error")
            else:
                self.chat.notice(f"trusted {folder}; its project settings now apply", "info")
                self.attach(controller)
                return
        self._start()

    def _start(self) -> None:
        """Resume the asked-for session and send the first prompt, once the controller is settled."""
        if self.resume is not None:
            commands.resume_session(self, self.resume)
            self.resume = None
        self.refresh_usage()
        if self.first_prompt:
            prompt, self.first_prompt = self.first_prompt, None
            self.submit(prompt)

    # -- the controller ----------------------------------------------------------------

    def _control(self, controller: Controller) -> None:
        controller.ask_with(self.ask_approval)
        controller.record_sessions = controller.record_sessions and self.record_sessions
        controller.subscribe(self.on_controller_event)
        self.controller = controller

    def on_controller_event(self, event: Event) -> None:
        """The agent's events to the chat view; the controller's own as notices and status."""
        kind = event.type
        if kind == "compaction_end":
            assert isinstance(event, CompactionEnded)
            how = {"threshold": "the context was filling up", "overflow": "the model said the context was too long"}
            why = how.get(event.trigger, "on request")
            self.chat.notice(
                f"compacted ({why}): {plural(event.summarized, 'message')} summarised, {event.kept} kept; "
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
            self.status.mode = self.controller.approval_mode if self.controller is not None else self.status.mode
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
        self.history.add(event.text)
        self.submit(event.text)

    def on_prompt_input_scroll(self, event: PromptInput.Scroll) -> None:
        # From where the view is now, at once: Textual's animated page scroll started each
        # press from where the previous one began, so fast presses skipped pages.
        chat = self.chat
        page = max(1, chat.scrollable_content_region.height)
        target = max(0.0, min(float(chat.max_scroll_y), chat.scroll_y + event.pages * page))
        chat.scroll_to(y=target, animate=False, immediate=True)

    def submit(self, text: str) -> None:
        # MCP prompts and custom commands run as prompts (the controller expands them).
        if commands.is_command(text) and not is_prompt_command(text) and not commands.is_custom(self, text):
            self.run_worker(commands.dispatch(self, text), group="command", exit_on_error=False)
            return
        if text.startswith("!"):
            self.run_worker(commands.shell(self, text[1:].strip()), group="shell", exit_on_error=False)
            return
        agent = self.agent
        if agent is None:
            self.chat.notice("no model is set up yet: pick one with /model", "error")
            return
        self.to_bottom()
        if agent.is_running:
            agent.steer(text)
            self.pending.mount(UserBubble(text, pending=True))
            return
        failed = self.controller.retry_text() if self.controller is not None else None
        if failed is not None and " ".join(text.split()) == " ".join(failed.split()):
            # The same words again after a failure (↑ Enter, spacing aside): a retry, so the
            # chat and the model's next request hold the message once.
            self.start_retry()
            return
        self.start_run(text)

    def to_bottom(self) -> None:
        """Back to the end of the chat, following new content again (after scrolling up)."""
        self.chat.scroll_end(animate=False, immediate=True)
        self.chat.anchor()

    def start_run(self, text: str) -> None:
        self.chat.add_user(text)
        self._expect_echo += 1
        self.status.set_state("thinking…")
        self.run_worker(self._run(text), group="agent", exit_on_error=False)

    def start_retry(self) -> None:
        """The failed prompt once more: its bubble is already in the chat."""
        self.to_bottom()
        self.chat.notice("retrying the last prompt")
        self.status.set_state("thinking…")
        self.run_worker(self._run(None), group="agent", exit_on_error=False)

    async def _run(self, text: str | None) -> None:
        """`text`: a prompt; None: retry the failed one."""
        controller = self.controller
        assert controller is not None
        result: RunResult | None = None
        try:
            result = await (controller.prompt(text) if text is not None else controller.retry())
        except UserError as e:
            # Refused before anything was sent (a UserPromptSubmit hook, a bad custom
            # command): the user's own words, not a defect of ours.
            self.chat.notice(str(e), "error")
            self.status.set_state("ready")
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

    # -- keys and focus ----------------------------------------------------------------

    def abort_run(self) -> bool:
        """Stop the agent's run, else the user's running `!command`s; whether there was one."""
        agent = self.agent
        if agent is None or not agent.is_running or self.controller is None:
            shells = [w for w in self.workers if w.group == "shell" and w.is_running]
            for worker in shells:
                worker.cancel()  # the bash tool kills the command's process group
            return bool(shells)
        self.controller.abort()
        self.status.set_state("aborting…")
        return True

    def action_abort(self) -> None:
        self.abort_run() or rewind.on_escape(self)

    def action_interrupt(self) -> None:
        # Text selected with the mouse (drag over the chat): Ctrl+C copies it, as in a
        # terminal, instead of aborting; the mouse is the UI's, so this is how to copy.
        selected = self.screen.get_selected_text()
        if selected:
            self.copy_to_clipboard(selected)
            self.screen.clear_selection()
            self.notify("copied", timeout=1.5)
            return
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

    def on_key(self, event: events.Key) -> None:
        """A key nobody took (the focus on a tool panel after a click): typing goes to the prompt."""
        if self.screen is not self.screen_stack[0] or self._approvals:
            return
        if event.is_printable and event.character and self.focused is not self.input:
            event.stop()
            self.input.focus()
            self.input.insert(event.character)

    def on_click(self, event: events.Click) -> None:
        """A click (to expand a tool panel, to select) must not take the keys from the prompt,
        nor from an open approval box."""
        if self.screen is self.screen_stack[0]:
            self.call_after_refresh(self._refocus)

    def _refocus(self) -> None:
        if self.screen is not self.screen_stack[0]:
            return
        if self._approvals:
            box = list(self._approvals)[-1]
            if self.focused is not box and not box.reason_input.has_focus:
                box.focus()
        elif self.focused is not self.input:
            self.input.focus()

    # -- approvals ---------------------------------------------------------------------

    async def ask_approval(self, call: ToolCall, verdict: Verdict) -> Answer:
        """The question docked above the prompt, the chat scrolled to its end first so what
        the model just said is in view; answered by `on_approval_box_answered`."""
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        diff, refusal = self.controller.preview(call.name, call.arguments) if self.controller else (None, None)
        box = ApprovalBox(call, verdict, diff=diff, refusal=refusal)
        self._approvals[box] = future
        before = self.status.state
        self.status.set_state(f"waiting for approval: {call.name}")
        self.to_bottom()
        await self.approval_slot.mount(box)
        box.focus()
        # Again once the box has taken its rows (the chat got shorter) and the model's last
        # words are laid out: scrolled before that, the end is not what shows.
        self.call_after_refresh(self.to_bottom)
        self.set_timer(0.1, self.to_bottom)
        try:
            return await future
        finally:
            # Answered, or the run was aborted while the question was open: take it away.
            self._approvals.pop(box, None)
            if box.is_mounted:
                await box.remove()
            if not self._approvals:
                self.input.focus()
                self.to_bottom()
            if self.status.state.startswith("waiting for approval"):
                self.status.set_state(before)

    def on_approval_box_answered(self, event: ApprovalBox.Answered) -> None:
        future = self._approvals.get(event.box)
        if future is not None and not future.done():
            future.set_result(event.answer)
        if event.stop_run:
            self.abort_run()

    def on_approval_box_give_back(self, event: ApprovalBox.GiveBack) -> None:
        self.input.insert(event.character)

    # -- status ------------------------------------------------------------------------

    def auth_hint(self) -> str:
        return self.controller.auth_hint() if self.controller is not None else ""

    def refresh_usage(self) -> None:
        controller = self.controller
        cost = controller.cost() if controller is not None else 0.0
        unpriced = controller.unpriced_requests() if controller is not None else 0
        self.status.set_usage(self.view.last_context, cost, unpriced)

    def on_unmount(self) -> None:
        self.abort_run()
        if self._stop_signals is not None:
            self._stop_signals.remove()
        if self.controller is not None:
            session = self.controller.session
            if session is not None and session.message_count:
                self.goodbye = f"resume this session with: skipjack --continue  (or skipjack --session {session.id})"
            self.controller.close()

    def _close_session(self) -> None:
        """Answer the calls an unfinished run left open, so the session resumes, then close it."""
        if self.controller is not None:
            self.controller.close_session()
