"""The SDK's transport streams over a server program that is already running.

The SDK's `stdio_client` spawns the program itself, which would put the spawn behind the SDK's
import (see `spawn`). `ClientSession` only needs a pair of anyio memory streams of
`SessionMessage`s, so this bridges them to the pipes of a `subprocess.Popen` started earlier:
newline-delimited JSON-RPC, as the stdio transport specifies, with the SDK's own message
parsing. Written by hand because the SDK offers no transport over an existing process; the
shutdown follows its `stdio_client` (close stdin, wait, then stop the process tree, every
wait bounded).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import signal
import subprocess
from collections.abc import AsyncIterator

import anyio
import mcp_types as types
from mcp.client._transport import TransportStreams
from mcp.shared.message import SessionMessage

from skipjack.mcp.spawn import kill_tree

log = logging.getLogger(__name__)

MAX_LINE = 32 * 1024 * 1024
"""One message from the server; a longer line is dropped (and reported to the session) rather
than grow without bound. Large enough for the results the adapter caps and spools."""
READ_CHUNK = 256 * 1024
EXIT_GRACE_S = 2.0
KILL_GRACE_S = 2.0
WRITE_FLUSH_S = 0.5


class MessageTooLarge(ValueError):
    """An overlong line, dropped; `request_id` is the JSON-RPC id found at its start or end, so
    the request it answers can fail now instead of waiting out its timeout."""

    def __init__(self, limit: int, request_id: int | str | None = None) -> None:
        super().__init__(f"a message over {limit} bytes from the server was dropped")
        self.request_id = request_id


EDGE = 512
"""Bytes kept from each end of an overlong line to find its id in."""
_ID_VALUE = rb'(-?\d{1,18}|"(?:[^"\\]|\\.){0,200}")'
# Only a top-level id: the first member (or the second, after "jsonrpc"), or the last one.
_ID_AT_START = re.compile(rb'^\s*\{\s*(?:"jsonrpc"\s*:\s*"2\.0"\s*,\s*)?"id"\s*:\s*' + _ID_VALUE + rb"\s*,")
_ID_AT_END = re.compile(rb',\s*"id"\s*:\s*' + _ID_VALUE + rb"\s*\}\s*$")


def find_request_id(head: bytes, tail: bytes) -> int | str | None:
    match = _ID_AT_START.match(head) or _ID_AT_END.search(tail)
    if match is None:
        return None
    raw = match.group(1)
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, int | str) else None


def too_large_error(dropped: MessageTooLarge) -> SessionMessage | None:
    """The JSON-RPC error the server's overlong answer becomes, for the request it answers."""
    if dropped.request_id is None:
        return None
    return SessionMessage(
        types.JSONRPCError(
            jsonrpc="2.0",
            id=dropped.request_id,
            error=types.ErrorData(code=types.INTERNAL_ERROR, message=str(dropped)),
        )
    )


class NotMcpLine(ValueError):
    """A stdout line that is not a JSON-RPC message: most often a server logging to stdout."""

    def __init__(self, line: bytes, reason: ValueError) -> None:
        super().__init__(str(reason))
        self.line = line


def parse_line(line: bytes) -> SessionMessage | Exception:
    """One stdout line; a line that is not JSON-RPC (a server that logs to stdout) becomes an
    exception the session hands to its message handler, and the session goes on."""
    try:
        return SessionMessage(types.jsonrpc_message_adapter.validate_json(line, by_name=False))
    except ValueError as e:
        return NotMcpLine(line, e)


class LineSplitter:
    """Bytes → complete lines, each at most `limit` bytes; an overlong line is skipped to its end."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = MAX_LINE if limit is None else limit
        self._buf = bytearray()
        self._skipping = False
        self._head = b""  # of the line being skipped
        self._tail = b""
        self._reported = False  # the skipped line's drop was already reported (its id found early)

    def feed(self, chunk: bytes) -> list[bytes | Exception]:
        out: list[bytes | Exception] = []
        start = 0
        while True:
            nl = chunk.find(b"\n", start)
            if nl < 0:
                break
            if self._skipping:
                self._skipping = False
                if not self._reported:
                    out.append(self._dropped(chunk[start:nl]))
                self._reported = False
            elif len(self._buf) + nl - start > self.limit:
                self._begin_skip(chunk[start:nl])
                self._skipping = False
                out.append(self._dropped(b""))
            else:
                self._buf += chunk[start:nl]
                out.append(bytes(self._buf))
                self._buf.clear()
            start = nl + 1
        if self._skipping:
            self._tail = (self._tail + chunk[start:])[-EDGE:]
        else:
            self._buf += chunk[start:]
            if len(self._buf) > self.limit:
                self._begin_skip(b"")
                self._skipping = True
                # A server that never ends this line must not keep its call waiting: when the
                # id is at the start, the call fails now, and the line's end adds nothing.
                early = find_request_id(self._head, b"")
                if early is not None:
                    out.append(MessageTooLarge(self.limit, early))
                    self._reported = True
        return out

    def _begin_skip(self, rest: bytes) -> None:
        line = bytes(self._buf[:EDGE]) + rest[:EDGE]
        self._head = line[:EDGE]
        self._tail = (bytes(self._buf[-EDGE:]) + rest[-EDGE:])[-EDGE:]
        self._buf.clear()

    def _dropped(self, last: bytes) -> MessageTooLarge:
        tail = (self._tail + last)[-EDGE:]
        dropped = MessageTooLarge(self.limit, find_request_id(self._head, tail))
        self._head = self._tail = b""
        return dropped


@contextlib.asynccontextmanager
async def process_streams(process: subprocess.Popen[bytes]) -> AsyncIterator[TransportStreams]:
    """(read, write) streams for `ClientSession` over `process`'s stdout and stdin; on leaving,
    the process is stopped (stdin closed, then SIGTERM and SIGKILL to its process group)."""
    assert process.stdin is not None
    assert process.stdout is not None
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=READ_CHUNK)
    try:
        read_transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), process.stdout)
        write_transport, write_protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, process.stdin)
    except BaseException:
        kill_tree(process)  # nothing else would stop it
        raise
    writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)

    read_send, read_recv = anyio.create_memory_object_stream[SessionMessage | Exception](0)
    write_send, write_recv = anyio.create_memory_object_stream[SessionMessage](0)
    writer_done = anyio.Event()
    shutting_down = False

    async def stdout_reader() -> None:
        splitter = LineSplitter()
        try:
            async with read_send:
                while chunk := await reader.read(READ_CHUNK):
                    for line in splitter.feed(chunk):
                        if isinstance(line, bytes) and not line.strip():
                            continue  # blank lines between messages are harmless
                        if isinstance(line, MessageTooLarge) and (error := too_large_error(line)):
                            await read_send.send(error)
                        item = line if isinstance(line, Exception) else parse_line(line)
                        await read_send.send(item)
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass  # the session is gone
        except OSError:
            if not shutting_down:
                log.info("reading from the MCP server's stdout failed", exc_info=True)

    async def stdin_writer() -> None:
        try:
            async with write_recv:
                async for message in write_recv:
                    data = message.message.model_dump_json(by_alias=True, exclude_unset=True)
                    writer.write(data.encode() + b"\n")
                    await writer.drain()
        except (anyio.ClosedResourceError, anyio.BrokenResourceError, OSError):
            # The server stopped reading: end the session's reads too, so a request does
            # not wait for an answer that cannot come.
            await read_send.aclose()
        finally:
            writer_done.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(stdout_reader)
        tg.start_soon(stdin_writer)
        try:
            yield read_recv, write_send
        finally:
            shutting_down = True
            with anyio.CancelScope(shield=True):
                write_send.close()
                with anyio.move_on_after(WRITE_FLUSH_S):
                    await writer_done.wait()
                # Accepted messages had their chance to go out; a server that does not read
                # must not keep the pipe (and this shutdown) waiting. (A pipe already closed by
                # a server that died cannot be aborted again: asyncio raises AttributeError.)
                if not write_transport.is_closing():
                    write_transport.abort()
                await stop_process(process)
                read_transport.close()
                for stream in (read_recv, read_send, write_send, write_recv):
                    await stream.aclose()
            tg.cancel_scope.cancel()


async def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Stdin is closed: give the server `EXIT_GRACE_S` to leave, then SIGTERM its process
    group, then SIGKILL; every wait bounded."""
    if process.stdin is not None:
        with contextlib.suppress(OSError):
            process.stdin.close()
    if await _exited(process, EXIT_GRACE_S):
        return
    _signal_group(process, signal.SIGTERM)
    if await _exited(process, KILL_GRACE_S):
        return
    _signal_group(process, signal.SIGKILL)
    if not await _exited(process, KILL_GRACE_S):
        log.warning("MCP server process %d is still alive after SIGKILL", process.pid)


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except OSError:
        with contextlib.suppress(OSError):
            process.send_signal(sig)


async def _exited(process: subprocess.Popen[bytes], seconds: float) -> bool:
    # Polled, not waited on: a child holding the pipes must not make an exited server look hung.
    deadline = asyncio.get_running_loop().time() + seconds
    while process.poll() is None:
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(0.01)
    return True
