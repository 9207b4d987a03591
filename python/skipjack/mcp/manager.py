"""`McpManager`: every MCP server of a session, run on a loop of their own.

The servers live on a private event loop in a daemon thread, started when the session is
built, so they come up in parallel with everything else (the UI, the first prompt being
typed) whatever loop the front end runs, and no front end's loop ever waits on a server.
Callers on any loop use the `async` methods, which hand the work to that loop; cancelling
the caller cancels the work there (the SDK then sends `notifications/cancelled`).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import mcp_types as mt

from skipjack.mcp.connection import Connection, McpCallError, OnProgress, ServerStatus, ToolEntry
from skipjack.mcp.specs import ServerSpec

T = TypeVar("T")
STOP_TIMEOUT_S = 5.0


class McpManager:
    def __init__(
        self,
        specs: list[ServerSpec],
        *,
        cwd: Path,
        data_dir: Path | None = None,
        auth_for: Callable[[ServerSpec], Any] | None = None,
    ) -> None:
        self.specs = specs
        self.cwd = cwd
        self.data_dir = data_dir
        self._auth_for = auth_for
        self._connections: dict[str, Connection] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._starts: dict[str, concurrent.futures.Future[None]] = {}
        self._lock = threading.Lock()
        self._changed = False
        self._listeners: list[Callable[[str], None]] = []
        self.launched_at: float | None = None

    # -- life ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every enabled server now, in parallel; returns at once."""
        if self._thread is not None or not self.specs:
            return
        self.launched_at = time.monotonic()
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()
            loop.close()

        self._loop = loop
        self._thread = threading.Thread(target=run, name="skipjack-mcp", daemon=True)
        self._thread.start()
        ready.wait()
        log_dir = self.data_dir / "mcp-logs" if self.data_dir is not None else None
        for spec in self.specs:
            auth = self._auth_for(spec) if self._auth_for is not None and spec.config.url else None
            conn = Connection(spec, cwd=self.cwd, log_dir=log_dir, on_list_changed=self._list_changed, auth=auth)
            self._connections[spec.name] = conn
            self._starts[spec.name] = asyncio.run_coroutine_threadsafe(conn.start(), loop)
        atexit.register(self.close)

    def close(self) -> None:
        """Stop every server (bounded) and the loop; safe to call twice."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self._loop = None
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._stop_all(), loop).result(STOP_TIMEOUT_S + 1)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(STOP_TIMEOUT_S)
        atexit.unregister(self.close)

    async def _stop_all(self) -> None:
        await asyncio.gather(*(c.stop() for c in self._connections.values()), return_exceptions=True)

    async def wait_started(self, bound_s: float | None = None) -> None:
        """Until every server is up or has failed: at most the longest startup timeout (each
        server's own bounds its start), or `bound_s`."""
        pending = [asyncio.wrap_future(f) for f in self._starts.values() if not f.done()]
        if not pending:
            return
        bound = max((s.config.startup_timeout_s for s in self.specs), default=0) + 1.0
        await asyncio.wait(pending, timeout=bound if bound_s is None else bound_s)

    def started(self) -> bool:
        return all(f.done() for f in self._starts.values())

    # -- what the session shows ------------------------------------------------------------------

    def statuses(self) -> list[ServerStatus]:
        if self._thread is None:
            return [
                Connection(s, cwd=self.cwd, log_dir=None, on_list_changed=lambda _n: None).status() for s in self.specs
            ]
        return [c.status() for c in self._connections.values()]

    def tool_entries(self) -> list[tuple[str, ToolEntry]]:
        """(server, tool) for every ready server's tools."""
        return [(name, t) for name, c in self._connections.items() if c.state == "ready" for t in c.tools]

    def connection(self, server: str) -> Connection | None:
        return self._connections.get(server)

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
    ) -> mt.CallToolResult:
        conn = self._require(server)
        return await self._on_loop(conn.call(tool, arguments, on_progress))

    async def get_prompt(self, server: str, name: str, arguments: dict[str, str]) -> mt.GetPromptResult:
        return await self._on_loop(self._require(server).get_prompt(name, arguments))

    async def read_resource(self, server: str, uri: str) -> mt.ReadResourceResult:
        return await self._on_loop(self._require(server).read_resource(uri))

    def _require(self, server: str) -> Connection:
        conn = self._connections.get(server)
        if conn is None:
            raise McpCallError(f'no MCP server "{server}" is configured')
        return conn

    async def _on_loop(self, work: Coroutine[Any, Any, T]) -> T:
        loop = self._loop
        if loop is None:
            work.close()
            raise McpCallError("the MCP servers are stopped")
        # Cancelling the wrapper cancels the task on the MCP loop: the SDK's request then
        # ends with `notifications/cancelled` to the server.
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, loop))
