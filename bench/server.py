"""The benchmark's loopback SSE server: pre-encoded bytes, precise pacing, close timestamps.

    python bench/server.py          # prints its port, serves until stdin closes

Every response is encoded once, up front, as chunked HTTP with one chunk per SSE event (as
real servers send them), so serving a burst is a single `sendall` and the server is never
the bottleneck (`bench/run.py` checks it against `curl -N`). Paced streams are driven by
one ticker thread that sleeps to each millisecond boundary and writes every due event, so
64 concurrent paced streams cost 64 small sends per tick, not 64 timers.

The workload is named by the request path, so any OpenAI-compatible client can pick it with
its base URL: `/{kind}-{n}-{burst|paced|paced50}/{token}/v1/chat/completions`, kind `text`
or `tool`; `/stall/{token}/v1/...` sends one delta and then waits for the client to close.
A path ending in `/responses` gets the same workload as OpenAI Responses events: the same
number of deltas, wrapped in that API's item and completion events.
`GET /stats/{token}` returns what the server saw for that token: connections opened,
requests, the monotonic times (same clock as every process on the host) of the first
request and of each close.

Hand-written on plain sockets and threads, not asyncio or an HTTP library: the point is a
server whose own cost is one syscall per burst and whose pacing is as exact as
`time.sleep`, which no general-purpose server offers.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache

from skipjack.testing import ScriptedToolCall, ScriptedTurn, openai_turn, text_deltas
from skipjack.testing.responses_script import responses_turn

TICK = 0.001
# Seconds between events: `paced` is one per millisecond, `paced50` 50 per second (a fast
# model's real token rate, where every event finds the client idle).
PACES = {"paced": TICK, "paced50": 1 / 50}
HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)
TOOL_NAME = "bench"


def tool_arguments(n: int) -> str:
    """The argument text a tool workload of `n` one-character deltas spells."""
    return '{"s":"' + "x" * max(0, n - 8) + '"}'


@cache
def events(kind: str, n: int, api: str = "chat") -> tuple[bytes, ...]:
    """The chunk-encoded SSE events of a workload, each ready to send."""
    if kind == "text" and api == "chat":
        body = text_deltas(n)
    elif kind == "text":
        body = responses_turn(ScriptedTurn(text="x" * n, chunk_chars=1, completion_tokens=n))
    elif kind == "tool":
        turn = ScriptedTurn(
            tool_calls=[ScriptedToolCall(TOOL_NAME, tool_arguments(n), id="call_1")],
            chunk_chars=1,
            completion_tokens=n,
        )
        body = openai_turn(turn) if api == "chat" else responses_turn(turn)
    else:
        raise ValueError(kind)
    parts = [p + b"\n\n" for p in body.split(b"\n\n") if p]
    return (*(b"%x\r\n%s\r\n" % (len(p), p) for p in parts), b"0\r\n\r\n")


@cache
def burst_body(kind: str, n: int, api: str = "chat") -> bytes:
    return HEAD + b"".join(events(kind, n, api))


@cache
def stall_prefix(api: str) -> bytes:
    """The events of a one-delta text stream up to and including its delta."""
    chunks = events("text", 1, api)
    first_delta = next(i for i, c in enumerate(chunks) if b"delta" in c)
    return HEAD + b"".join(chunks[: first_delta + 1])


@dataclass
class Stats:
    connections: int = 0
    requests: int = 0
    first_request: float | None = None
    closes: list[float] = field(default_factory=list)


class Server:
    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0), backlog=256)
        self.port = self.sock.getsockname()[1]
        self.stats: dict[str, Stats] = defaultdict(Stats)
        self.lock = threading.Lock()
        self.paced: list[_Paced] = []
        self.paced_cv = threading.Condition()

    def serve(self) -> None:
        threading.Thread(target=self._ticker, daemon=True).start()
        while True:
            conn, _ = self.sock.accept()
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    # -- one connection: keep-alive requests until the client closes ------------------

    def _connection(self, conn: socket.socket) -> None:
        buf = b""
        token: str | None = None
        try:
            while True:
                request, buf = _read_request(conn, buf)
                if request is None:
                    break
                method, path = request
                parts = path.strip("/").split("/")
                if method == "GET" and parts[0] == "stats" and len(parts) == 2:
                    self._send_stats(conn, parts[1])
                    continue
                if len(parts) < 2:
                    conn.sendall(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                    continue
                workload = parts[0]
                api = "responses" if parts[-1] == "responses" else "chat"
                if token is None:
                    token = parts[1]
                    with self.lock:
                        self.stats[token].connections += 1
                with self.lock:
                    st = self.stats[parts[1]]
                    st.requests += 1
                    if st.first_request is None:
                        st.first_request = time.monotonic()
                if workload == "stall":
                    conn.sendall(stall_prefix(api))
                    while conn.recv(65536):
                        pass
                    break
                kind, n, mode = workload.split("-")
                if mode == "burst":
                    conn.sendall(burst_body(kind, int(n), api))
                else:
                    paced = _Paced(conn, events(kind, int(n), api), PACES[mode])
                    conn.sendall(HEAD)
                    with self.paced_cv:
                        self.paced.append(paced)
                        self.paced_cv.notify()
                    paced.done.wait()
                    if paced.failed:
                        break
        except OSError:
            pass
        finally:
            if token is not None:
                with self.lock:
                    self.stats[token].closes.append(time.monotonic())
            conn.close()

    def _send_stats(self, conn: socket.socket, token: str) -> None:
        with self.lock:
            st = self.stats.get(token, Stats())
            payload = json.dumps(st.__dict__).encode()
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
            % (len(payload), payload)
        )

    # -- paced streams: one thread, one tick per millisecond --------------------------

    def _ticker(self) -> None:
        while True:
            with self.paced_cv:
                while not self.paced:
                    self.paced_cv.wait()
                active = list(self.paced)
            now = time.monotonic()
            finished = [p for p in active if p.send_due(now)]
            if finished:
                with self.paced_cv:
                    for p in finished:
                        self.paced.remove(p)
                        p.done.set()
            # Sleep to the next millisecond boundary; a late wake-up sends what fell due.
            time.sleep(max(0.0, TICK - (time.monotonic() % TICK)))


class _Paced:
    def __init__(self, conn: socket.socket, chunks: tuple[bytes, ...], interval: float) -> None:
        self.conn = conn
        self.chunks = chunks
        self.interval = interval
        self.start = time.monotonic()
        self.sent = 0
        self.done = threading.Event()
        self.failed = False

    def send_due(self, now: float) -> bool:
        """Send every event due by `now` (one per interval after the first); True when over."""
        due = min(len(self.chunks), int((now - self.start) / self.interval) + 1)
        if due > self.sent:
            try:
                self.conn.sendall(b"".join(self.chunks[self.sent : due]))
            except OSError:
                self.failed = True
                return True
            self.sent = due
        return self.sent == len(self.chunks)


def _read_request(conn: socket.socket, buf: bytes) -> tuple[tuple[str, str] | None, bytes]:
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None, b""
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    if "content-length" in headers:
        length = int(headers["content-length"])
        while len(rest) < length:
            data = conn.recv(65536)
            if not data:
                return None, b""
            rest += data
        return (method, path), rest[length:]
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while b"0\r\n\r\n" not in rest:
            data = conn.recv(65536)
            if not data:
                return None, b""
            rest += data
        return (method, path), rest.partition(b"0\r\n\r\n")[2]
    return (method, path), rest


def main() -> None:
    server = Server()
    for kind in ("text", "tool"):
        for n in (1_000, 10_000, 100_000):
            for api in ("chat", "responses"):
                burst_body(kind, n, api)  # encode before announcing the port, not during a run
    print(server.port, flush=True)
    threading.Thread(target=server.serve, daemon=True).start()
    sys.stdin.read()


if __name__ == "__main__":
    main()
