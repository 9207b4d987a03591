"""The agent benchmark's scripted OpenAI-compatible chat-completions server (loopback, own process).

    python bench/agent/server.py        # prints its port, serves until stdin closes

Every agent is pointed at a base URL naming its run:
`http://127.0.0.1:PORT/{format}/{variant}/{turns}/{token}/v1`, where

- `format` is how the agent wants its replies: `tools-AGENT` (native tool calls in that
  agent's tool names, `script.TOOL_SETS`), or `aider` (SEARCH/REPLACE edit blocks, aider's
  edit format);
- `variant` is `burst` (each reply's 200 text deltas in one write) or `paced` (50 deltas/s);
- `turns` is the number of tool turns before the final answer;
- `token` names the run: its requests are logged under it.

Each reply is encoded once (its SSE events as HTTP chunks) and cached, so the server does no
per-request work beyond reading the body, the prefix check and one `sendall` (burst). The
server never thinks: a request is answered as soon as its body is read.

For every request it logs: arrival (`time.monotonic()` when its first byte was readable; the
same clock in every process of the host), end of response (after the last byte was written),
body size, the common byte prefix with the run's previous body, whether the previous request's
`messages` array (without its closing `]`) is a byte prefix of this one's, the turn it answered,
and whether the tool result the agent sent back is the expected one. `GET /log/{token}` returns
the run's log as JSON once every reply in it has its end stamped (at most 2 s): a client has
the last byte a moment before the thread that wrote it stamps the end.

Plain `http.server` with a thread per connection: its cost is the same for every agent, and
the arrival time is taken before it parses anything (`_Handler.handle_one_request`).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

try:
    from bench.agent import script
except ImportError:  # run as a script: bench/agent/ is on sys.path
    import script  # type: ignore[no-redef]

PACED_INTERVAL = 1 / 50
HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


def chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data)


@cache
def reply_body(fmt: str, k: int, turns: int) -> tuple[dict[str, Any], int]:
    return script.reply_body(fmt, k, turns)


@cache
def reply_chunks(fmt: str, k: int, turns: int) -> tuple[tuple[bytes, ...], int]:
    """The HTTP chunks of turn `k`'s reply (one per SSE event, encoded once) and its output tokens."""
    events, completion, _ = script.reply_events(fmt, k, turns)
    return tuple(chunk(b"data: " + e + b"\n\n") for e in events), completion


DONE = chunk(b"data: [DONE]\n\n") + b"0\r\n\r\n"


def usage_chunk(prompt_tokens: int, completion_tokens: int) -> bytes:
    return chunk(b"data: " + script.usage_event(prompt_tokens, completion_tokens) + b"\n\n")


def messages_span(body: bytes) -> bytes | None:
    """The raw bytes of the body's top-level `messages` array, as the agent serialised it."""
    text = body.decode("utf-8", "replace")
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    if not isinstance(doc, dict) or "messages" not in doc:
        return None
    decoder = json.JSONDecoder()
    start = 0
    while True:
        at = text.find('"messages"', start)
        if at < 0:
            return None
        i = at + len('"messages"')
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i < len(text) and text[i] == ":":
            i += 1
            while text[i] in " \t\r\n":
                i += 1
            try:
                value, end = decoder.raw_decode(text, i)
            except ValueError:
                return None
            if value == doc["messages"]:
                return text[i:end].encode()
        start = at + 1


def common_prefix(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    lo, hi = 0, n  # binary search on slice equality: C-speed compares, not a Python loop per byte
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


class Runs:
    def __init__(self) -> None:
        # A condition, not a plain lock: a log request waits on it for replies still being ended.
        self.lock = threading.Condition()
        self.logs: dict[str, list[dict[str, Any]]] = {}
        self.last_body: dict[str, bytes] = {}
        self.last_messages: dict[str, bytes | None] = {}


RUNS = Runs()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    arrival = 0.0

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def handle_one_request(self) -> None:
        # Wait for the request's first byte before stamping its arrival, so header parsing
        # (the same for every agent) is not counted as the agent's time.
        try:
            if not self.rfile.peek(1):  # type: ignore[attr-defined]
                self.close_connection = True
                return
        except OSError:
            self.close_connection = True
            return
        self.arrival = time.monotonic()
        super().handle_one_request()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send_json(self, status: int, doc: Any) -> None:
        data = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = self.path.strip("/").split("/")
        if parts[0] == "log" and len(parts) == 2:
            with RUNS.lock:
                log = RUNS.logs.get(parts[1], [])
                RUNS.lock.wait_for(lambda: all(e["end"] is not None for e in log), timeout=2.0)
                self._send_json(200, log)
        elif parts[-1] == "models":
            self._send_json(
                200, {"object": "list", "data": [{"id": script.MODEL, "object": "model", "owned_by": "bench"}]}
            )
        else:
            self._send_json(404, {"error": {"message": "not found"}})

    def do_POST(self) -> None:
        arrival = self.arrival
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        parts = self.path.strip("/").split("/")
        if len(parts) < 6 or parts[-2:] != ["chat", "completions"]:
            self._send_json(404, {"error": {"message": f"no route {self.path}"}})
            return
        fmt, variant, turns_s, token = parts[:4]
        turns = int(turns_s)
        try:
            request = json.loads(body)
        except ValueError:
            self._send_json(400, {"error": {"message": "body is not JSON"}})
            return
        messages = messages_span(body)
        # The run's log and "previous request" move on before the reply is written: a fast
        # agent's next request may arrive on another connection before this thread is done.
        with RUNS.lock:
            log = RUNS.logs.setdefault(token, [])
            n = len(log)
            prev_body = RUNS.last_body.get(token, b"")
            prev_messages = RUNS.last_messages.get(token)
            RUNS.last_body[token] = body
            RUNS.last_messages[token] = messages
            k = script.turn_of(fmt, request, n)
            entry: dict[str, Any] = {
                "n": n,
                "turn": k,
                "arrival": arrival,
                "end": None,
                "bytes": len(body),
                "common_prefix": common_prefix(prev_body, body) if n else 0,
                "messages_prefix_kept": (
                    None
                    if not n or prev_messages is None or messages is None
                    else messages.startswith(prev_messages[:-1])
                ),
                "result_ok": script.check_result(fmt, request, k),
                "stream": bool(request.get("stream")),
            }
            log.append(entry)
        # No tokenizer: a token per 4 body bytes, the usual rule of thumb; both sides of the
        # cost comparison use these same reported counts.
        prompt_tokens = max(1, len(body) // 4)
        if not request.get("stream"):
            # An agent that never streams (mini-swe-agent) gets the same reply as one JSON body,
            # after the time the paced stream would have taken.
            doc, completion = reply_body(fmt, min(k, turns), turns)
            if variant == "paced":
                time.sleep(script.TEXT_DELTAS * PACED_INTERVAL)
            usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion}
            with RUNS.lock:
                entry["usage"] = usage
            self._send_json(200, doc | {"usage": usage | {"total_tokens": prompt_tokens + completion}})
            end = time.monotonic()
            with RUNS.lock:
                entry["end"] = end
                RUNS.lock.notify_all()
        else:
            body_chunks, completion = reply_chunks(fmt, min(k, turns), turns)
            chunks = (*body_chunks, usage_chunk(prompt_tokens, completion), DONE)
            with RUNS.lock:
                entry["usage"] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion}
            self.wfile.write(HEAD)
            if variant == "paced":
                # One text delta per tick; the tool call and usage events go with the last one.
                n_text = script.TEXT_DELTAS
                due = time.monotonic()
                for i, c in enumerate(chunks):
                    if 0 < i <= n_text:
                        due += PACED_INTERVAL
                        delay = due - time.monotonic()
                        if delay > 0:
                            time.sleep(delay)
                    self.wfile.write(c)
            else:
                self.wfile.write(b"".join(chunks))
            end = time.monotonic()
            with RUNS.lock:
                entry["end"] = end
                RUNS.lock.notify_all()


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()  # serve until the harness closes our stdin
    server.shutdown()


if __name__ == "__main__":
    main()
