"""`McpManager`: every MCP server of a session, run on a loop of their own.

The stdio servers' programs are spawned first, with plain `subprocess`, the moment the
session is built (`spawn`): loading the SDK takes longer than the rest of skipjack's start
(0.5 s idle, seconds on a loaded machine) and about as long as a server's own start, so the
two must overlap rather than follow each other. The SDK is then imported on a daemon thread
that runs a private event loop, where each server's session takes over its program's pipes
(`pipes`) or connects over HTTP. The servers thus come up in parallel with everything else
(the UI, the first prompt being typed) whatever loop the front end runs, and no front end's
loop ever waits on a server or on the import. Callers on any loop use the `async` methods,
which hand the work to the MCP loop; cancelling the caller cancels the work there (the SDK
then sends `notifications/cancelled`).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import os
import threading
import time
from collections.abc import Callable, Coroutine, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from skipjack.mcp.errors import McpCallError
from skipjack.mcp.spawn import Spawned, kill_tree, open_errlog, spawn
from skipjack.mcp.specs import ServerSpec
from skipjack.mcp.status import ServerStatus, State, ToolEntry

if TYPE_CHECKING:
    from skipjack.mcp.connection import Connection, OnProgress

T = TypeVar("T")
STOP_TIMEOUT_S = 5.0
TRACE_ENV = "SKIPJACK_MCP_TRACE"
"""A file to append the start's steps to (`time.monotonic()` and what): `bench/mcp_startup.py`
reads it to report the order of events, which does not depend on how loaded the machine is."""


class McpManager:
    def __init__(
        self,
        specs: list[ServerSpec],
        *,
        cwd: Path,
        data_dir: Path | None = None,
        auth_for: Callable[[ServerSpec], Any] | None = None,
        spawned: Mapping[str, tuple[Spawned, Any]] | None = None,
    ) -> None:
        self.specs = specs
        self.cwd = cwd
        self.data_dir = data_dir
        self._auth_for = auth_for
        self._connections: dict[str, Connection] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._all_started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._lock = threading.Lock()
        self._changed = False
        self._listeners: list[Callable[[str], None]] = []
        self.launched_at: float | None = None
        self._starter: asyncio.Future[None] | None = None
        self.sdk_load_seconds: float | None = None
        """From `start()` to the SDK being loaded on the MCP thread (the programs run meanwhile)."""
        self._closed = False
        self._spawned: dict[str, tuple[Spawned, Any]] = dict(spawned or {})
        """Stdio programs spawned already (`prestart`) or by `start()`, with their stderr log,
        until a connection takes them."""
        self.events: list[tuple[str, float]] = []
        """(what, `time.monotonic()`) of the start's steps, in order: for `bench/mcp_startup.py`."""

    # -- life ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every enabled server now, in parallel; returns at once."""
        if self._thread is not None or not self.specs:
            return
        early = [spawned.at for spawned, _ in self._spawned.values()]
        self.launched_at = min([*early, time.monotonic()])
        self._mark("MCP start", at=self.launched_at)
        for name, (spawned, _) in sorted(self._spawned.items(), key=lambda item: item[1][0].at):
            self._mark(f"spawned {name}", at=spawned.at)
        self._spawn_stdio()
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._thread = threading.Thread(target=self._run, args=(loop,), name="skipjack-mcp", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def _log_dir(self) -> Path | None:
        return self.data_dir / "mcp-logs" if self.data_dir is not None else None

    def _spawn_stdio(self) -> None:
        """Every enabled stdio server's program, now (a few ms each), before the SDK loads."""
        for spec in self.specs:
            if spec.config.enabled and spec.config.command and spec.name not in self._spawned:
                errlog = open_errlog(self._log_dir(), spec.name)
                self._spawned[spec.name] = (spawn(spec, cwd=self.cwd, errlog=errlog), errlog)
                self._mark(f"spawned {spec.name}")

    def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start_all())
        except BaseException as e:  # the SDK failed to load: every server is down, the session goes on
            self._discard_spawned()
            if not self._all_started.done():
                self._all_started.set_exception(e)
        loop.run_forever()
        loop.close()

    def _discard_spawned(self) -> None:
        with self._lock:
            left = list(self._spawned.values())
            self._spawned.clear()
        for spawned, errlog in left:
            if spawned.process is not None:
                kill_tree(spawned.process)
            with contextlib.suppress(OSError):
                errlog.close()

    async def _start_all(self) -> None:
        self._mark("SDK import begins")
        from skipjack.mcp.connection import Connection

        self._mark("SDK loaded")
        if self.launched_at is not None:
            self.sdk_load_seconds = time.monotonic() - self.launched_at
        with self._lock:
            if self._closed:  # closed while the SDK loaded: `close` stopped the programs
                return
            taken, self._spawned = self._spawned, {}
        for spec in self.specs:
            auth = self._auth_for(spec) if self._auth_for is not None and spec.config.url else None
            spawned, errlog = taken.get(spec.name, (None, None))
            conn = Connection(
                spec,
                cwd=self.cwd,
                log_dir=self._log_dir(),
                on_list_changed=self._list_changed,
                auth=auth,
                spawned=spawned,
                errlog=errlog,
            )
            self._connections[spec.name] = conn
        starts = [asyncio.ensure_future(self._start_one(c)) for c in self._connections.values()]

        async def all_started() -> None:
            await asyncio.gather(*starts, return_exceptions=True)
            if not self._all_started.done():
                self._all_started.set_result(None)

        # Not awaited: `_run` goes on to `run_forever`, which keeps these running.
        self._starter = asyncio.ensure_future(all_started())

    async def _start_one(self, conn: Connection) -> None:
        await conn.start()
        self._mark(f"{conn.spec.name} {conn.state}")

    def _mark(self, what: str, *, at: float | None = None) -> None:
        now = time.monotonic() if at is None else at
        self.events.append((what, now))
        trace = os.environ.get(TRACE_ENV)
        if trace:
            with contextlib.suppress(OSError), open(trace, "a", encoding="utf-8") as f:
                f.write(f"{now:.6f} {what}\n")

    def close(self) -> None:
        """Stop every server (bounded) and the loop; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = None
        with self._lock:
            self._closed = True
        self._discard_spawned()  # programs the MCP thread never took over (it is still loading)
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop_all(), loop).result(STOP_TIMEOUT_S + 1)
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT_S)
        atexit.unregister(self.close)

    async def _stop_all(self) -> None:
        await asyncio.gather(*(c.stop() for c in list(self._connections.values())), return_exceptions=True)

    async def wait_started(self, bound_s: float | None = None) -> None:
        """Until every server is up or has failed, but never longer than the longest startup
        timeout counted from the session's start (or `bound_s` from now)."""
        if self._all_started.done() or self.launched_at is None:
            return
        if bound_s is None:
            longest = max((s.config.startup_timeout_s for s in self.specs), default=0.0)
            bound_s = max(0.0, self.launched_at + longest + 0.5 - time.monotonic())
        with contextlib.suppress(Exception):
            await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(self._all_started)), bound_s)

    def started(self) -> bool:
        return self._all_started.done()

    # -- what the session shows ------------------------------------------------------------------

    def statuses(self) -> list[ServerStatus]:
        connections = dict(self._connections)
        out = []
        for spec in self.specs:
            conn = connections.get(spec.name)
            if conn is not None:
                out.append(conn.status())
            else:  # not started (yet)
                state: State = "disabled" if not spec.config.enabled else "starting" if self._thread else "stopped"
                out.append(ServerStatus(spec.name, spec.kind, spec.source, state, None, [], None, 0))
        return out

    def tool_entries(self) -> list[tuple[str, ToolEntry]]:
        """(server, tool) for every ready server's tools."""
        return [(n, t) for n, c in dict(self._connections).items() if c.state == "ready" for t in c.tools]

    def on_list_changed(self, listener: Callable[[str], None]) -> None:
        """`listener(server)` on the MCP thread when a server's tools, prompts or resources change."""
        self._listeners.append(listener)

    def take_changed(self) -> bool:
        """Whether a list changed since the last call (the tools are rebuilt between turns)."""
        with self._lock:
            changed, self._changed = self._changed, False
        return changed

    def _list_changed(self, server: str) -> None:
        with self._lock:
            self._changed = True
        for listener in list(self._listeners):
            with contextlib.suppress(Exception):
                listener(server)

    # -- calls from any loop -----------------------------------------------------------------------

    async def call_tool(
        self, server: str, tool: str, arguments: dict[str, Any], on_progress: OnProgress | None = None
    ) -> Any:
        """The SDK's `CallToolResult`; raises `McpCallError`."""
        conn = self._require(server)
        return await self._on_loop(conn.call(tool, arguments, on_progress))

    async def get_prompt(self, server: str, name: str, arguments: dict[str, str]) -> Any:
        return await self._on_loop(self._require(server).get_prompt(name, arguments))

    async def read_resource(self, server: str, uri: str) -> Any:
        return await self._on_loop(self._require(server).read_resource(uri))

    def _require(self, server: str) -> Connection:
        conn = self._connections.get(server)
        if conn is None:
            raise McpCallError(f'MCP server "{server}" is not running')
        return conn

    async def _on_loop(self, work: Coroutine[Any, Any, T]) -> T:
        loop = self._loop
        if loop is None:
            work.close()
            raise McpCallError("the MCP servers are stopped")
        # Cancelling the wrapper cancels the task on the MCP loop: the SDK's request then
        # ends with `notifications/cancelled` to the server.
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, loop))
