"""Soak: 30 random kill -9 / SIGTERM / SIGHUP at random moments of a scripted multi-tool
`skipjack run`, each followed by `skipjack run --continue`, which must succeed against a
server that rejects an invalid history with HTTP 400 as OpenAI does. Every run continues the
same session, so by the end it holds every interruption and each request re-sends them all.

Bounded: each run has a timeout and the whole test a time budget (~3 minutes on 2 busy
cores). `SKIPJACK_SOAK_SEED` replays a failing sequence; the seed is printed. `SKIPJACK_SOAK_FRESH=1`
starts each round in a new session (each kill then counts on its own, for measuring).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.helpers import SKIPJACK, isolated_env, run_cli
from tests.cli.procs import MARKER_VAR, kill_marked, marked_pids, new_marker, wait_marked_gone

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer, check_openai_chat_request
from skipjack.testing.scripted import turn_reply

ROUNDS = 30
BUDGET_S = 240.0
SIGNALS = (signal.SIGKILL, signal.SIGTERM, signal.SIGHUP)
DONE = "all done"


@pytest.fixture
def server() -> Iterator[SSEServer]:
    with SSEServer(validate=check_openai_chat_request, default=turn_reply(ScriptedTurn(text=DONE))) as s:
        yield s


def script_task(server: SSEServer, n: int) -> None:
    """Three tool turns mixing commands (with a background child), writes and reads."""
    server.clear()
    notes = f"notes{n}.txt"
    server.enqueue(
        turn_reply(
            ScriptedTurn(
                text=f"Step one of task {n}.",
                tool_calls=[
                    ScriptedToolCall("bash", {"command": "sleep 0.2 & sleep 0.2; wait; echo one"}, id=f"t{n}a"),
                    ScriptedToolCall("write", {"path": notes, "content": f"task {n}\n"}, id=f"t{n}b"),
                    ScriptedToolCall("read", {"path": "hello.py"}, id=f"t{n}c"),
                ],
            )
        ),
        turn_reply(
            ScriptedTurn(
                tool_calls=[
                    ScriptedToolCall("read", {"path": notes}, id=f"t{n}d"),
                    ScriptedToolCall("bash", {"command": f"sleep 0.3; cat {notes}"}, id=f"t{n}e"),
                ]
            )
        ),
        turn_reply(
            ScriptedTurn(
                text="Last step.",
                tool_calls=[
                    ScriptedToolCall("write", {"path": notes, "content": f"task {n} done\n"}, id=f"t{n}f"),
                    ScriptedToolCall("bash", {"command": "sleep 0.2"}, id=f"t{n}g"),
                ],
            )
        ),
    )


def test_soak_random_kills_always_resume(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    seed = int(os.environ.get("SKIPJACK_SOAK_SEED", str(random.randrange(1 << 30))))
    print(f"soak seed {seed}")
    rng = random.Random(seed)
    env = isolated_env(tmp_path)
    started = time.monotonic()
    landed: Counter[str] = Counter()
    fresh = os.environ.get("SKIPJACK_SOAK_FRESH") == "1"
    failures: list[str] = []
    bad_exits: list[str] = []
    leftovers: list[str] = []
    for n in range(ROUNDS):
        assert time.monotonic() - started < BUDGET_S, f"over budget after {n} rounds"
        sig = rng.choice(SIGNALS)
        delay = rng.uniform(0.0, 0.9)  # after the run's first event: its tools take ~1 s
        marker = new_marker()
        script_task(server, n)
        events = tmp_path / f"events{n}.jsonl"
        cont = ["--continue"] if n and not fresh else []
        with events.open("w") as out:
            proc = subprocess.Popen(
                [str(SKIPJACK), "run", "--json", "--approval", "yolo", *cont, f"task {n}"],
                cwd=repo,
                env={**os.environ, **env, MARKER_VAR: marker},
                stdout=out,
                stderr=subprocess.PIPE,
                text=True,
            )
            try:
                _wait_started(events, proc)
                time.sleep(delay)
                at_signal = _where(events)
                proc.send_signal(sig)
                _, err = proc.communicate(timeout=20)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.communicate()
        landed[at_signal] += 1
        if sig == signal.SIGKILL:
            # Nothing in a process killed with SIGKILL runs: its commands' groups are
            # orphaned and end on their own (the sandbox's PID namespace is what kills them).
            left = wait_marked_gone(marker, 3.0)
        else:
            left = marked_pids(marker)  # the abort waits for the groups: none may remain now
            want = {signal.SIGTERM: 143, signal.SIGHUP: 129}[sig]
            # Exit 0: the run had just finished when the signal came.
            if proc.returncode not in (want, 0):
                bad_exits.append(f"round {n}: {sig.name} exit {proc.returncode}: {err.strip()[-300:]}")
        if left:
            leftovers.append(f"round {n}: {sig.name} left {left}")
            kill_marked(marker)

        server.clear()  # the default reply finishes the continued run
        rejected = len(server.rejected)
        resumed = run_cli("run", "--json", "--continue", f"continue {n}", cwd=repo, env=env, timeout=60)
        if resumed.returncode != 0 or len(server.rejected) != rejected:
            why = server.rejected[-1][1] if len(server.rejected) != rejected else resumed.stderr.strip()[-300:]
            failures.append(f"round {n}: --continue after {sig.name} at {delay:.2f}s failed: {why}")
        elif json.loads(resumed.stdout.splitlines()[-1])["text"] != DONE:
            failures.append(f"round {n}: --continue did not finish: {resumed.stdout[-300:]}")
    elapsed = time.monotonic() - started
    print(f"soak: {ROUNDS} rounds in {elapsed:.0f} s; kills landed {dict(landed)}")
    print(
        f"resumable after kill: {ROUNDS - len(failures)}/{ROUNDS}; processes left behind in "
        f"{len(leftovers)} rounds; wrong exit status in {len(bad_exits)}"
    )
    assert failures == [], "\n".join(failures)
    assert bad_exits == [], "\n".join(bad_exits)
    assert leftovers == [], "\n".join(leftovers)
    assert elapsed < BUDGET_S


def _wait_started(events: Path, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while events.stat().st_size == 0 and proc.poll() is None:
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.01)


def _where(events: Path) -> str:
    """Where the run is, from the events it has printed so far."""
    kinds = []
    for line in events.read_text().splitlines():
        try:
            kinds.append(json.loads(line).get("type"))
        except json.JSONDecodeError:
            break
    if not kinds:
        return "before the run"
    if kinds[-1] == "result":
        return "after the run"
    starts, ends = kinds.count("tool_execution_start"), kinds.count("tool_execution_end")
    return "during tools" if starts > ends or (starts and kinds[-1] == "tool_execution_end") else "model call"
