"""The terminal UI's goals, measured on the real command in a real terminal (tmux).

    PYTHONPATH=python .venv/bin/python bench/tui_bench.py [--quick] [--only NAME ...]

Each figure runs `skipjack` (through `bench/tui_probe.py`, which only adds timing records)
in its own tmux server, against the scripted loopback model (`skipjack.testing`) served
from this process, with config and session data in a temporary folder:

- cadence: a 20,000-character markdown answer streamed at 100 tokens/s (4 characters a
  token) after `--continue` of a 40-exchange session: screen updates per second that grow
  the answer, the longest gap between them (overall and in the last quarter), and the UI
  process's CPU over the stream (% of one core);
- first token: Enter → the first frame showing the answer's text, over 5 prompts, minus
  nothing (the scripted server answers at once);
- launch: spawning the command → the status line says "ready" (tmux polled every 10 ms);
- resume: `--continue` of a 1,000-message session → "ready" with its last answer on screen;
- memory: resident memory of the UI process after `--continue` of 500 exchanges with tool
  output (2,000 messages) and one more live exchange.

Goals (issue 17): ≥ 10 updates/s at ≤ 30% CPU; first token ≤ 100 ms over the server's time;
launch ≤ 1.0 s; resume ≤ 1.5 s; memory ≤ 300 MB. Prints one line per figure and, with
`--json PATH`, writes the raw numbers.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from skipjack.llm import AssistantMessage, Cost, TextContent, ToolCall, ToolResultMessage, Usage, UserMessage
from skipjack.sessions import SessionStore
from skipjack.testing import ScriptedTurn, SSEServer
from skipjack.testing.openai_script import openai_turn
from skipjack.testing.sse_server import At, BodyPart, Reply

HERE = Path(__file__).resolve().parent
PROBE = HERE / "tui_probe.py"
MODEL = "scripted/bench-model"


# -- workloads ---------------------------------------------------------------------------


def markdown_answer(chars: int, tag: str = "") -> str:
    """A realistic long answer: headings, paragraphs, lists, code fences, a table."""
    parts: list[str] = []
    i = 0
    while sum(map(len, parts)) < chars:
        i += 1
        parts.append(f"## Step {i}{tag}: what changes in `module_{i}.py`\n\n")
        parts.append(
            f"The function `handle_{i}` reads the configuration once and passes it down, so the "
            f"callers no longer parse it themselves. This keeps **one source of truth** and makes "
            f"the error path (a missing key, a wrong type) report *where* the value came from.\n\n"
        )
        parts.append(f"- keep the public signature of `handle_{i}`\n- move parsing to `load_{i}`\n")
        parts.append(f"- add a test for the missing-key case\n- run `pytest -q tests/test_{i}.py`\n\n")
        parts.append(f"```python\ndef handle_{i}(config: Config, item: Item) -> Result:\n")
        parts.append(f"    value = config.get('key_{i}')\n    if value is None:\n")
        parts.append(f"        raise ConfigError('key_{i} is missing')\n    return process(item, value)\n```\n\n")
        if i % 3 == 0:
            parts.append("| case | before | after |\n|---|---|---|\n| missing | crash | error |\n| ok | ok | ok |\n\n")
    text = "".join(parts)[:chars]
    return text.rstrip() + f"\n\nEND-OF-ANSWER{tag}\n"


def paced(turn: ScriptedTurn, tokens_per_s: float) -> Reply:
    """The turn's SSE events sent one token (one event) at a time at `tokens_per_s`, on a fixed
    schedule (a chain of pauses ran ~10% slow on a loaded machine)."""
    events = [e + b"\n\n" for e in openai_turn(turn).split(b"\n\n") if e]
    body: list[BodyPart] = []
    for i, e in enumerate(events):
        body.append(At(i / tokens_per_s))
        body.append(e)
    return Reply(body=body)


def _usage(inp: int, out: int) -> Usage:
    cost = Cost(inp * 3e-6, out * 15e-6, 0.0, 0.0, inp * 3e-6 + out * 15e-6)
    return Usage(inp, out, 0, 0, inp + out, cost)


def write_session(env: dict[str, str], cwd: Path, exchanges: int, *, tool_output: int = 1500) -> int:
    """A saved session of `exchanges` x (prompt, a bash call, its output, a markdown answer)."""
    store = SessionStore(env=env)
    session = store.create(cwd, MODEL)
    count = 0
    for i in range(exchanges):
        calls = [ToolCall(f"call-{i}", "bash", {"command": f"pytest -q tests/test_{i}.py"})]
        output = "".join(f"tests/test_{i}.py::test_case_{k} PASSED\n" for k in range(tool_output // 40))
        answer = markdown_answer(900, tag=f"-{i}")
        messages = [
            UserMessage(f"question number {i}: please fix module_{i}"),
            AssistantMessage(
                [TextContent("Running the tests."), *calls],
                "openai-chat",
                "scripted",
                "m",
                _usage(1000 + i, 20),
                "tool_use",
            ),
            ToolResultMessage(f"call-{i}", "bash", output + "[exit code 0 · 0.50 s]"),
            AssistantMessage([TextContent(answer)], "openai-chat", "scripted", "m", _usage(1100 + i, 300), "stop"),
        ]
        for m in messages:
            session.append_message(m)
            count += 1
    session.close()
    return count


# -- the terminal ------------------------------------------------------------------------


class Tmux:
    def __init__(self, socket: Path, name: str = "bench") -> None:
        self.socket, self.name = socket, name

    def run(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-S", str(self.socket), *args], capture_output=True, text=True, timeout=20)
        if done.returncode != 0:
            raise RuntimeError(f"tmux {args[0]}: {done.stderr.strip()}")
        return done.stdout

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", self.name)

    def pid(self) -> int:
        return int(self.run("display", "-p", "-t", self.name, "#{pane_pid}").strip())

    def wait(self, check: Callable[[str], bool], what: str, limit: float = 60.0, every: float = 0.01) -> float:
        deadline = time.monotonic() + limit
        while True:
            screen = self.screen()
            if check(screen):
                return time.monotonic()
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; screen:\n{screen}")
            time.sleep(every)


@contextmanager
def ui(
    server: SSEServer, root: Path, *, continue_session: bool, size: tuple[int, int] = (120, 40)
) -> Iterator[tuple[Tmux, Path, float]]:
    """The command running in a fresh tmux server; yields (terminal, probe file, spawn time)."""
    probe_out = root / f"probe-{time.monotonic_ns()}.json"
    env = env_for(root)
    env["SKIPJACK_PROBE_OUT"] = str(probe_out)
    env["PYTHONPATH"] = os.environ.get("PYTHONPATH", "")
    if os.environ.get("SKIPJACK_PROFILE_OUT"):  # profile the UI from its first prompt (tui_probe)
        env["SKIPJACK_PROFILE_OUT"] = os.environ["SKIPJACK_PROFILE_OUT"]
    command = [sys.executable, str(PROBE), "--base-url", server.url, "--model", MODEL, "--approval", "yolo"]
    if continue_session:
        command.append("--continue")
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    term = Tmux(root / f"tmux-{time.monotonic_ns()}.sock")
    started = time.monotonic()
    term.run(
        "new-session",
        "-d",
        "-s",
        term.name,
        "-x",
        str(size[0]),
        "-y",
        str(size[1]),
        "-c",
        str(root / "project"),
        f"exec env {exports} {shlex.join(command)}",
    )
    try:
        yield term, probe_out, started
    finally:
        try:
            term.run("send-keys", "-t", term.name, "C-c")
            time.sleep(0.1)
            term.run("send-keys", "-t", term.name, "C-c")
            deadline = time.monotonic() + 10
            while not probe_out.exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            subprocess.run(["tmux", "-S", str(term.socket), "kill-server"], capture_output=True, timeout=10)


def env_for(root: Path) -> dict[str, str]:
    return {
        "SKIPJACK_CONFIG_DIR": str(root / "config"),
        "SKIPJACK_DATA_DIR": str(root / "data"),
        "HOME": str(root / "home"),
        "TERM": "xterm-256color",
        "PATH": os.environ.get("PATH", ""),
    }


def fresh_root(base: Path, name: str) -> Path:
    root = base / name
    (root / "project" / ".git").mkdir(parents=True)
    (root / "home").mkdir()
    return root


def ready(screen: str) -> bool:
    return "ready" in screen and MODEL in screen


def send(term: Tmux, text: str) -> None:
    term.run("send-keys", "-t", term.name, "-l", text)
    term.run("send-keys", "-t", term.name, "Enter")


# -- the figures -------------------------------------------------------------------------


def bench_cadence(server: SSEServer, base: Path, quick: bool) -> dict[str, Any]:
    root = fresh_root(base, "cadence")
    write_session(env_for(root), root / "project", 40)
    chars = 5_000 if quick else 20_000
    answer = markdown_answer(chars, tag="-STREAMED")
    server.enqueue(paced(ScriptedTurn(text=answer, chunk_chars=4, completion_tokens=chars // 4), 100.0))
    with ui(server, root, continue_session=True) as (term, probe_out, _):
        term.wait(ready, "ready", every=0.1)
        send(term, "write the long answer")
        term.wait(
            lambda s: "END-OF-ANSWER-STREAMED" in s and "ready" in s,
            "the whole answer",
            limit=chars / 300 + 60,
            every=0.25,
        )
        rss = rss_mb(term.pid())
    probe = json.loads(probe_out.read_text())
    sent = probe["submits"][-1]
    flushes = [(t, n) for t, n in probe["flushes"] if n > 0 and t >= sent]
    total = max(n for _t, n in flushes)  # the answer as the UI received it
    if total < len(answer.strip()) - 10:
        raise AssertionError(f"only {total} of {len(answer)} characters were rendered")
    start = next(t for t, n in flushes)
    end = next(t for t, n in flushes if n >= total)
    # A screen update that grows the answer: the first frame after each render.
    frames = probe["frames"]
    visible: list[tuple[float, int]] = []
    """(time of the frame that showed it, characters shown) per visible update."""
    cpu_at: list[tuple[float, float]] = [(t, c) for t, c in frames if start - 1 <= t <= end + 1]
    for t, n in flushes:
        nxt = next((f for f, _c in frames if f >= t), None)
        if nxt is not None and (not visible or nxt > visible[-1][0]):
            visible.append((nxt, n))
    pairs = list(itertools.pairwise(visible))
    gaps = [b[0] - a[0] for a, b in pairs]
    late = [b[0] - a[0] for a, b in pairs if b[1] >= 0.75 * total]
    cpu = (cpu_at[-1][1] - cpu_at[0][1]) / (cpu_at[-1][0] - cpu_at[0][0]) if len(cpu_at) > 1 else float("nan")
    duration = end - start
    return {
        "answer_chars": total,
        "stream_s": round(duration, 2),
        "tokens_per_s": round(total / 4 / duration, 1),
        "updates_per_s": round(len(visible) / duration, 1),
        "gap_p50_ms": round(1000 * statistics.median(gaps), 1),
        "gap_max_ms": round(1000 * max(gaps), 1),
        "gap_max_last_quarter_ms": round(1000 * max(late), 1) if late else None,
        "updates_per_s_last_quarter": round(len(late) / sum(late), 1) if late else None,
        "cpu_pct": round(100 * cpu, 1),
        "rss_mb": rss,
    }


def bench_first_token(server: SSEServer, base: Path, quick: bool) -> dict[str, Any]:
    root = fresh_root(base, "first-token")
    n = 3 if quick else 5
    for i in range(n + 1):
        server.enqueue(Reply.sse(openai_turn(ScriptedTurn(text=f"Answer{i} arrives now."))))
    latencies = []
    with ui(server, root, continue_session=False) as (term, probe_out, _):
        term.wait(ready, "ready", every=0.05)
        for i in range(n + 1):  # the first is a warm-up (imports on first use)
            send(term, f"prompt {i}")
            term.wait(lambda s, i=i: f"Answer{i} arrives now." in s and "ready" in s, "the answer", every=0.05)
    probe = json.loads(probe_out.read_text())
    frames = [t for t, _c in probe["frames"]]
    flush_times = [t for t, n in probe["flushes"] if n > 0]
    for sent in probe["submits"][1:]:
        first_render = next(t for t in flush_times if t >= sent)
        shown = next(t for t in frames if t >= first_render)
        latencies.append(1000 * (shown - sent))
    return {
        "enter_to_first_token_ms": [round(x, 1) for x in latencies],
        "median_ms": round(statistics.median(latencies), 1),
    }


def bench_launch(server: SSEServer, base: Path, quick: bool) -> dict[str, Any]:
    times = []
    for i in range(2 if quick else 5):
        root = fresh_root(base, f"launch-{i}")
        with ui(server, root, continue_session=False) as (term, _probe, started):
            times.append(term.wait(ready, "ready") - started)
    return {"launch_to_ready_s": [round(t, 3) for t in times], "median_s": round(statistics.median(times), 3)}


def bench_resume(server: SSEServer, base: Path, quick: bool) -> dict[str, Any]:
    root = fresh_root(base, "resume")
    count = write_session(env_for(root), root / "project", 250)  # 1,000 messages
    times = []
    for _ in range(2 if quick else 3):
        with ui(server, root, continue_session=True) as (term, _probe, started):
            times.append(term.wait(lambda s: ready(s) and "END-OF-ANSWER-249" in s, "the resumed session") - started)
            rss = rss_mb(term.pid())
    return {
        "messages": count,
        "continue_to_ready_s": [round(t, 3) for t in times],
        "median_s": round(statistics.median(times), 3),
        "rss_mb": rss,
    }


def bench_memory(server: SSEServer, base: Path, quick: bool) -> dict[str, Any]:
    root = fresh_root(base, "memory")
    exchanges = 100 if quick else 500
    count = write_session(env_for(root), root / "project", exchanges, tool_output=4000)
    server.enqueue(
        Reply.sse(openai_turn(ScriptedTurn(tool_calls=[], text="one more, live: " + markdown_answer(3000, "-live"))))
    )
    with ui(server, root, continue_session=True) as (term, _probe, started):
        ready_at = term.wait(lambda s: ready(s) and f"END-OF-ANSWER-{exchanges - 1}" in s, "the session", limit=120)
        resumed = rss_mb(term.pid())
        send(term, "one more")
        term.wait(lambda s: "END-OF-ANSWER-live" in s and "ready" in s, "the live answer")
        time.sleep(0.5)
        after = rss_mb(term.pid())
    return {
        "exchanges": exchanges,
        "messages": count,
        "ready_s": round(ready_at - started, 2),
        "rss_after_resume_mb": resumed,
        "rss_after_live_exchange_mb": after,
    }


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


BENCHES = {
    "launch": bench_launch,
    "first_token": bench_first_token,
    "resume": bench_resume,
    "memory": bench_memory,
    "cadence": bench_cadence,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller workloads: a smoke test of the harness")
    parser.add_argument("--only", nargs="*", choices=list(BENCHES), help="run only these figures")
    parser.add_argument("--json", type=Path, help="write the raw figures here")
    args = parser.parse_args()
    results: dict[str, Any] = {"load_start": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="skipjack-tui-bench-") as tmp, SSEServer() as server:
        for name in args.only or list(BENCHES):
            results[name] = BENCHES[name](server, Path(tmp), args.quick)
            print(f"{name}: {json.dumps(results[name])}", flush=True)
    results["load_end"] = os.getloadavg()[0]
    print(f"load average: {results['load_start']:.2f} at the start, {results['load_end']:.2f} at the end")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
