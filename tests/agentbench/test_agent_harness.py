"""The agent benchmark's instrument (bench/agent/): its skipjack path end to end, and that the
server and the accounting catch the runs and processes that would otherwise make a false figure.

Peers are not installed here (they are in `make bench-agent`); skipjack runs from this venv.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "agent"
SKIPJACK = Path(sys.executable).parent / "skipjack"
sys.path.insert(0, str(ROOT))

from bench.agent import script  # noqa: E402


def test_skipjack_runs_the_scripted_task_and_every_figure_is_filled(tmp_path: Path) -> None:
    env = {**os.environ, "BENCH_SKIPJACK": str(SKIPJACK)}
    out = subprocess.run(
        [
            sys.executable,
            str(BENCH / "run.py"),
            "--agents",
            "skipjack",
            "--runs",
            "1",
            "--turns",
            "4",
            "--variants",
            "burst",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads((tmp_path / "latest.json").read_text())
    [run] = doc["runs"]
    assert run["ok"], run["problems"]
    assert run["requests"] == 5
    assert len(run["overhead_ms"]) == 4
    assert all(g > 0 for g in run["gaps_ms"])
    assert 0 < run["first_request_ms"] < 30_000
    assert run["cpu_s"] > 0.05  # a Python agent cannot start for less
    assert run["peak_pss_tree_mb"] > 5
    # Context grows by the tool turns; skipjack keeps every request's history a byte prefix.
    assert run["request_bytes"] == sorted(run["request_bytes"])
    assert run["prefix_kept"] == [True] * 4
    # skipjack's own cost is prices x the usage the server sent.
    assert run["agent_cost"] == pytest.approx(run["expected_cost"], rel=1e-6)
    md = (tmp_path / "latest.md").read_text()
    assert "1/1 runs complete" in md
    assert "load (1/5/15 min)" in md


# -- the server ---------------------------------------------------------------------------


@pytest.fixture
def server() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / "server.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    assert proc.stdin is not None
    port = int(proc.stdout.readline())
    yield f"http://127.0.0.1:{port}"
    proc.stdin.close()
    proc.wait(timeout=10)


def post(url: str, body: bytes) -> bytes:
    req = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            data: bytes = r.read()
            return data
    except urllib.error.HTTPError as e:
        return bytes(e.read())


def log(root: str, token: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{root}/log/{token}", timeout=10) as r:
        result: list[dict[str, Any]] = json.load(r)
        return result


def tool_result(k: int, content: str) -> list[dict[str, Any]]:
    call = {"id": f"call_{k:02d}", "type": "function", "function": {"name": "read", "arguments": "{}"}}
    return [
        {"role": "assistant", "content": "x", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": f"call_{k:02d}", "content": content},
    ]


def send(root: str, token: str, messages: list[dict[str, Any]], *, spaced: bool = False, stream: bool = True) -> bytes:
    doc = {"model": "gpt-4.1", "stream": stream, "messages": messages}
    text = json.dumps(doc, indent=1) if spaced else json.dumps(doc, separators=(",", ":"))
    return post(f"{root}/tools-skipjack/burst/3/{token}/v1/chat/completions", text.encode())


START: list[dict[str, Any]] = [{"role": "system", "content": "s"}, {"role": "user", "content": "go"}]
TURN1 = [*START, *tool_result(0, "bench file 0: token-00-ok")]


def test_the_server_accepts_the_expected_tool_results(server: str) -> None:
    reply = send(server, "ok", START)
    assert b'"name":"read"' in reply
    assert b'"usage"' in reply
    assert reply.rstrip().endswith(b"data: [DONE]")
    send(server, "ok", TURN1)
    send(server, "ok", [*TURN1, *tool_result(1, "ran-01\n")])
    entries = log(server, "ok")
    assert [e["turn"] for e in entries] == [0, 1, 2]
    assert [e["result_ok"] for e in entries] == [True, True, True]
    assert [e["messages_prefix_kept"] for e in entries] == [None, True, True]
    assert entries[2]["common_prefix"] > entries[1]["common_prefix"] > 0
    assert all(e["end"] >= e["arrival"] for e in entries)


@pytest.mark.parametrize(
    "messages",
    [
        [*START, *tool_result(0, "ran-01")],  # another turn's result
        [*START, *tool_result(0, "")],  # nothing
        [*START, *tool_result(0, "token-00-OK")],  # almost
        [*START, {"role": "tool", "tool_call_id": "call_07", "content": "token-00-ok"}],  # wrong call
        [*START, {"role": "user", "content": "token-00-ok"}],  # not a tool result at all
    ],
)
def test_the_server_refuses_a_wrong_tool_result(server: str, messages: list[dict[str, Any]]) -> None:
    send(server, "bad", messages)
    [entry] = log(server, "bad")
    assert entry["result_ok"] is (messages[-1].get("role") == "user")  # a user message is turn 0 again
    if messages[-1].get("role") == "user":
        assert entry["turn"] == 0


@pytest.mark.parametrize(
    ("second", "spaced"),
    [
        (TURN1, True),  # the same messages, serialised with other whitespace
        ([{"role": "system", "content": "S"}, *TURN1[1:]], False),  # the system prompt rewritten
        (TURN1[:1] + TURN1[2:], False),  # an earlier message dropped (compaction-like)
        ([*START[:1], {"role": "user", "content": "go "}, *TURN1[2:]], False),  # one byte changed
    ],
)
def test_a_changed_history_is_not_a_kept_prefix(server: str, second: list[dict[str, Any]], spaced: bool) -> None:
    send(server, "p", START)
    send(server, "p", second, spaced=spaced)
    assert [e["messages_prefix_kept"] for e in log(server, "p")] == [None, False]


def test_messages_found_whatever_the_key_order_and_spacing(server: str) -> None:
    body = b'{"stream": true,\n "messages" :\t[{"role":"user","content":"say \\"messages\\": [1]"}], "model":"m"}'
    post(f"{server}/tools-skipjack/burst/3/o/v1/chat/completions", body)
    body2 = body.replace(b"}], ", b'},{"role":"assistant","content":"x"}], ')
    post(f"{server}/tools-skipjack/burst/3/o/v1/chat/completions", body2)
    assert [e["messages_prefix_kept"] for e in log(server, "o")] == [None, True]


def test_a_non_streamed_request_gets_the_same_turn_as_one_body(server: str) -> None:
    reply = json.loads(send(server, "ns", START, stream=False))
    [choice] = reply["choices"]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["id"] == "call_00"
    assert json.loads(call["function"]["arguments"]) == {"path": script.read_file_name(0)}
    assert reply["usage"]["completion_tokens"] == script.TEXT_DELTAS + 10
    # The server stamps the reply's end after the last byte left it, so after this client may
    # have read it: wait for the stamp.
    deadline = time.monotonic() + 10
    while (entry := log(server, "ns")[0])["end"] is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert entry["stream"] is False
    assert entry["end"] >= entry["arrival"]


def test_the_last_turn_answers_without_a_tool_call(server: str) -> None:
    history: list[dict[str, Any]] = [{"role": "user", "content": "go"}, *tool_result(0, "token-00-ok")]
    reply = post(
        f"{server}/tools-skipjack/burst/1/t2/v1/chat/completions",
        json.dumps({"stream": True, "messages": history}).encode(),
    )
    chunks = sse_chunks(reply)
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text.endswith(script.FINAL_MARK)
    assert not any("tool_calls" in c["choices"][0]["delta"] for c in chunks if c["choices"])
    assert [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]][-1] == "stop"
    assert chunks[-1]["usage"]["completion_tokens"] == script.TEXT_DELTAS


def sse_chunks(reply: bytes) -> list[dict[str, Any]]:
    lines = [line[6:] for line in reply.split(b"\n") if line.startswith(b"data: ")]
    assert lines[-1] == b"[DONE]"
    return [json.loads(line) for line in lines[:-1]]


def test_paced_replies_take_200_deltas_at_50_per_second(server: str) -> None:
    import time

    t = time.monotonic()
    reply = post(
        f"{server}/tools-skipjack/paced/1/t3/v1/chat/completions",
        json.dumps({"stream": True, "messages": [{"role": "user", "content": "go"}]}).encode(),
    )
    took = time.monotonic() - t
    deltas = [c for c in sse_chunks(reply) if c["choices"] and c["choices"][0]["delta"].get("content")]
    assert len(deltas) == script.TEXT_DELTAS
    assert 3.9 < took < 6


# -- the process-tree accounting ------------------------------------------------------------

MEASURE = """
import json, sys
from pathlib import Path
sys.path.insert(0, {root!r})
from bench.agent import measure
measure.become_subreaper()
tmp = Path({tmp!r})
env = {{"PATH": "/usr/bin:/bin"}}
fin = measure.run(["bash", "-c", {cmd!r}], cwd=tmp, env=env, stdout=tmp / "o", stderr=tmp / "e", timeout={timeout})
out = {{"cpu": fin.cpu, "wall": fin.wall, "code": fin.exit_code, "timed_out": fin.timed_out, "pss": fin.peak_pss_tree}}
print(json.dumps(out))
"""
BUSY = f"{sys.executable} -c 'import time; t=time.process_time()\nwhile time.process_time()-t<0.4: pass'"


def measured(tmp: Path, cmd: str, timeout: float = 20) -> dict[str, Any]:
    code = MEASURE.format(root=str(ROOT), tmp=str(tmp), cmd=cmd, timeout=timeout)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def test_cpu_counts_grandchildren_waited_for_and_orphans_left_behind(tmp_path: Path) -> None:
    waited = measured(tmp_path, f"{BUSY} & wait")
    assert waited["code"] == 0
    assert waited["cpu"] >= 0.38
    # An orphan (the subshell exits at once) that finishes before the agent does: reparented to
    # the harness, not to init, and its CPU still counted.
    orphan = measured(tmp_path, f"({BUSY} &); sleep 1.5")
    assert orphan["cpu"] >= 0.38
    # An orphan still running when the agent exits is killed, not left running.
    left = measured(tmp_path, "(sleep 31.25 &); exit 3")
    assert left["code"] == 3
    assert left["wall"] < 5
    assert subprocess.run(["pgrep", "-f", "sleep 31.25"], capture_output=True, check=False).returncode == 1


def test_a_hung_agent_is_killed_at_its_timeout(tmp_path: Path) -> None:
    hung = measured(tmp_path, "sleep 60", timeout=1)
    assert hung["timed_out"]
    assert hung["wall"] < 5


SPAWN = """
import json, os, subprocess, sys, time
sys.path.insert(0, {root!r})
from bench.agent import measure
ballast = bytearray(64 * 2**20)
ballast[::4096] = b"x" * len(ballast[::4096])
alone = measure._tree_pss(os.getpid())
pid = os.fork()
if pid == 0:
    time.sleep(2)
    os._exit(0)
time.sleep(0.2)
forked = (measure._spawn_window(pid), measure._tree_pss(os.getpid()))
os.kill(pid, 9)
os.waitpid(pid, 0)
proc = subprocess.Popen(["sleep", "2"])
time.sleep(0.2)
execd = measure._spawn_window(proc.pid)
proc.kill()
proc.wait()
print(json.dumps({{"alone": alone, "forked": forked, "execd": execd}}))
"""


def test_memory_of_a_child_not_yet_execd_is_not_counted_twice() -> None:
    out = subprocess.run(
        [sys.executable, "-c", SPAWN.format(root=str(ROOT))], capture_output=True, text=True, timeout=60, check=True
    )
    got = json.loads(out.stdout)
    assert got["alone"] > 64 * 2**20
    in_window, tree = got["forked"]
    assert in_window is True
    assert tree < got["alone"] * 1.2  # the ballast once, not twice
    assert got["execd"] is False
