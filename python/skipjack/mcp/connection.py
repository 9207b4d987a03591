"""One MCP server: its transport and `ClientSession`, owned by one task on the MCP loop.

The SDK's transports and sessions are anyio context managers that must be entered and left
by the same task, so each server has an owner task that opens them, lists what the server
offers, and holds them open until `stop()`. Calls are made from other tasks on that loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TextIO

import httpx2
import mcp_types as mt
from mcp import ClientSession
from mcp.shared.exceptions import MCPError
from pydantic import TypeAdapter, ValidationError

from skipjack.mcp.errors import McpCallError
from skipjack.mcp.pipes import NotMcpLine, process_streams
from skipjack.mcp.schema import check_schema, tool_name
from skipjack.mcp.spawn import Spawned, kill_tree, open_errlog, spawn
from skipjack.mcp.specs import ServerSpec
from skipjack.mcp.status import ServerStatus, State, ToolEntry

log = logging.getLogger(__name__)

MAX_PAGES = 50
"""A server whose listing never ends is cut here rather than hang the start."""
STDERR_TAIL = 600
MAX_MESSAGE = 32 * 1024 * 1024
"""One message from an HTTP server (the SDK's default is 1 MiB): a large tool result is
capped and spooled by the adapter, so it must first get through in one piece."""
_RAW_RESULT = TypeAdapter(dict[str, Any])
STRAY_KEPT = 512
"""Bytes kept of the first non-MCP stdout line (120 characters of it are shown)."""

# The SDK logs a transport's failure with its traceback (`logging.exception`); with no logging
# set up, Python prints that on stderr, over the UI or between `mcp list`'s lines. The failure
# reaches the user as the server's `error` instead.
_sdk_log = logging.getLogger("mcp")
_sdk_log.addHandler(logging.NullHandler())
_sdk_log.propagate = False
OnProgress = Callable[[float, float | None, str | None], None]


class Connection:
    def __init__(
        self,
        spec: ServerSpec,
        *,
        cwd: Path,
        log_dir: Path | None,
        on_list_changed: Callable[[str], None],
        auth: Any = None,
        spawned: Spawned | None = None,
        errlog: TextIO | None = None,
    ) -> None:
        """`spawned` (with the `errlog` its stderr goes to): a stdio server's program started
        before the SDK had loaded; the first start talks to it instead of spawning."""
        self.spec = spec
        self.cwd = cwd
        self.log_dir = log_dir
        self.auth = auth
        self._on_list_changed = on_list_changed
        self.state: State = "starting" if spec.config.enabled else "disabled"
        self.error: str | None = None
        self.session: ClientSession | None = None
        self.tools: list[ToolEntry] = []
        self.prompts: list[mt.Prompt] = []
        self.resources: list[mt.Resource] = []
        self.warnings: list[str] = []
        self.start_seconds: float | None = None
        self.restarts = 0
        self._owner: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()
        self._errlog: TextIO | None = errlog
        self._spawned = spawned
        self._restart_lock = asyncio.Lock()
        self._sse_fallback = False
        self._tasks: set[asyncio.Task[None]] = set()
        """Set once Streamable HTTP failed and the older HTTP+SSE transport is being tried."""
        self._stray: bytes | None = None
        """The first stdout line that was not MCP, said with a failure to start."""

    # -- life ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect and list tools, within `startup_timeout_s`; never raises (a failure is
        the state `failed` with `error` saying why)."""
        if not self.spec.config.enabled:
            return
        self.state, self.error = "starting", None
        self._stop = asyncio.Event()
        self._stray = None
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # A program spawned early started then: its start-to-tools-listed time counts from there.
        started = self._spawned.at if self._spawned is not None else time.monotonic()
        self._owner = asyncio.create_task(self._own(ready, started), name=f"mcp:{self.spec.name}")
        timeout = self.spec.config.startup_timeout_s
        try:
            await asyncio.wait_for(asyncio.shield(ready), timeout)
        except TimeoutError:
            await self._end_owner()
            self._fail(f"did not list its tools within {timeout:g} s (startup_timeout_s)" + self._stray_note())
        except Exception as e:
            await self._end_owner()
            left = timeout - (time.monotonic() - started)
            if (
                self._sse_fallback is False
                and self.spec.config.url
                and self.spec.config.transport == "auto"
                and left > 0
                # Nothing listening (or no such host) is no reason to try the older transport.
                and not isinstance(_first(e), httpx2.ConnectError)
            ):
                # A server that predates Streamable HTTP speaks the HTTP+SSE transport: try it.
                self._sse_fallback = True
                await self._start_within(left, first_error=describe(e))
                return
            self._fail(describe(e) + self._stderr_tail() + self._stray_note())

    async def _start_within(self, seconds: float, *, first_error: str) -> None:
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._stop = asyncio.Event()
        self._owner = asyncio.create_task(self._own(ready, time.monotonic()), name=f"mcp:{self.spec.name}:sse")
        try:
            await asyncio.wait_for(asyncio.shield(ready), seconds)
        except TimeoutError:
            await self._end_owner()
            self._sse_fallback = False
            self._fail(f"Streamable HTTP: {first_error}; HTTP+SSE: no tools listed within the startup timeout")
        except Exception as e:
            await self._end_owner()
            self._sse_fallback = False
            self._fail(f"Streamable HTTP: {first_error}; HTTP+SSE: {describe(e)}")

    async def stop(self) -> None:
        self._stop.set()
        owner = self._owner
        if owner is not None:
            try:
                await asyncio.wait_for(asyncio.shield(owner), 5)
            except (TimeoutError, Exception):
                await self._end_owner()
        self.session = None
        if self.state in ("ready", "starting"):
            self.state = "stopped"
        self.discard_spawned()
        self._close_errlog()

    def discard_spawned(self) -> None:
        """Stop an early-spawned program no session took (the start never reached it)."""
        spawned, self._spawned = self._spawned, None
        if spawned is not None and spawned.process is not None:
            kill_tree(spawned.process)

    async def _end_owner(self) -> None:
        owner, self._owner = self._owner, None
        if owner is None or owner.done():
            return
        owner.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(owner, 5)

    def _fail(self, message: str, state: State = "failed") -> None:
        self.state, self.error, self.session = state, message, None
        log.info("MCP server %s: %s", self.spec.name, message)

    async def _own(self, ready: asyncio.Future[None], started: float) -> None:
        try:
            async with AsyncExitStack() as stack:
                session = await self._open(stack)
                await session.initialize()
                await self._list_everything(session)
                self.start_seconds = time.monotonic() - started
                self.session, self.state, self.error = session, "ready", None
                if not ready.done():
                    ready.set_result(None)
                await self._stop.wait()
        except asyncio.CancelledError:
            if not ready.done():
                ready.cancel()
            raise
        except BaseException as e:  # an anyio task group reports failures as a group
            if not ready.done():
                ready.set_exception(_first(e))
            elif not self._stop.is_set():
                self._fail(f"disconnected: {describe(e)}" + self._stderr_tail(), "dead")

    async def _open(self, stack: AsyncExitStack) -> ClientSession:
        cfg = self.spec.config
        if cfg.command:
            spawned, self._spawned = self._spawned, None
            if spawned is None:  # a restart, or `mcp test`: spawn now
                spawned = spawn(self.spec, cwd=self.cwd, errlog=self._open_errlog())
            if spawned.process is None:
                assert spawned.error is not None
                raise spawned.error
            read, write = await stack.enter_async_context(process_streams(spawned.process))
        else:
            assert cfg.url is not None
            read, write = await stack.enter_async_context(self._http(cfg.url))
        return await stack.enter_async_context(ClientSession(read, write, message_handler=self._on_message))

    @contextlib.asynccontextmanager
    async def _http(self, url: str) -> Any:
        """Streamable HTTP, or the older HTTP+SSE transport (`transport = "sse"`, or `auto`
        when the endpoint does not take a Streamable HTTP POST)."""
        # The HTTP transports (httpx) load only when a server needs them.
        from mcp.client.sse import sse_client
        from mcp.client.streamable_http import streamable_http_client
        from mcp.shared._httpx_utils import create_mcp_http_client

        cfg = self.spec.config
        if cfg.transport == "sse" or self._sse_fallback:
            async with sse_client(url, headers=dict(cfg.headers), auth=self.auth) as streams:
                yield streams
            return
        client = create_mcp_http_client(headers=dict(cfg.headers), auth=self.auth)
        async with client, streamable_http_client(url, http_client=client, max_sse_event_size=MAX_MESSAGE) as streams:
            yield streams

    async def _list_everything(self, session: ClientSession) -> None:
        self.tools = await self._list_tools(session)
        caps = session.server_capabilities
        self.prompts, self.resources = [], []
        if caps is not None and caps.prompts is not None:
            with contextlib.suppress(MCPError):
                self.prompts = (await session.list_prompts()).prompts
        if caps is not None and caps.resources is not None:
            with contextlib.suppress(MCPError):
                self.resources = (await session.list_resources()).resources

    async def _list_tools(self, session: ClientSession) -> list[ToolEntry]:
        cfg = self.spec.config
        listed: list[mt.Tool] = []
        cursor: str | None = None
        warnings: list[str] = []
        for _ in range(MAX_PAGES):
            params = mt.PaginatedRequestParams(cursor=cursor) if cursor else None
            tools, cursor = await self._list_page(session, params, warnings)
            listed += tools
            if not cursor:
                break
        entries: list[ToolEntry] = []
        seen: set[str] = set()
        for tool in listed:
            if cfg.include_tools and not any(fnmatch.fnmatchcase(tool.name, p) for p in cfg.include_tools):
                continue
            if any(fnmatch.fnmatchcase(tool.name, p) for p in cfg.exclude_tools):
                continue
            exposed = tool_name(self.spec.name, tool.name)
            checked = check_schema(tool.input_schema)
            if checked.schema is None:
                warnings.append(f"tool {_shown(tool.name)} skipped: {'; '.join(checked.notes)}")
                continue
            if checked.notes:
                warnings.append(f"tool {_shown(tool.name)}: schema repaired ({'; '.join(checked.notes)})")
            if exposed in seen:
                warnings.append(f"tool {_shown(tool.name)} skipped: its name is the same as another's once made safe")
                continue
            seen.add(exposed)
            hints = tool.annotations
            read_only = bool(hints is not None and hints.read_only_hint)
            entries.append(ToolEntry(exposed, tool, checked.schema, read_only))
        self.warnings = warnings
        return entries

    async def _list_page(
        self, session: ClientSession, params: mt.PaginatedRequestParams | None, warnings: list[str]
    ) -> tuple[list[mt.Tool], str | None]:
        """One page of tools. The SDK validates the page as a whole, so one tool it cannot
        take (an input schema whose `type` is not "object", a name that is not a string)
        would fail the server: such a page is fetched again as plain JSON and each tool
        validated alone, the bad ones skipped with a warning."""
        try:
            page = await session.list_tools(params=params)
            return page.tools, page.next_cursor
        except ValidationError:
            # `send_request` validates by method name whatever result type it is given; only
            # the session's dispatcher returns the JSON as it came (a private part: without
            # it, this SDK version fails such a server as before).
            send_raw = getattr(getattr(session, "_dispatcher", None), "send_raw_request", None)
            if send_raw is None:
                raise
        wire = mt.ListToolsRequest(params=params).model_dump(by_alias=True, mode="json", exclude_none=True)
        raw = _RAW_RESULT.validate_python(await send_raw("tools/list", wire.get("params"), {}))
        tools: list[mt.Tool] = []
        items = raw.get("tools")
        for item in items if isinstance(items, list) else []:
            try:
                tools.append(mt.Tool.model_validate(item))
            except ValidationError as e:
                name = _shown(item.get("name") if isinstance(item, dict) else None)
                problem = e.errors()[0]
                where = ".".join(str(p) for p in problem["loc"])
                warnings.append(f"tool {name} skipped: not a valid MCP tool ({where}: {problem['msg']})")
        next_cursor = raw.get("nextCursor")
        result = mt.ListToolsResult(tools=tools, next_cursor=next_cursor if isinstance(next_cursor, str) else None)
        # The SDK's own listing also records each tool's output schema (`call_tool` validates
        # results against it, and lists the tools again, strictly, for a tool it has not seen):
        # the private step that does it is used when this SDK version has it.
        absorb = getattr(session, "_absorb_tool_listing", None)
        if absorb is not None:
            result = absorb(result, complete=params is None and result.next_cursor is None)
        return result.tools, result.next_cursor

    async def _on_message(self, message: Any) -> None:
        if isinstance(message, NotMcpLine):
            if self._stray is None:
                self._stray = message.line[:STRAY_KEPT]  # a stray line may be 32 MB
            return
        message = getattr(message, "root", message)
        if isinstance(
            message,
            mt.ToolListChangedNotification | mt.PromptListChangedNotification | mt.ResourceListChangedNotification,
        ):
            task = asyncio.get_running_loop().create_task(self._relist())
            self._tasks.add(task)  # held until done: the loop keeps only weak references
            task.add_done_callback(self._tasks.discard)

    async def _relist(self) -> None:
        session = self.session
        if session is None:
            return
        try:
            await self._list_everything(session)
        except Exception as e:
            log.info("MCP server %s: relisting failed: %s", self.spec.name, describe(e))
            return
        self._on_list_changed(self.spec.name)

    # -- use --------------------------------------------------------------------------------

    async def ensure(self) -> ClientSession:
        """The live session; a server that died is started again once per session."""
        async with self._restart_lock:
            if self.state == "dead" and self.restarts < 1:
                self.restarts += 1
                await self._end_owner()
                await self.start()
            if self.session is None or self.state != "ready":
                raise McpCallError(f'MCP server "{self.spec.name}" is not available: {self.error or self.state}')
            return self.session

    async def call(self, tool: str, arguments: dict[str, Any], on_progress: OnProgress | None) -> mt.CallToolResult:
        session = await self.ensure()

        async def progress(progress: float, total: float | None, message: str | None) -> None:
            if on_progress is not None:
                on_progress(progress, total, message)

        timeout = self.spec.config.tool_timeout_s
        try:
            return await session.call_tool(tool, arguments, read_timeout_seconds=timeout, progress_callback=progress)
        except MCPError as e:
            if e.code == mt.CONNECTION_CLOSED:
                self._fail("the server closed the connection during a call" + self._stderr_tail(), "dead")
                raise McpCallError(
                    f'MCP server "{self.spec.name}" stopped during the call; '
                    "it is restarted once on its next use" + self._stderr_tail()
                ) from None
            if e.code == mt.REQUEST_TIMEOUT:
                raise McpCallError(f"no result within {timeout:g} s (tool_timeout_s)") from None
            raise McpCallError(f"the server answered with an error: {e.message}") from None
        except OSError as e:  # the pipe or socket broke: the server is gone
            self._fail(f"the call failed: {describe(e)}", "dead")
            raise McpCallError(f'MCP server "{self.spec.name}" failed: {describe(e)}') from None
        except (RuntimeError, ValueError) as e:  # a result this client cannot use (input requests, a bad shape)
            raise McpCallError(f"the result could not be used: {describe(e)}") from None

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> mt.GetPromptResult:
        session = await self.ensure()
        try:
            return await session.get_prompt(name, arguments)
        except MCPError as e:
            raise McpCallError(e.message) from None

    async def read_resource(self, uri: str) -> mt.ReadResourceResult:
        session = await self.ensure()
        try:
            return await session.read_resource(uri)
        except MCPError as e:
            raise McpCallError(e.message) from None

    def status(self) -> ServerStatus:
        return ServerStatus(
            self.spec.name,
            self.spec.kind,
            self.spec.source,
            self.state,
            self.error,
            [t.exposed for t in self.tools] if self.state == "ready" else [],
            self.start_seconds,
            self.restarts,
            list(self.warnings),
            list(self.prompts),
            list(self.resources),
        )

    # -- the server's stderr ------------------------------------------------------------------

    def _open_errlog(self) -> TextIO:
        self._close_errlog()
        self._errlog = open_errlog(self.log_dir, self.spec.name)
        return self._errlog

    def _close_errlog(self) -> None:
        if self._errlog is not None:
            with contextlib.suppress(OSError):
                self._errlog.close()
            self._errlog = None

    def _stray_note(self) -> str:
        if self._stray is None:
            return ""
        text = self._stray.decode(errors="replace").strip()
        shown = repr(text if len(text) <= 120 else text[:117] + "...")
        return f"; it wrote {shown} on stdout, which is not MCP (a stdio server must log to stderr)"

    def _stderr_tail(self) -> str:
        f = self._errlog
        if f is None or f.closed:
            return ""
        try:
            f.flush()
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - STDERR_TAIL * 4))
            tail = f.read()[-STDERR_TAIL:].strip()
        except (OSError, ValueError):
            return ""
        return f" (its last output: {tail})" if tail else ""


def _shown(name: object) -> str:
    """A server's tool name in a warning: quoted, and cut (a name may be any length)."""
    text = repr(name)
    return text if len(text) <= 80 else text[:77] + "..."


def _first(e: BaseException) -> BaseException:
    while isinstance(e, BaseExceptionGroup) and e.exceptions:
        e = e.exceptions[0]
    return e


def describe(e: BaseException) -> str:
    e = _first(e)
    if isinstance(e, FileNotFoundError):
        return f"cannot start it: {e.strerror or 'not found'}: {e.filename}"
    if isinstance(e, PermissionError) and e.filename is not None:
        # exec of a directory or of a file without the execute bit
        return f"cannot start it: {e.filename} is not an executable program ({e.strerror or 'permission denied'})"
    if isinstance(e, MCPError):
        return e.message
    if isinstance(e, httpx2.ConnectError):
        return f"cannot connect: {str(e).strip() or 'refused'}"
    text = str(e).strip()
    return f"{type(e).__name__}: {text}" if text else type(e).__name__
