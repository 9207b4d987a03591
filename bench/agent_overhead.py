"""skipjack's own overhead around the model: start → first request, and the per-turn gap.

Run from a checkout with skipjack importable:

    PYTHONPATH=python .venv/bin/python bench/agent_overhead.py [--runs 15] [--turns 30]

A loopback scripted server (`skipjack.testing.SSEServer`, in this process's background
thread) timestamps each request when its last byte is read and each reply when its last
byte is handed to the socket; `skipjack run` runs as a fresh process per run against it,
with isolated config and data directories. Figures (medians and min-max over the runs):

- **start → first request**: from just before the process is spawned to the first request's
  arrival, for a one-turn task; beside it `skipjack --version` and `python -c pass`.
- **per-turn gap**: a `--turns`-turn task, each turn one tool call, then a final answer; the
  gap is the next request's arrival minus the previous reply's end. For `read` (a small
  file, run in-process) the tool's own time is part of skipjack's overhead and is not
  subtracted. For `bash true` the sandboxed process's own life is subtracted: its median is
  measured in this run by spawning the sandbox's exact command line for `true` (what the
  tool spawns) the same number of times, so the figure left is what skipjack adds around it.
- **prefix-stable**: the share of consecutive requests whose body, up to the end of the
  earlier request's messages, is byte-identical to it (prompt-cache friendliness).
- **CPU**: the agent process's user+system CPU over the whole run (from `wait4`).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

SKIPJACK = Path(sys.executable).parent / "skipjack"


AGENT_PYTHONPATH: str | None = None
"""`--agent-pythonpath`: run the agent from another tree (e.g. an older commit's `python/`) to
compare, while the server and harness stay this checkout's."""


def isolated_env(tmp: Path) -> dict[str, str]:
    # Bytecode is written and reused, as an installed package has it.
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY") and k != "PYTHONDONTWRITEBYTECODE"}
    if AGENT_PYTHONPATH is not None:
        env["PYTHONPATH"] = AGENT_PYTHONPATH
    for name in ("CONFIG", "DATA", "CACHE"):
        env[f"SKIPJACK_{name}_DIR"] = str(tmp / name.lower())
        env[f"XDG_{name}_HOME"] = str(tmp / f"xdg-{name.lower()}")
    return env


def make_repo(tmp: Path, server: SSEServer) -> Path:
    """A trusted git repository whose project config names the server as a priced provider."""
    root = tmp / "repo"
    (root / ".skipjack").mkdir(parents=True)
    (root / "notes.txt").write_text("".join(f"line {i}: the quick brown fox\n" for i in range(40)))
    (root / ".skipjack" / "config.toml").write_text(
        f"""model = "scripted/m1"
[providers.scripted]
base_url = "{server.url}"
api = "openai-chat"
[providers.scripted.models.m1]
context_window = 1000000
max_output = 4000
price = {{ input = 3.0, output = 15.0, cache_read = 0.3 }}
"""
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (tmp / "config").mkdir(exist_ok=True)
    (tmp / "config" / "config.toml").write_text(f"trusted_projects = [{str(root)!r}]\n")
    return root


def spawn_run(args: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, int, float, str]:
    """(spawn time, exit status, CPU seconds of the process tree, stderr) of one `skipjack run`."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [str(SKIPJACK), "run", *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return t0, proc.returncode, usage.ru_utime + usage.ru_stime, err


def cell(samples: list[float], digits: int = 1) -> str:
    if not samples:
        return "-"
    return f"{statistics.median(samples):.{digits}f} ({min(samples):.{digits}f}-{max(samples):.{digits}f})"


def wall_ms(argv: list[str], runs: int, env: dict[str, str] | None = None) -> list[float]:
    subprocess.run(argv, capture_output=True, check=False, env=env)
    out = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run(argv, capture_output=True, check=False, env=env)
        out.append((time.monotonic() - t0) * 1000)
    return out


def start_to_first_request(tmp: Path, runs: int) -> tuple[list[float], list[float]]:
    starts, cpus = [], []
    with SSEServer() as server:
        repo = make_repo(tmp, server)
        env = isolated_env(tmp)
        for i in range(runs + 1):
            server.enqueue(turn_reply(ScriptedTurn(text="hello")))
            before = len(server.requests)
            t0, code, cpu, err = spawn_run(["say hi"], repo, env)
            if code != 0 or len(server.requests) != before + 1:
                raise SystemExit(f"run failed ({code}): {err}")
            if i:  # the first run warms the file cache
                starts.append((server.requests[before].received_at - t0) * 1000)
                cpus.append(cpu * 1000)
    return starts, cpus


def prefix_stable(bodies: list[bytes]) -> tuple[int, int]:
    """(stable, pairs): a pair is stable when the later body starts, byte for byte, with the
    earlier body up to the end of its last message."""
    stable = 0
    for earlier, later in itertools.pairwise(bodies):
        end = _messages_end(earlier)
        stable += later[:end] == earlier[:end]
    return stable, max(0, len(bodies) - 1)


def _messages_end(body: bytes) -> int:
    """Offset just past the last message of `body`'s `messages` array (the closing `}` of its
    last element), found by decoding so that string contents cannot fool it."""
    start = body.index(b'"messages":') + len(b'"messages":')
    decoder = json.JSONDecoder()
    text = body.decode()
    # Byte offsets equal character offsets only for ASCII; scripted bodies are ASCII-escaped
    # JSON unless a tool returns non-ASCII text, so map through the encoded prefix to be exact.
    _, end = decoder.raw_decode(text, len(body[:start].decode()))
    return len(text[: end - 1].encode())


def multi_turn(
    tmp: Path,
    turns: int,
    runs: int,
    call: Callable[[int], ScriptedToolCall],
    approval: str,
    fresh_home: bool = False,
) -> tuple[list[float], list[float], tuple[int, int], list[int]]:
    """Gaps (ms, every turn of every run), CPU per run (ms), prefix stability, request sizes.

    `fresh_home`: each run gets a HOME made just before it, as `bench/agent` gives every agent."""
    gaps: list[float] = []
    cpus: list[float] = []
    stable = pairs = 0
    sizes: list[int] = []
    with SSEServer() as server:
        repo = make_repo(tmp, server)
        env = isolated_env(tmp)
        for run in range(runs):
            replies = [turn_reply(ScriptedTurn(text="", tool_calls=[call(t)])) for t in range(turns)]
            server.enqueue(*replies, turn_reply(ScriptedTurn(text="done")))
            first = len(server.requests)
            ends_before = len(server.reply_ends)
            run_env = env
            if fresh_home:
                home = tmp / f"home-{run}"
                home.mkdir()
                run_env = env | {"HOME": str(home)}
            _, code, cpu, err = spawn_run(["--approval", approval, "do it"], repo, run_env)
            requests = server.requests[first:]
            if code != 0 or len(requests) != turns + 1:
                raise SystemExit(f"run failed ({code}, {len(requests)} requests): {err}")
            for i, body in enumerate(r.body for r in requests[1:]):
                # The server checks each tool result came back, so a figure can't come from a
                # run whose tools failed.
                last = json.loads(body)["messages"][-1]
                if last.get("role") != "tool" or "error" in str(last.get("content", ""))[:40].lower():
                    raise SystemExit(f"turn {i}: unexpected tool result {last!r:.200}")
            ends = server.reply_ends[ends_before:]
            gaps += [(r.received_at - e) * 1000 for r, e in zip(requests[1:], ends, strict=False)]
            cpus.append(cpu * 1000)
            s, p = prefix_stable([r.body for r in requests])
            stable += s
            pairs += p
            sizes = [len(r.body) for r in requests]
    return gaps, cpus, (stable, pairs), sizes


def sandboxed_true_ms(repo: Path, runs: int) -> list[float] | None:
    """The sandboxed `true` the bash tool spawns, timed alone."""
    from skipjack.safety.sandbox import probe, sandbox_for

    if not probe().available:
        return None
    with sandbox_for("yolo", repo).command(["bash", "-c", "true"], repo) as argv:
        return wall_ms(argv, runs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=15, help="fresh processes per figure")
    p.add_argument("--turns", type=int, default=30, help="tool-call turns per multi-turn run")
    p.add_argument("--agent-pythonpath", help="PYTHONPATH of the agent processes (default: inherited)")
    opts = p.parse_args()
    global AGENT_PYTHONPATH
    AGENT_PYTHONPATH = opts.agent_pythonpath
    load_start = os.getloadavg()[0]
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="skipjack-overhead-") as d:
        tmp = Path(d)
        env = isolated_env(tmp)
        rows.append(("`python -c pass`, ms", cell(wall_ms([sys.executable, "-c", "pass"], opts.runs, env), 0)))
        rows.append(("`skipjack --version`, ms", cell(wall_ms([str(SKIPJACK), "--version"], opts.runs, env), 0)))
        starts, cpus = start_to_first_request(tmp / "start", opts.runs)
        rows.append(("`skipjack run` start → first request, ms", cell(starts, 0)))
        rows.append(("  CPU of the one-turn run, ms", cell(cpus, 0)))

        def read(t: int) -> ScriptedToolCall:
            return ScriptedToolCall("read", {"path": "notes.txt"}, id=f"r{t}")

        gaps, cpus, (stable, pairs), sizes = multi_turn(tmp / "read", opts.turns, opts.runs, read, "ask")
        rows.append((f"per-turn gap, `read` ({len(gaps)} turns), ms", cell(gaps, 2)))
        rows.append((f"  CPU per {opts.turns + 1}-request run, ms", cell(cpus, 0)))
        rows.append(("  prefix-stable request pairs", f"{stable}/{pairs}"))
        rows.append(("  request bytes, first → last", f"{sizes[0]} → {sizes[-1]}"))

        def bash(t: int) -> ScriptedToolCall:
            return ScriptedToolCall("bash", {"command": "true"}, id=f"b{t}")

        gaps, cpus, (stable, pairs), _ = multi_turn(tmp / "bash", opts.turns, max(3, opts.runs // 3), bash, "yolo")
        true_ms = sandboxed_true_ms(tmp / "bash" / "repo", 3 * opts.runs)
        own = statistics.median(true_ms) if true_ms else 0.0
        rows.append((f"per-turn gap, `bash true` ({len(gaps)} turns), ms", cell(gaps, 2)))
        rows.append(("  the sandboxed `true` alone, ms", cell(true_ms, 2) if true_ms else "no sandbox here"))
        rows.append(("  gap minus the median sandboxed `true`, ms", cell([g - own for g in gaps], 2)))
        rows.append(("  prefix-stable request pairs", f"{stable}/{pairs}"))
    rows.append(("load (1 min) at start / end", f"{load_start:.2f} / {os.getloadavg()[0]:.2f}"))
    width = max(len(label) for label, _ in rows)
    print(f"{'figure':<{width}}  median (min-max)")
    for label, value in rows:
        print(f"{label:<{width}}  {value}")


if __name__ == "__main__":
    main()
