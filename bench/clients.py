"""One benchmark client per process: `python bench/clients.py CLIENT MODE ...` prints a JSON line.

Each client consumes whole streams from `bench/server.py` through its public API and checks
what it got (the text or the assembled tool arguments, and the usage). The figures are the
process's own CPU (every thread, native ones included), wall time and memory, so one
client's costs never mix with another's or the server's.

Modes:
  stream       a fresh request (time to first delta, fresh client), then RUNS timed requests
  connections  three requests in a row; the server counts the connections
  cancel       RUNS times: stop a stream after its first delta; print when cancel was called
  concurrent   64 streams at once
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

CLIENTS = ("skipjack", "skipjack-responses", "tinyagent", "openai", "httpx", "socket", "curl")
REQUEST = {
    "model": "bench",
    "messages": [{"role": "user", "content": "go"}],
    "stream": True,
    "stream_options": {"include_usage": True},
}
REQUEST_BYTES = json.dumps(REQUEST).encode()


@dataclass
class Outcome:
    first_delta: float
    """`time.monotonic()` when the first text or argument delta arrived."""
    payload: Any
    """The whole text, or the parsed tool arguments."""
    output_tokens: int


def tool_arguments(n: int) -> dict[str, str]:
    return {"s": "x" * max(0, n - 8)}


def check(kind: str, n: int, got: Outcome) -> None:
    want = "x" * n if kind == "text" else tool_arguments(n)
    if got.payload != want:
        raise SystemExit(f"wrong {kind} payload: {str(got.payload)[:80]!r}… ({len(str(got.payload))} chars)")
    if got.output_tokens != n:
        raise SystemExit(f"wrong usage: {got.output_tokens} output tokens, want {n}")


class Client(Protocol):
    async def consume(self, base: str, kind: str) -> Outcome: ...

    async def cancel_after_first(self, base: str) -> float:
        """Start a stream, stop it after the first delta; the monotonic time of the stop."""
        ...

    async def close(self) -> None: ...


# -- skipjack -------------------------------------------------------------------------


class Skipjack:
    api = "openai-chat"

    def __init__(self) -> None:
        from skipjack.llm import Context, UserMessage

        self.context = Context(messages=[UserMessage("go")])

    def _stream(self, base: str) -> Any:
        from skipjack.llm import Model, Price, stream

        model = Model(provider="bench", id="bench", api=self.api, base_url=base, price=Price(1.0, 2.0))
        return stream(model, self.context, api_key="bench")

    async def consume(self, base: str, kind: str) -> Outcome:
        from skipjack.llm.events import TextDelta, ToolCallDelta

        s = self._stream(base)
        first = 0.0
        async for event in s:
            if not first and isinstance(event, TextDelta | ToolCallDelta):
                first = time.monotonic()
        message = await s.result()
        if s.error is not None:
            raise SystemExit(f"skipjack stream failed: {s.error!r}")
        if message.usage.cost.total <= 0:
            raise SystemExit("skipjack computed no cost")
        payload = message.text if kind == "text" else message.tool_calls[0].arguments
        return Outcome(first, payload, message.usage.output)

    async def cancel_after_first(self, base: str) -> float:
        from skipjack.llm.events import TextDelta

        s = self._stream(base)
        async for event in s:
            if isinstance(event, TextDelta):
                break
        t = time.monotonic()
        s.cancel()
        await s.result()
        return t

    async def close(self) -> None:
        pass


class SkipjackResponses(Skipjack):
    """The same stream path over the OpenAI Responses API (`POST /responses`): the same
    number of deltas, in that API's events."""

    api = "openai-responses"


# -- tinyAgent's Rust binding ---------------------------------------------------------


class TinyAgent:
    """tiny-agent-os's public path to its Rust binding: `tinyagent.rust_binding_provider`."""

    def __init__(self) -> None:
        from tinyagent import Context, SimpleStreamOptions, TextContent, UserMessage

        self.context = Context(messages=[UserMessage(content=[TextContent(text="go")])])
        self.options = SimpleStreamOptions(api_key="bench")

    async def _stream(self, base: str) -> Any:
        from tinyagent.rust_binding_provider import RustBindingModel, stream_rust_binding

        model = RustBindingModel(
            provider="openai", id="bench", api="openai-completions", base_url=base + "/chat/completions"
        )
        return await stream_rust_binding(model, self.context, self.options)

    async def consume(self, base: str, kind: str) -> Outcome:
        s = await self._stream(base)
        first = 0.0
        async for event in s:
            if not first and event.type in ("text_delta", "tool_call_delta"):
                first = time.monotonic()
        message = await s.result()
        block = message.content[0]
        payload = block.text if kind == "text" else block.arguments
        return Outcome(first, payload, int(message.usage["output"]))

    async def cancel_after_first(self, base: str) -> float:
        # The binding has no cancel: the closest a caller can do is stop reading and drop it.
        s = await self._stream(base)
        async for event in s:
            if event.type == "text_delta":
                break
        t = time.monotonic()
        del s
        return t

    async def close(self) -> None:
        pass


# -- the openai SDK -------------------------------------------------------------------


class OpenAISDK:
    def __init__(self) -> None:
        self.clients: dict[str, Any] = {}

    async def _create(self, base: str) -> Any:
        from openai import AsyncOpenAI

        # One client per base URL (a process uses one, as an application would hold it).
        client = self.clients.get(base)
        if client is None:
            client = self.clients[base] = AsyncOpenAI(base_url=base, api_key="bench", max_retries=0)
        return await client.chat.completions.create(
            model="bench",
            messages=[{"role": "user", "content": "go"}],
            stream=True,
            stream_options={"include_usage": True},
        )

    async def consume(self, base: str, kind: str) -> Outcome:
        s = await self._create(base)
        first = 0.0
        text: list[str] = []
        usage = 0
        async for chunk in s:
            if chunk.usage is not None:
                usage = chunk.usage.completion_tokens
            if not chunk.choices:
                continue
            delta = chunk.choices[0].delta
            if delta.content:
                text.append(delta.content)
            elif delta.tool_calls:
                args = delta.tool_calls[0].function
                if args is not None and args.arguments:
                    text.append(args.arguments)
                else:
                    continue
            else:
                continue
            if not first:
                first = time.monotonic()
        joined = "".join(text)
        return Outcome(first, joined if kind == "text" else json.loads(joined), usage)

    async def cancel_after_first(self, base: str) -> float:
        s = await self._create(base)
        async for chunk in s:
            if chunk.choices and chunk.choices[0].delta.content:
                break
        t = time.monotonic()
        await s.close()
        return t

    async def close(self) -> None:
        for client in self.clients.values():
            await client.close()


# -- httpx + json.loads ---------------------------------------------------------------


class Httpx:
    def __init__(self) -> None:
        import httpx

        self.client = httpx.AsyncClient(timeout=None)

    async def consume(self, base: str, kind: str) -> Outcome:
        first = 0.0
        text: list[str] = []
        usage = 0
        async with self.client.stream("POST", base + "/chat/completions", json=REQUEST) as response:
            async for line in response.aiter_lines():
                if not line.startswith("data: ") or line == "data: [DONE]":
                    continue
                chunk = json.loads(line[6:])
                if chunk.get("usage"):
                    usage = chunk["usage"]["completion_tokens"]
                if not chunk["choices"]:
                    continue
                delta = chunk["choices"][0]["delta"]
                piece = delta.get("content")
                if not piece and "tool_calls" in delta:
                    piece = delta["tool_calls"][0]["function"].get("arguments")
                if piece:
                    text.append(piece)
                    if not first:
                        first = time.monotonic()
        joined = "".join(text)
        return Outcome(first, joined if kind == "text" else json.loads(joined), usage)

    async def cancel_after_first(self, base: str) -> float:
        async with self.client.stream("POST", base + "/chat/completions", json=REQUEST) as response:
            async for line in response.aiter_lines():
                if line.startswith("data: ") and '"content":"' in line:
                    break
            t = time.monotonic()
        return t

    async def close(self) -> None:
        await self.client.aclose()


# -- the floor: a blocking socket, a hand-rolled chunked reader, orjson ----------------


class SocketFloor:
    """What reading the same bytes costs with nothing but a socket and orjson.

    Blocking and synchronous (asyncio would only add cost); one connection per thread, kept
    alive between requests. The HTTP parsing knows this server's responses (always chunked).
    """

    def __init__(self) -> None:
        import orjson

        self.loads = orjson.loads
        self.local = threading.local()

    def _conn(self, base: str) -> socket.socket:
        sock: socket.socket | None = getattr(self.local, "sock", None)
        if sock is None:
            u = urlsplit(base)
            sock = socket.create_connection((u.hostname, u.port))
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.local.sock = sock
        return sock

    def _send(self, base: str) -> socket.socket:
        u = urlsplit(base)
        sock = self._conn(base)
        sock.sendall(
            b"POST %s/chat/completions HTTP/1.1\r\nhost: %s\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (u.path.encode(), u.netloc.encode(), len(REQUEST_BYTES), REQUEST_BYTES)
        )
        return sock

    def consume_sync(self, base: str, kind: str) -> Outcome:
        sock = self._send(base)
        loads = self.loads
        first = 0.0
        text: list[str] = []
        usage = 0
        buf = b""
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(65536)
        buf = buf.partition(b"\r\n\r\n")[2]
        pending = b""  # SSE bytes not yet split into events
        done = False
        while not done:
            # Unwrap every complete HTTP chunk in the buffer.
            pos = 0
            while True:
                eol = buf.find(b"\r\n", pos)
                if eol < 0:
                    break
                size = int(buf[pos:eol], 16)
                if size == 0:
                    done = True
                    pos = eol + 4
                    break
                end = eol + 2 + size
                if len(buf) < end + 2:
                    break
                pending += buf[eol + 2 : end]
                pos = end + 2
            buf = buf[pos:]
            events = pending.split(b"\n\n")
            pending = events.pop()
            for event in events:
                data = event[6:]
                if data == b"[DONE]":
                    continue
                chunk = loads(data)
                if chunk.get("usage"):
                    usage = chunk["usage"]["completion_tokens"]
                if not chunk["choices"]:
                    continue
                delta = chunk["choices"][0]["delta"]
                piece = delta.get("content")
                if not piece and "tool_calls" in delta:
                    piece = delta["tool_calls"][0]["function"].get("arguments")
                if piece:
                    text.append(piece)
                    if not first:
                        first = time.monotonic()
            if not done:
                data = sock.recv(65536)
                if not data:
                    raise SystemExit("socket closed mid-stream")
                buf += data
        joined = "".join(text)
        return Outcome(first, joined if kind == "text" else loads(joined), usage)

    async def consume(self, base: str, kind: str) -> Outcome:
        return self.consume_sync(base, kind)

    async def cancel_after_first(self, base: str) -> float:
        sock = self._send(base)
        buf = b""
        while b'"content":"' not in buf:
            buf += sock.recv(65536)
        t = time.monotonic()
        sock.close()
        self.local.sock = None
        return t

    async def close(self) -> None:
        sock = getattr(self.local, "sock", None)
        if sock is not None:
            sock.close()


# -- runners --------------------------------------------------------------------------


def make(name: str) -> Client:
    factories: dict[str, Callable[[], Client]] = {
        "skipjack": Skipjack,
        "skipjack-responses": SkipjackResponses,
        "tinyagent": TinyAgent,
        "openai": OpenAISDK,
        "httpx": Httpx,
        "socket": SocketFloor,
    }
    return factories[name]()


def _closes(url: str) -> list[float]:
    with urllib.request.urlopen(url) as r:
        closes: list[float] = json.loads(r.read())["closes"]
        return closes


async def close_latency(stats: str, token: str, since: float, patience: float = 2.0) -> float | None:
    """Milliseconds from `since` until the server saw this token's connection close (None: never,
    within `patience` seconds). Polled while this process lives, so exit cannot close it for us."""
    deadline = since + patience
    while time.monotonic() < deadline:
        closes = await asyncio.to_thread(_closes, f"{stats}/{token}")
        if closes:
            return (closes[0] - since) * 1000
        await asyncio.sleep(0.001)
    return None


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def timed(fn: Callable[[], Awaitable[Outcome]]) -> tuple[Outcome, dict[str, float]]:
    cpu0, t0 = cpu_seconds(), time.monotonic()
    got = await fn()
    t1 = time.monotonic()
    return got, {"cpu": cpu_seconds() - cpu0, "wall": t1 - t0, "ttfd": got.first_delta - t0}


async def concurrent_run(client: Client, args: argparse.Namespace) -> dict[str, float]:
    """`args.streams` streams at once; the process's CPU and the wall time until all are done."""
    cpu0, t0 = cpu_seconds(), time.monotonic()
    if isinstance(client, SocketFloor):
        results: list[Outcome] = []
        threads = [
            threading.Thread(target=lambda: results.append(client.consume_sync(args.base, args.kind)))
            for _ in range(args.streams)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        results = list(await asyncio.gather(*(client.consume(args.base, args.kind) for _ in range(args.streams))))
    figures = {"cpu": cpu_seconds() - cpu0, "wall": time.monotonic() - t0}
    if len(results) != args.streams:
        raise SystemExit(f"{len(results)} of {args.streams} streams finished")
    for got in results:
        check(args.kind, args.n, got)
    return figures


async def run_python(args: argparse.Namespace) -> dict[str, Any]:
    client = make(args.client)
    base = args.base
    out: dict[str, Any] = {}
    if args.mode == "stream":
        rss0 = rss_mib()
        got, fresh = await timed(lambda: client.consume(base, args.kind))
        check(args.kind, args.n, got)
        out["fresh_ttfd"] = fresh["ttfd"]
        runs = []
        deadline = time.monotonic() + args.budget
        for _ in range(args.runs):
            got, figures = await timed(lambda: client.consume(base, args.kind))
            check(args.kind, args.n, got)
            runs.append(figures)
            if time.monotonic() > deadline:
                break
        out["runs"] = runs
        out["rss_growth_mib"] = peak_rss_mib() - rss0
    elif args.mode == "connections":
        for _ in range(3):
            check(args.kind, args.n, await client.consume(base, args.kind))
    elif args.mode == "cancel":
        latencies: list[float | None] = []
        for i in range(args.runs):
            t = await client.cancel_after_first(f"{base}{i}/v1")
            latencies.append(await close_latency(args.stats, f"{args.token}{i}", t))
        out["cancel_ms"] = latencies
    elif args.mode == "concurrent":
        out["runs"] = [await concurrent_run(client, args) for _ in range(args.runs)]
    await client.close()
    return out


# -- curl: a process per invocation; its own CPU and memory from wait4 -----------------


def curl(urls: list[str], *, parallel: bool = False) -> tuple[bytes, float, float, float, float]:
    """Run curl on `urls`; (output, cpu, wall, time to first data line, peak RSS MiB)."""
    cmd = ["curl", "-sSN", "--fail", "-H", "content-type: application/json"]
    if parallel:
        cmd += ["--parallel", "--parallel-immediate", "--parallel-max", str(len(urls))]
    cmd += ["-d", REQUEST_BYTES.decode(), *urls]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    chunks = [proc.stdout.read1(65536)]
    first = time.monotonic()
    while chunk := proc.stdout.read1(1 << 20):
        chunks.append(chunk)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    if status != 0:
        raise SystemExit(f"curl failed: status {status}")
    return b"".join(chunks), usage.ru_utime + usage.ru_stime, wall, first - t0, usage.ru_maxrss / 1024


def parse_sse(body: bytes, kind: str) -> list[Outcome]:
    """Check curl's output after the fact (outside the timed part)."""
    outcomes = []
    for stream in body.split(b"data: [DONE]\n\n")[:-1]:
        pieces: list[str] = []
        usage = 0
        for line in stream.split(b"\n"):
            if not line.startswith(b"data: "):
                continue
            chunk = json.loads(line[6:])
            if chunk.get("usage"):
                usage = chunk["usage"]["completion_tokens"]
            if chunk["choices"]:
                delta = chunk["choices"][0]["delta"]
                piece = delta.get("content") or (delta.get("tool_calls") or [{"function": {}}])[0]["function"].get(
                    "arguments"
                )
                if piece:
                    pieces.append(piece)
        joined = "".join(pieces)
        outcomes.append(Outcome(0.0, joined if kind == "text" else json.loads(joined), usage))
    return outcomes


def run_curl(args: argparse.Namespace) -> dict[str, Any]:
    url = args.base + "/chat/completions"
    out: dict[str, Any] = {}
    if args.mode == "stream":
        runs = []
        deadline = time.monotonic() + args.budget
        for i in range(args.runs + 1):
            body, cpu, wall, ttfd, peak = curl([url])
            for got in parse_sse(body, args.kind):
                check(args.kind, args.n, got)
            if i == 0:
                out["fresh_ttfd"] = ttfd
                out["peak_rss_mib"] = peak
            else:
                runs.append({"cpu": cpu, "wall": wall, "ttfd": ttfd})
            if time.monotonic() > deadline:
                break
        out["runs"] = runs
    elif args.mode == "connections":
        body = curl([url] * 3)[0]
        for got in parse_sse(body, args.kind):
            check(args.kind, args.n, got)
    elif args.mode == "cancel":
        times = []
        for i in range(args.runs):
            proc = subprocess.Popen(
                ["curl", "-sSN", "-d", REQUEST_BYTES.decode(), f"{args.base}{i}/v1/chat/completions"],
                stdout=subprocess.PIPE,
            )
            assert proc.stdout is not None
            buf = b""
            while b'"content":"' not in buf:
                buf += proc.stdout.read1(65536)
            t = time.monotonic()
            proc.send_signal(signal.SIGINT)
            times.append(asyncio.run(close_latency(args.stats, f"{args.token}{i}", t)))
            proc.wait()
        out["cancel_ms"] = times
    elif args.mode == "concurrent":
        runs = []
        for _ in range(args.runs):
            body, cpu, wall, _, _ = curl([url] * args.streams, parallel=True)
            # Parallel transfers interleave on stdout, so only whole streams are counted.
            if body.count(b"data: [DONE]") != args.streams:
                raise SystemExit(f"{body.count(b'data: [DONE]')} of {args.streams} streams finished")
            runs.append({"cpu": cpu, "wall": wall})
        out["runs"] = runs
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("client", choices=CLIENTS)
    p.add_argument("mode", choices=("stream", "connections", "cancel", "concurrent"))
    p.add_argument("--base", required=True, help="base URL up to /v1 (cancel: up to the token prefix)")
    p.add_argument("--kind", choices=("text", "tool"), default="text")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--streams", type=int, default=64)
    p.add_argument("--stats", help="the server's /stats URL (cancel mode)")
    p.add_argument("--token", help="the token prefix of the cancel URLs")
    p.add_argument("--budget", type=float, default=60.0, help="stop timing more runs after this many seconds")
    args = p.parse_args()
    out = run_curl(args) if args.client == "curl" else asyncio.run(run_python(args))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    sys.exit(main())
