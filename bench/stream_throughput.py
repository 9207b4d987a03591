"""Stream N text deltas from a loopback server in another process through
`skipjack.llm.stream`; report client CPU per event, events per second, peak memory growth,
and cancel latency (cancel → the server sees the socket close).

    bash bench/setup.sh   # a venv with the release-built core, under .cache/
    .cache/bench-venv/bin/python bench/stream_throughput.py --deltas 100000 --runs 5

`make bench` runs the side-by-side comparison (bench/run.py) instead.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import subprocess
import sys
import time

from skipjack.llm import Context, Model, Price, UserMessage, stream
from skipjack.llm.events import TextDelta
from skipjack.testing import Reply, SSEServer, Stall

PARTIAL = b'data: {"choices":[{"index":0,"delta":{"content":"partial"}}]}\n\n'


def model(url: str) -> Model:
    return Model(provider="bench", id="bench", api="openai-chat", base_url=url, price=Price(input=1.0, output=2.0))


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def one_run(url: str, deltas: int) -> tuple[float, float, int]:
    cpu0, wall0 = cpu_seconds(), time.perf_counter()
    s = stream(model(url), Context(messages=[UserMessage("go")]))
    events = 0
    chars = 0
    async for event in s:
        events += 1
        if isinstance(event, TextDelta):
            chars += len(event.delta)
    message = await s.result()
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - wall0
    if chars != deltas or message.usage.output != deltas or message.usage.cost.total <= 0:
        raise SystemExit(f"bad stream: {chars} chars, usage {message.usage}")
    return cpu, wall, events


async def cancel_latency(runs: int) -> list[float]:
    latencies = []
    with SSEServer() as server:
        for _ in range(runs):
            seen = len(server.disconnects)
            server.enqueue(Reply(body=[PARTIAL, Stall()]))
            s = stream(model(server.url), Context(messages=[UserMessage("go")]))
            async for event in s:
                if isinstance(event, TextDelta):
                    break
            t0 = time.monotonic()
            s.cancel()
            await s.result()
            while len(server.disconnects) == seen:  # noqa: ASYNC110 - set by the server thread; 0.5 ms polls
                await asyncio.sleep(0.0005)
            latencies.append((server.disconnects[seen] - t0) * 1000)
    return latencies


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} (min {min(values):.3f}, max {max(values):.3f})"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deltas", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    server = subprocess.Popen(  # noqa: ASYNC220 - started once, before any measurement
        [sys.executable, "-m", "skipjack.testing", "serve", "--deltas", str(args.deltas)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        await one_run(url, args.deltas)  # warm-up: connection, imports, allocator
        rss_before = peak_rss_mib()
        cpu_us, rate = [], []
        for _ in range(args.runs):
            cpu, wall, events = await one_run(url, args.deltas)
            cpu_us.append(cpu / events * 1e6)
            rate.append(events / wall)
        growth = peak_rss_mib() - rss_before
    finally:
        server.terminate()
        server.wait()
    cancels = await cancel_latency(args.runs)
    print(f"skipjack.llm.stream, {args.deltas} text deltas, {args.runs} runs (median, min-max)")
    print(f"  client CPU per event   {summary(cpu_us)} us")
    print(f"  events per second      {summary([r / 1000 for r in rate])} k")
    print(f"  peak RSS growth        {growth:.1f} MiB")
    print(f"  cancel -> socket closed {summary(cancels)} ms")


if __name__ == "__main__":
    asyncio.run(main())
