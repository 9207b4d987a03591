"""The ACP agent: one `Controller` behind the protocol's requests.

An ACP session is a skipjack session (same id); the process holds one conversation at a
time, as the other front ends do. Controller events stream to the client as
`session/update` notifications through one queue, so they arrive in the order they
happened; a prompt's response is sent only once its updates are out. Calls that need
approval become `session/request_permission`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import acp
from acp import schema

from skipjack.acp.files import ClientFiles, offers_files
from skipjack.acp.mcp_servers import client_servers
from skipjack.acp.models import model_option
from skipjack.acp.updates import UpdateMapper, history_updates, tool_title
from skipjack.agent import RunResult
from skipjack.controller import Controller, Event
from skipjack.controller.events import Warning_
from skipjack.errors import UserError
from skipjack.safety.hook import Answer, AskUser
from skipjack.user_paths import expand_user

if TYPE_CHECKING:
    from skipjack.llm.types import ToolCall
    from skipjack.safety.policy import Verdict

ControllerFactory = Callable[[Path, AskUser], Controller]
"""Builds a controller for a working directory, with the server's way of asking."""

MODES: tuple[tuple[str, str, str], ...] = (
    ("ask", "Ask", "Ask before edits and commands that are not known to be safe"),
    ("auto-edit", "Auto-edit", "Edit files in the project without asking; ask before other commands"),
    ("plan", "Plan", "Read only: no edits, no commands that change anything"),
    ("yolo", "Yolo", "Run everything without asking"),
)
_STOP_REASONS: dict[str, schema.StopReason] = {
    "completed": "end_turn",
    "aborted": "cancelled",
    "max_turns": "max_turn_requests",
    "max_tokens": "max_tokens",
    "max_cost": "end_turn",
}
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
STOP_GRACE_S = 5.0
"""How long an aborted prompt may take to end (its tool's processes killed) before we exit."""
ALLOW_ONCE, ALLOW_ALWAYS, REJECT = "allow-once", "allow-always", "reject"


class SkipjackAcpAgent:
    """Implements `acp.interfaces.Agent` (the methods the package's router calls)."""

    def __init__(self, factory: ControllerFactory, cwd: Path) -> None:
        self.factory = factory
        self.cwd = cwd
        self.controller: Controller | None = None
        self.conn: acp.Client | None = None
        self.mapper = UpdateMapper(cwd)
        self._unsubscribe: Callable[[], None] | None = None
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self._sender: asyncio.Task[None] | None = None
        self._prompting = False
        self._run: asyncio.Future[RunResult] | None = None
        self._client_capabilities: Any = None
        self.files: ClientFiles | None = None

    # -- connection ----------------------------------------------------------------------

    def on_connect(self, conn: acp.Client) -> None:
        self.conn = conn

    async def initialize(
        self, protocol_version: int, client_capabilities: Any = None, client_info: Any = None, **kwargs: Any
    ) -> schema.InitializeResponse:
        from skipjack import __version__

        self._client_capabilities = client_capabilities
        return schema.InitializeResponse(
            protocol_version=min(protocol_version, acp.PROTOCOL_VERSION),
            agent_capabilities=schema.AgentCapabilities(
                load_session=True,
                prompt_capabilities=schema.PromptCapabilities(image=False, audio=False, embedded_context=True),
                mcp_capabilities=schema.McpCapabilities(http=True, sse=True),
            ),
            agent_info=schema.Implementation(name="skipjack", title="skipjack", version=__version__),
        )

    async def authenticate(self, method_id: str, **kwargs: Any) -> schema.AuthenticateResponse | None:
        return None  # keys come from skipjack's own config and environment

    # -- sessions ------------------------------------------------------------------------------

    def _controller_for(self, cwd: str) -> Controller:
        """The controller for `cwd`: the current one, or a new one when the directory differs."""
        wanted = expand_user(cwd) if cwd else self.cwd
        if not wanted.is_absolute():
            raise acp.RequestError.invalid_params({"cwd": f"{cwd!r} is not an absolute path"})
        if self._prompting:
            raise acp.RequestError.invalid_request({"message": "a prompt is running: cancel it first"})
        current = self.controller
        if current is not None and current.agent.cwd.resolve() == wanted.resolve():
            return current
        try:
            controller = self.factory(wanted, self._ask)
        except UserError as e:
            raise acp.RequestError.invalid_params({"message": str(e)}) from e
        if current is not None:
            self._detach()
            current.close()
        self.controller = controller
        self.cwd = wanted
        self.files = None
        if self.conn is not None and offers_files(self._client_capabilities):
            self.files = ClientFiles(self.conn, self._session_id)
            controller.use_editor_files(self.files)
        self.mapper = UpdateMapper(controller.agent.cwd, self.files.take_change if self.files else None)
        self._unsubscribe = controller.subscribe(self._on_event)
        return controller

    def _use_client_servers(self, controller: Controller, servers: Any) -> None:
        configs, skipped = client_servers(servers if isinstance(servers, list) else None)
        if configs or skipped:
            controller.use_client_mcp_servers(configs, "editor (ACP)", problems=skipped)

    def _session_id(self) -> str | None:
        controller = self.controller
        return controller.session.id if controller is not None and controller.session is not None else None

    def _detach(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _modes(self, controller: Controller) -> schema.SessionModeState:
        return schema.SessionModeState(
            current_mode_id=controller.approval_mode,
            available_modes=[schema.SessionMode(id=i, name=n, description=d) for i, n, d in MODES],
        )

    async def new_session(
        self, cwd: str, additional_directories: Any = None, mcp_servers: Any = None, **kwargs: Any
    ) -> schema.NewSessionResponse:
        controller = self._controller_for(cwd)
        try:
            controller.new_session()
            session = controller.open_session()
        except UserError as e:
            raise acp.RequestError.internal_error({"message": str(e)}) from e
        self._use_client_servers(controller, mcp_servers)
        controller.announce()
        self._queue.put_nowait((session.id, commands_update(controller)))
        await self._flush()
        return schema.NewSessionResponse(
            session_id=session.id, modes=self._modes(controller), config_options=[model_option(controller)]
        )

    async def load_session(
        self, cwd: str, session_id: str, mcp_servers: Any = None, additional_directories: Any = None, **kwargs: Any
    ) -> schema.LoadSessionResponse | None:
        controller = self._controller_for(cwd)
        try:
            session = controller.resume_session(session_id)
        except UserError as e:
            raise acp.RequestError.resource_not_found(session_id) from e
        self._use_client_servers(controller, mcp_servers)
        # The spec: the whole conversation is streamed back before the response.
        self._queue.put_nowait((session.id, commands_update(controller)))
        for update in history_updates(list(controller.agent.messages)):
            self._queue.put_nowait((session.id, update))
        await self._flush()
        return schema.LoadSessionResponse(modes=self._modes(controller), config_options=[model_option(controller)])

    def _session(self, session_id: str) -> Controller:
        controller = self.controller
        if controller is None or controller.session is None or controller.session.id != session_id:
            raise acp.RequestError.invalid_params({"sessionId": f"no open session {session_id!r}: new or load one"})
        return controller

    async def set_session_mode(
        self, session_id: str, mode_id: str, **kwargs: Any
    ) -> schema.SetSessionModeResponse | None:
        controller = self._session(session_id)
        try:
            controller.set_approval(mode_id)
        except UserError as e:
            raise acp.RequestError.invalid_params({"modeId": str(e)}) from e
        await self._flush()
        return schema.SetSessionModeResponse()

    # -- the conversation -----------------------------------------------------------------------

    async def prompt(self, session_id: str, prompt: list[Any], **kwargs: Any) -> schema.PromptResponse:
        controller = self._session(session_id)
        if self._prompting or controller.agent.is_running:
            raise acp.RequestError.invalid_request({"message": "a prompt is already running in this session"})
        text = prompt_text(prompt)
        if not text.strip():
            raise acp.RequestError.invalid_params({"prompt": "the prompt has no text"})
        self._prompting = True
        # A task of its own, shielded: if the connection goes away mid-prompt, `close` still
        # waits for the run to end (its tool's processes stopped) instead of abandoning it.
        self._run = asyncio.ensure_future(controller.prompt(text))
        try:
            result = await asyncio.shield(self._run)
        except UserError as e:
            raise acp.RequestError.internal_error({"message": str(e)}) from e
        finally:
            self._prompting = False
            await self._flush()
        if result.stop_reason == "error":
            # ACP has no "error" stop reason: say it in the conversation, then end the turn.
            message = f"skipjack: the model call failed ({result.error_kind}): {result.error_message}"
            self._queue.put_nowait((session_id, acp.update_agent_message_text(message)))
            await self._flush()
        return schema.PromptResponse(stop_reason=_STOP_REASONS.get(result.stop_reason, "end_turn"))

    async def cancel(self, session_id: str, **kwargs: Any) -> None:
        controller = self.controller
        if controller is not None and controller.session is not None and controller.session.id == session_id:
            controller.abort()

    # -- not offered (capabilities say so; an editor asking anyway gets "method not found") ----

    async def list_sessions(
        self, cwd: str | None = None, cursor: str | None = None, **kwargs: Any
    ) -> schema.ListSessionsResponse:
        raise acp.RequestError.method_not_found("session/list")

    async def set_config_option(
        self, config_id: str, session_id: str, value: str | bool, **kwargs: Any
    ) -> schema.SetSessionConfigOptionResponse | None:
        controller = self._session(session_id)
        if config_id != "model" or not isinstance(value, str):
            raise acp.RequestError.invalid_params({"configId": f"no option {config_id!r} taking {value!r}"})
        if self._prompting:
            raise acp.RequestError.invalid_request({"message": "a prompt is running: switch models after it"})
        try:
            controller.switch_model(value)
        except UserError as e:
            raise acp.RequestError.invalid_params({"value": str(e)}) from e
        await self._flush()
        return schema.SetSessionConfigOptionResponse(config_options=[model_option(controller)])

    async def fork_session(
        self, session_id: str, cwd: str, additional_directories: Any = None, mcp_servers: Any = None, **kwargs: Any
    ) -> schema.ForkSessionResponse:
        raise acp.RequestError.method_not_found("session/fork")

    async def resume_session(
        self, session_id: str, cwd: str, additional_directories: Any = None, mcp_servers: Any = None, **kwargs: Any
    ) -> schema.ResumeSessionResponse:
        raise acp.RequestError.method_not_found("session/resume")

    async def close_session(self, session_id: str, **kwargs: Any) -> schema.CloseSessionResponse | None:
        raise acp.RequestError.method_not_found("session/close")

    async def ext_method(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        raise acp.RequestError.method_not_found(method)

    async def ext_notification(self, method: str, params: dict[str, Any]) -> None:
        return None

    # -- approvals ---------------------------------------------------------------------------------

    async def _ask(self, call: ToolCall, verdict: Verdict) -> Answer:
        controller, conn = self.controller, self.conn
        if controller is None or conn is None or controller.session is None:
            return Answer("deny", "no editor is connected to answer")
        session_id = controller.session.id
        await self._flush()  # the tool call itself first, so the editor can show what is asked
        options = [
            schema.PermissionOption(option_id=ALLOW_ONCE, name="Allow once", kind="allow_once"),
            schema.PermissionOption(option_id=ALLOW_ALWAYS, name=_always_label(verdict), kind="allow_always"),
            schema.PermissionOption(option_id=REJECT, name="Reject", kind="reject_once"),
        ]
        tool_call = schema.ToolCallUpdate(
            tool_call_id=call.id,
            title=tool_title(call.name, call.arguments),
            status="pending",
            raw_input=call.arguments,
            content=[acp.tool_content(acp.text_block(verdict.reason))] if verdict.reason else None,
        )
        try:
            response = await conn.request_permission(session_id=session_id, tool_call=tool_call, options=options)
        except acp.RequestError as e:
            return Answer("deny", f"the editor did not answer: {e}")
        outcome = response.outcome
        if isinstance(outcome, schema.AllowedOutcome):
            if outcome.option_id in (ALLOW_ONCE, ALLOW_ALWAYS):
                self._queue.put_nowait((session_id, self.mapper.running(call.id)))
                return Answer("always" if outcome.option_id == ALLOW_ALWAYS else "once")
            return Answer("deny", "the user rejected it in the editor")
        return Answer("deny", "the prompt was cancelled")

    # -- updates ----------------------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        controller = self.controller
        if isinstance(event, Warning_):
            print(f"skipjack: {event.message}", file=sys.stderr, flush=True)
        if controller is None or controller.session is None:
            return
        for update in self.mapper.updates(event):
            self._queue.put_nowait((controller.session.id, update))

    async def _send_updates(self) -> None:
        while True:
            session_id, update = await self._queue.get()
            try:
                if self.conn is not None:
                    await self.conn.session_update(session_id=session_id, update=update)
            except Exception as e:  # a closed pipe or a bad update must not stop the others
                print(f"skipjack: a session update was not sent: {e}", file=sys.stderr, flush=True)
            finally:
                self._queue.task_done()

    async def _flush(self) -> None:
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_updates())
        await self._queue.join()

    def start(self) -> None:
        self._sender = asyncio.create_task(self._send_updates())

    async def close(self) -> None:
        """Abort a running prompt and wait (boundedly) for it to end, so its tool's process
        group is gone and the session file is whole before the process exits."""
        controller = self.controller
        if controller is not None:
            controller.abort()
            if self._run is not None and not self._run.done():
                with contextlib.suppress(Exception, asyncio.CancelledError):
                    await asyncio.wait_for(asyncio.shield(self._run), STOP_GRACE_S)
            self._detach()
            controller.close()
        if self._sender is not None:
            self._sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sender


def commands_update(controller: Controller) -> schema.AvailableCommandsUpdate:
    """The user's custom commands (`/name`), so the editor offers them in its `/` menu; typed,
    they reach the controller as text and run as their prompts."""
    return schema.AvailableCommandsUpdate(
        session_update="available_commands_update",
        available_commands=[
            schema.AvailableCommand(
                name=c.name,
                description=c.description or c.name,
                input=schema.AvailableCommandInput(root=schema.UnstructuredCommandInput(hint=c.argument_hint))
                if c.argument_hint
                else None,
            )
            for c in controller.custom_commands()
        ],
    )


def prompt_text(blocks: list[Any]) -> str:
    """The prompt's text: text blocks as they are, embedded files with their path, links by URI."""
    parts: list[str] = []
    for block in blocks:
        if isinstance(block, schema.TextContentBlock):
            parts.append(block.text)
        elif isinstance(block, schema.EmbeddedResourceContentBlock):
            resource = block.resource
            if isinstance(resource, schema.TextResourceContents):
                parts.append(f'<file uri="{resource.uri}">\n{resource.text}\n</file>')
        elif isinstance(block, schema.ResourceContentBlock):
            parts.append(f"[{block.name}]({block.uri})")
    return "\n\n".join(parts)


def _always_label(verdict: Verdict) -> str:
    rules = list(verdict.suggested_rules)
    return f"Always allow ({'; '.join(rules)})" if rules else "Always allow"


async def serve(factory: ControllerFactory, cwd: Path) -> int:
    """Until the editor closes our stdin (exit 0) or a signal arrives (128 + the signal)."""
    agent = SkipjackAcpAgent(factory, cwd)
    agent.start()
    loop = asyncio.get_running_loop()
    received: list[int] = []
    stopped = asyncio.Event()

    def on_signal(sig: int) -> None:
        received.append(sig)
        stopped.set()

    for sig in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig)
    connection = asyncio.ensure_future(acp.run_agent(agent))
    stopper = asyncio.ensure_future(stopped.wait())
    try:
        await asyncio.wait({connection, stopper}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()
        await agent.close()
        if not connection.done():
            connection.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await connection
        for sig in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
    return 128 + received[0] if received else 0


def run_acp(factory: ControllerFactory, cwd: Path) -> int:
    return asyncio.run(serve(factory, cwd))
