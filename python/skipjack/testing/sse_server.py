"""A real HTTP server on 127.0.0.1 that replays scripted responses, with fault injection.

Tests, benchmarks and users drive `skipjack.llm.stream` through it: the bytes cross a real
socket, so the Rust core's transport, framing and timeouts are what is tested. The server
runs its own asyncio loop in a background thread, so it serves sync and async tests alike.
Hand-written because the fault injection (stalls, resets mid-chunk, byte trickles,
disconnect timing) needs control no HTTP server library exposes.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pause:
    """Wait before sending the next part."""

    seconds: float


@dataclass(frozen=True)
class At:
    """Send the next part no earlier than `seconds` after the body began: pacing that does not
    drift (a run of `Pause`s adds each sleep's overshoot, which grows with the machine's load)."""

    seconds: float


@dataclass(frozen=True)
class Stall:
    """Send nothing more until the client goes away."""


@dataclass(frozen=True)
class Reset:
    """Abort the connection with a TCP reset, mid-body."""


BodyPart = bytes | Pause | At | Stall | Reset


@dataclass
class Reply:
    """One scripted response."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "text/event-stream"})
    body: list[BodyPart] = field(default_factory=list)
    stall_before_headers: bool = False

    @staticmethod
    def sse(data: bytes, *, chunk_size: int | None = None, pause: float = 0.0) -> Reply:
        """A 200 SSE response of `data`, optionally cut into `chunk_size` pieces sent `pause` apart."""
        if chunk_size is None:
            return Reply(body=[data])
        parts: list[BodyPart] = []
        for i in range(0, len(data), chunk_size):
            if pause and i:
                parts.append(Pause(pause))
            parts.append(data[i : i + chunk_size])
        return Reply(body=parts)

    @staticmethod
    def error(status: int, payload: Any, *, headers: dict[str, str] | None = None) -> Reply:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return Reply(
            status=status,
            headers={"content-type": "application/json", **(headers or {})},
            body=[text.encode()],
        )


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    received_at: float = 0.0
    """`time.monotonic()` when the request's last byte had been read (benchmarks time the
    agent between a response's end and its next request with it)."""

    def json(self) -> Any:
        return json.loads(self.body)


class SSEServer:
    """`with SSEServer() as server: server.enqueue(Reply.sse(...)); use server.url`."""

    def __init__(
        self, *, default: Reply | None = None, validate: Callable[[RecordedRequest], str | None] | None = None
    ) -> None:
        """`validate(request)` returns why a request is invalid (None: valid); an invalid one
        is answered with HTTP 400 and that message, like a provider would, without using a
        scripted reply, and is listed in `rejected`."""
        self._replies: deque[Reply] = deque()
        self._routes: list[tuple[Callable[[RecordedRequest], bool], deque[Reply]]] = []
        self._default = default
        self._validate = validate
        self.rejected: list[tuple[RecordedRequest, str]] = []
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.connections_opened = 0
        self.disconnects: list[float] = []
        """`time.monotonic()` of each client-side close the server noticed."""
        self.reply_ends: list[float] = []
        """`time.monotonic()` when each reply's last byte had been handed to the socket."""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._ready = threading.Event()
        self.port = 0

    @property
    def url(self) -> str:
        """Base URL in the OpenAI style (`.../v1`)."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._replies.extend(replies)

    def enqueue_for(self, match: Callable[[RecordedRequest], bool], *replies: Reply) -> None:
        """Replies for the requests `match` picks (e.g. by a subagent's task prompt), taken
        before the common queue: concurrent conversations each get their own script whatever
        order their requests arrive in. A route whose replies are used up is skipped."""
        with self._lock:
            self._routes.append((match, deque(replies)))

    def clear(self) -> None:
        """Drop the scripted replies not used yet."""
        with self._lock:
            self._replies.clear()

    def pending(self) -> int:
        with self._lock:
            return len(self._replies)

    def _next_reply(self, request: RecordedRequest | None = None) -> Reply:
        with self._lock:
            for match, queue in self._routes:
                if request is not None and queue and match(request):
                    return queue.popleft()
            if self._replies:
                return self._replies.popleft()
        if self._default is not None:
            return self._default
        return Reply.error(500, {"error": {"message": "SSEServer: no scripted reply left"}})

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> SSEServer:
        self._thread = threading.Thread(target=self._run, name="sse-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("SSEServer did not start")
        return self

    def stop(self) -> None:
        loop = self._loop
        if loop is not None and self._thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(10)
        self._loop = None

    def __enter__(self) -> SSEServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0, limit=1 << 24))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(asyncio.sleep(0))
            loop.close()

    # -- HTTP ------------------------------------------------------------------------

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.connections_opened += 1
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                with self._lock:
                    self.requests.append(request)
                problem = self._validate(request) if self._validate is not None else None
                if problem is not None:
                    with self._lock:
                        self.rejected.append((request, problem))
                    reply = Reply.error(400, {"error": {"message": problem, "type": "invalid_request_error"}})
                else:
                    reply = self._next_reply(request)
                if not await self._respond(reply, reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            return  # the server is stopping; asyncio would log a cancelled handler as an error
        finally:
            self.disconnects.append(time.monotonic())
            writer.close()

    async def _respond(self, reply: Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Send one reply; False when the connection is finished with."""
        if reply.stall_before_headers:
            await _until_closed(reader)
            return False
        head = [f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}"]
        head += [f"{k}: {v}" for k, v in reply.headers.items()]
        head.append("transfer-encoding: chunked")
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        await writer.drain()
        loop = asyncio.get_running_loop()
        began = loop.time()
        for part in reply.body:
            if isinstance(part, Pause):
                await asyncio.sleep(part.seconds)
            elif isinstance(part, At):
                await asyncio.sleep(max(0.0, began + part.seconds - loop.time()))
            elif isinstance(part, Stall):
                await _until_closed(reader)
                return False
            elif isinstance(part, Reset):
                _reset(writer)
                return False
            elif part:
                writer.write(b"%x\r\n%s\r\n" % (len(part), part))
                await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        with self._lock:
            self.reply_ends.append(time.monotonic())
        return True


async def _read_request(reader: asyncio.StreamReader) -> RecordedRequest | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = await _read_chunked(reader)
    return RecordedRequest(method, path, headers, body, time.monotonic())


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    out = bytearray()
    while True:
        size = int((await reader.readline()).split(b";")[0], 16)
        if size == 0:
            await reader.readline()
            return bytes(out)
        out += await reader.readexactly(size)
        await reader.readline()


async def _until_closed(reader: asyncio.StreamReader) -> None:
    while await reader.read(65536):
        pass


def _reset(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        # SO_LINGER with a zero timeout turns close() into a TCP RST.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    529: "Overloaded",
}


def sse_body(events: Iterable[Any], *, done: bool = True, event_names: Sequence[str] | None = None) -> bytes:
    """Encode JSON payloads as SSE `data:` events (with `event:` names if given)."""
    out = bytearray()
    for i, payload in enumerate(events):
        if event_names is not None:
            out += f"event: {event_names[i]}\n".encode()
        text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
        out += f"data: {text}\n\n".encode()
    if done:
        out += b"data: [DONE]\n\n"
    return bytes(out)
