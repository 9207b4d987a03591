"""Long sessions: resuming a big session, and a 500-turn run's per-turn cost and memory.

Run from a checkout with skipjack importable:

    PYTHONPATH=python .venv/bin/python bench/long_session.py [--sizes 100,1000,10000] [--turns 500]

- **resume**: a session file of N messages is written through skipjack's own session API
  (user prompt, then turns of an assistant tool call and its result; tool outputs of 2-400 KB,
  about 90 KB on average, so 1,000 messages make a ~45 MB file), then `skipjack run --continue`
  is timed from spawn to its first request reaching the loopback server (which answers
  at once), with the agent's CPU. The model's context window is set large enough that the
  resume does not compact, so the whole history is loaded, rebuilt and sent.
- **long run**: one `skipjack run` of `--turns` tool-call turns (a `read` of a small file
  each), then a final answer. The server timestamps every request and reply end; the
  per-turn gap (next request's arrival minus the previous reply's end) is shown as the
  median of the 10 turns around turn 10, 100 and 500, with the request's size and the agent
  process's RSS read from /proc when each request arrives.

The table prints medians; wall figures move with the machine's load (printed at both ends).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from skipjack.llm.types import (
    AssistantMessage,
    Cost,
    TextContent,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from skipjack.sessions import SessionStore
from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply
from skipjack.testing.sse_server import RecordedRequest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import agent_overhead
from bench.agent_overhead import SKIPJACK, isolated_env, make_repo, spawn_run

WORDS = [
    *("the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog"),
    *("while", "skipjack", "reads", "files", "and", "runs", "tests"),
]


def _usage(tokens: int) -> Usage:
    cost = tokens * 3.0 / 1e6
    return Usage(
        input=tokens,
        output=50,
        cache_read=0,
        cache_write=0,
        total_tokens=tokens + 50,
        cost=Cost(input=cost, output=50 * 15.0 / 1e6, cache_read=0.0, cache_write=0.0, total=cost + 50 * 15.0 / 1e6),
    )


def _pool(rng: random.Random, chars: int) -> str:
    """Numbered lines of words: tool output is cut from it (building each one afresh made
    writing a 10,000-message session take minutes)."""
    lines = []
    length = 0
    while length < chars:
        line = f"{len(lines) + 1:5}\t" + " ".join(rng.choices(WORDS, k=10))
        lines.append(line)
        length += len(line) + 1
    return "\n".join(lines)


_POOL = _pool(random.Random(1), 2_000_000)


def write_session(store: SessionStore, cwd: Path, messages: int, rng: random.Random) -> tuple[Path, int]:
    """A session of `messages` messages; returns its path and size in bytes."""
    session = store.create(cwd, "scripted/m1")
    session.append_message(UserMessage("Refactor the parser and run the tests."))
    n = 1
    turn = 0
    while n < messages:
        call = ToolCall(id=f"call_{turn}", name="read", arguments={"path": f"src/module_{turn % 97}.py"})
        assistant = AssistantMessage(
            content=[TextContent(f"Looking at module {turn}."), call],
            api="openai-chat",
            provider="scripted",
            model="m1",
            usage=_usage(1000 + 40 * turn),
            stop_reason="tool_use",
        )
        session.append_message(assistant)
        n += 1
        if n >= messages:
            break
        size = int(rng.lognormvariate(11.1, 0.8))  # median ~66 KB, mean ~90 KB
        size = max(2_000, min(size, 400_000))
        start = rng.randrange(0, len(_POOL) - size)
        start = _POOL.index("\n", start) + 1
        session.append_message(ToolResultMessage(call.id, "read", _POOL[start : start + size]))
        n += 1
        turn += 1
    session.close()
    return session.path, session.path.stat().st_size


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def resume(tmp: Path, sizes: list[int], runs: int) -> list[tuple[int, float, str, str, str]]:
    rows = []
    rng = random.Random(7)
    for messages in sizes:
        home = tmp / f"resume-{messages}"
        with SSEServer() as server:
            repo = make_repo(home, server)
            env = isolated_env(home)
            store = SessionStore(env=env)
            _, size = write_session(store, repo, messages, rng)
            firsts, cpus, total = [], [], []
            for i in range(runs + 1):
                server.enqueue(turn_reply(ScriptedTurn(text="ok")))
                before = len(server.requests)
                t0, code, cpu_s, err = spawn_run(["--continue", "go on"], repo, env)
                done = time.monotonic()
                if code != 0 or len(server.requests) != before + 1:
                    raise SystemExit(f"resume of {messages} messages failed: {err}")
                sent = len(server.requests[before].json()["messages"])
                if sent < messages:
                    raise SystemExit(f"the resumed request carried {sent} messages, not {messages}+")
                if i:  # the first run warms the file cache
                    firsts.append((server.requests[before].received_at - t0) * 1000)
                    cpus.append(cpu_s * 1000)
                    total.append((done - t0) * 1000)
        rows.append((messages, size / 1e6, cell(firsts), cell(cpus), cell(total)))
    return rows


def long_run(tmp: Path, turns: int) -> tuple[list[tuple[int, str, int, float]], float]:
    samples: list[int] = []
    pid_box: list[int] = []

    def note_rss(request: RecordedRequest) -> None:
        # Called by the server as each request arrives, in order.
        samples.append(rss_kb(pid_box[0]) if pid_box else 0)
        return None

    with SSEServer(validate=note_rss) as server:
        repo = make_repo(tmp / "long", server)
        env = isolated_env(tmp / "long")
        calls = [ScriptedToolCall("read", {"path": "notes.txt"}, id=f"r{t}") for t in range(turns)]
        server.enqueue(*(turn_reply(ScriptedTurn(tool_calls=[c])) for c in calls), turn_reply(ScriptedTurn(text="ok")))
        t0 = time.monotonic()
        proc = subprocess.Popen(
            [str(SKIPJACK), "run", "--approval", "ask", "go"],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        pid_box.append(proc.pid)
        assert proc.stderr is not None
        err = proc.stderr.read().decode(errors="replace")
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.monotonic() - t0
        if os.waitstatus_to_exitcode(status) != 0 or len(server.requests) != turns + 1:
            raise SystemExit(f"long run failed ({len(server.requests)} requests): {err}")
        reqs = server.requests
        ends = server.reply_ends
        gaps = [(reqs[i + 1].received_at - ends[i]) * 1000 for i in range(turns)]
        rows = []
        for at in (10, 100, 500, turns):
            if at > turns or any(r[0] == at for r in rows):
                continue
            window = gaps[max(0, at - 10) : at]
            rows.append((at, cell(window, 2), len(reqs[at].body), (samples[at] if at < len(samples) else 0) / 1024))
        cpu = (usage.ru_utime + usage.ru_stime) * 1000
        print(f"long run: {turns} turns in {wall:.1f} s, agent CPU {cpu:.0f} ms", file=sys.stderr)
        return rows, cpu


def cell(samples: list[float], digits: int = 0) -> str:
    if not samples:
        return "-"
    return f"{statistics.median(samples):.{digits}f} ({min(samples):.{digits}f}-{max(samples):.{digits}f})"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100,1000,10000", help="messages per resumed session")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--turns", type=int, default=500)
    p.add_argument("--agent-pythonpath", help="PYTHONPATH of the agent processes (default: inherited)")
    opts = p.parse_args()
    agent_overhead.AGENT_PYTHONPATH = opts.agent_pythonpath
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="skipjack-long-") as d:
        tmp = Path(d)
        rows = resume(tmp, [int(s) for s in opts.sizes.split(",")], opts.runs)
        print("resume (`run --continue`), median (min-max) over", opts.runs, "runs")
        print(f"{'messages':>9} {'file MB':>8}  {'→ first request, ms':<22} {'CPU, ms':<20} {'whole run, ms':<20}")
        for messages, mb, first, cpu, total in rows:
            print(f"{messages:>9} {mb:>8.1f}  {first:<22} {cpu:<20} {total:<20}")
        turn_rows, _ = long_run(tmp, opts.turns)
        print(f"\n{opts.turns}-turn run: per-turn gap over the 10 turns before turn N, ms")
        print(f"{'turn':>5}  {'gap, ms':<24} {'request bytes':>13} {'agent RSS, MB':>14}")
        for at, gap, size, rss in turn_rows:
            print(f"{at:>5}  {gap:<24} {size:>13} {rss:>14.1f}")
    print(f"\nload (1 min) at start / end: {load_start:.2f} / {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
