"""Subagents end to end: `skipjack run` against scripted models, the `task` tool's children
running in parallel, within the parent's approval mode, budget and abort."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.cli.helpers import SKIPJACK, isolated_env, run_cli

from skipjack.testing import RecordedRequest, ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

CHILD = b"You are a subagent of skipjack"


def child_of(marker: str) -> Any:
    """Requests of the child whose task prompt holds `marker` (the parent's later requests
    quote the prompt too, inside its tool call, but never carry the child's system prompt)."""
    return lambda r: CHILD in r.body and marker.encode() in r.body


def is_child(r: RecordedRequest) -> bool:
    return CHILD in r.body


def cost_of(*turns: tuple[int, int]) -> float:
    return sum(p * 3.0 / 1e6 + c * 15.0 / 1e6 for p, c in turns)


def task(call_id: str, prompt: str, agent: str | None = None) -> ScriptedToolCall:
    args: dict[str, Any] = {"description": f"task {call_id}", "prompt": prompt}
    if agent:
        args["subagent_type"] = agent
    return ScriptedToolCall("task", args, id=call_id)


def events(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def write_agent(repo: Path, name: str, front: str, body: str = "Do the task.") -> None:
    folder = repo / ".skipjack" / "agents"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.md").write_text(f"---\nname: {name}\n{front}\n---\n{body}\n")


def test_two_tasks_run_in_parallel_and_the_parent_gets_both_answers(
    tmp_path: Path, repo: Path, server: SSEServer
) -> None:
    server.enqueue(
        turn_reply(
            ScriptedTurn(
                tool_calls=[task("t1", "ALPHA: read hello.py"), task("t2", "BETA: grep world")],
                prompt_tokens=100,
                completion_tokens=20,
            )
        ),
        turn_reply(ScriptedTurn(text="Both children answered.", prompt_tokens=300, completion_tokens=10)),
    )
    # Each child's first reply is held back half a second: run in parallel, both first
    # requests arrive before either child's second one.
    server.enqueue_for(
        child_of("ALPHA"),
        turn_reply(
            ScriptedTurn(
                tool_calls=[ScriptedToolCall("read", {"path": "hello.py"}, id="r1")],
                prompt_tokens=50,
                completion_tokens=7,
            ),
            pause=0.5,
            chunk_size=64,
        ),
        turn_reply(ScriptedTurn(text="alpha: it prints hello world", prompt_tokens=80, completion_tokens=9)),
    )
    server.enqueue_for(
        child_of("BETA"),
        turn_reply(
            ScriptedTurn(
                tool_calls=[ScriptedToolCall("grep", {"pattern": "world"}, id="g1")],
                prompt_tokens=60,
                completion_tokens=8,
            ),
            pause=0.5,
            chunk_size=64,
        ),
        turn_reply(ScriptedTurn(text="beta: world is in hello.py", prompt_tokens=90, completion_tokens=11)),
    )
    out = run_cli("run", "--json", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    requests = server.requests
    assert len(requests) == 6
    order = [("A" if b"ALPHA" in r.body else "B") if is_child(r) else "P" for r in requests]
    assert order[0] == "P"
    assert order[-1] == "P"
    firsts = [i for i, r in enumerate(requests) if is_child(r) and b'"tool_call_id"' not in r.body]
    seconds = [i for i, r in enumerate(requests) if is_child(r) and b'"tool_call_id"' in r.body]
    assert len(firsts) == 2
    assert len(seconds) == 2
    assert max(firsts) < min(seconds), f"the children ran one after the other: {order}"

    # The children did their own tool calls, in their own contexts.
    alpha_second = next(r.json() for r in requests if child_of("ALPHA")(r) and b'"tool_call_id"' in r.body)
    assert "hello world" in alpha_second["messages"][-1]["content"]
    assert all("Both children" not in json.dumps(m) for m in alpha_second["messages"])
    # The parent's next request carries both answers, each with its own call id.
    results = {m["tool_call_id"]: m["content"] for m in requests[-1].json()["messages"] if m["role"] == "tool"}
    assert "alpha: it prints hello world" in results["t1"]
    assert "beta: world is in hello.py" in results["t2"]
    # The child's reads are not in the parent's context.
    assert 'print("hello world")' not in json.dumps(requests[-1].json()["messages"])

    lines = events(out.stdout)
    child_events = [e for e in lines if e["type"] == "subagent_event"]
    assert {e["task_call_id"] for e in child_events} == {"t1", "t2"}
    assert {e["depth"] for e in child_events} == {1}
    tool_starts = {(e["task_call_id"], e["event"]["tool_name"]) for e in child_events
                   if e["event"]["type"] == "tool_execution_start"}  # fmt: skip
    assert tool_starts == {("t1", "read"), ("t2", "grep")}
    # No child event is passed off as the parent's.
    parent_tools = [e["tool_name"] for e in lines if e["type"] == "tool_execution_start"]
    assert parent_tools == ["task", "task"]

    # The run's cost is the whole tree's: every message of parent and children.
    result = lines[-1]
    expected = cost_of((100, 20), (300, 10), (50, 7), (80, 9), (60, 8), (90, 11))
    assert abs(result["cost"] - expected) < 1e-9
    assert result["usage"]["input"] == 100 + 300 + 50 + 80 + 60 + 90

    # The child's transcript is a sub-session `sessions show` finds; the parent's session
    # counts the children's cost, and `--continue` never picks a child.
    child_session = next(e["session_id"] for e in child_events if e["task_call_id"] == "t1")
    assert child_session
    assert child_session != result["session_id"]
    shown = run_cli("sessions", "show", child_session, cwd=repo, env=isolated_env(tmp_path))
    assert shown.returncode == 0, shown.stderr
    assert "alpha: it prints hello world" in shown.stdout
    parent = run_cli("sessions", "show", result["session_id"], cwd=repo, env=isolated_env(tmp_path))
    assert f"${expected:.4f}" in parent.stdout
    listed = run_cli("sessions", "list", cwd=repo, env=isolated_env(tmp_path))
    assert child_session not in listed.stdout
    assert result["session_id"] in listed.stdout


def test_text_mode_shows_the_childs_activity_on_stderr_only(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[task("t1", "TEXT: read it")])),
        turn_reply(ScriptedTurn(text="parent answer")),
    )
    server.enqueue_for(
        child_of("TEXT"),
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("read", {"path": "hello.py"}, id="r1")])),
        turn_reply(ScriptedTurn(text="child answer")),
    )
    out = run_cli("run", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert out.stdout == "parent answer\n"
    assert "  [general t1] → read hello.py" in out.stderr
    assert "  [general t1] completed · 2 turns" in out.stderr


def test_a_child_cannot_write_what_the_parents_mode_forbids(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    # The definition asks for yolo and the write tool; the parent runs in plan mode.
    write_agent(repo, "writer", "description: writes files\ntools: [Read, Write]\napproval: yolo")
    write = ScriptedToolCall("write", {"path": "pwned.txt", "content": "x"}, id="w1")
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[task("t1", "WRITER: create pwned.txt", "writer")])),
        turn_reply(ScriptedTurn(text="The child could not write.")),
    )
    server.enqueue_for(
        child_of("WRITER"),
        turn_reply(ScriptedTurn(tool_calls=[write])),
        turn_reply(ScriptedTurn(text="denied, so nothing was written")),
    )
    out = run_cli("run", "--approval", "plan", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert not (repo / "pwned.txt").exists()
    child_second = [r.json() for r in server.requests if is_child(r)][1]
    assert "denied" in child_second["messages"][-1]["content"]
    # The same definition under auto-edit may write: the ceiling, not a blanket refusal.
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[task("t2", "WRITER2: create ok.txt", "writer")])),
        turn_reply(ScriptedTurn(text="ok")),
    )
    server.enqueue_for(
        child_of("WRITER2"),
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("write", {"path": "ok.txt", "content": "y"}, id="w2")])),
        turn_reply(ScriptedTurn(text="written")),
    )
    out = run_cli("run", "--approval", "auto-edit", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (repo / "ok.txt").read_text() == "y"


def test_a_default_child_is_read_only(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[task("t1", "PLAIN: change hello.py")])),
        turn_reply(ScriptedTurn(text="done")),
    )
    attempts = [
        ScriptedToolCall("write", {"path": "hello.py", "content": "x"}, id="w1"),
        ScriptedToolCall("bash", {"command": "echo x > hello.py"}, id="b1"),
        ScriptedToolCall("edit", {"path": "hello.py", "old_text": "world", "new_text": "x"}, id="e1"),
    ]
    server.enqueue_for(
        child_of("PLAIN"),
        turn_reply(ScriptedTurn(tool_calls=attempts)),
        turn_reply(ScriptedTurn(text="I could only read")),
    )
    out = run_cli("run", "--approval", "yolo", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (repo / "hello.py").read_text() == 'print("hello world")\n'
    first_child = next(r.json() for r in server.requests if is_child(r))
    assert sorted(t["function"]["name"] for t in first_child["tools"]) == ["find", "grep", "read", "web_fetch"]


def test_abort_during_children_kills_their_commands(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    write_agent(repo, "runner", "description: runs commands\ntools: Bash")
    marker = f"{os.getpid()}{time.monotonic_ns() % 100000}"
    sleeps = [ScriptedToolCall("bash", {"command": f"sleep 300.{marker}{i}"}, id=f"b{i}") for i in range(2)]
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=[task("t1", "RUN1", "runner"), task("t2", "RUN2", "runner")])))
    for i, name in enumerate(("RUN1", "RUN2")):
        server.enqueue_for(child_of(name), turn_reply(ScriptedTurn(tool_calls=[sleeps[i]])))
    proc = subprocess.Popen(
        [str(SKIPJACK), "run", "--json", "--approval", "yolo", "go"],
        cwd=repo,
        env={**{k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}, **isolated_env(tmp_path)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while len(_sleepers(marker)) < 2:
            assert time.monotonic() < deadline, "the children's commands never started"
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr
    assert _sleepers(marker) == [], "a child's command outlived the abort"
    result = json.loads(stdout.splitlines()[-1])
    assert result["stop_reason"] == "aborted"


def _sleepers(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmdline and cmdline.startswith(b"sleep"):
            found.append(int(entry.name))
    return found


def test_max_cost_covers_the_children(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    # One child turn costs $0.03 (10,000 tokens in at $3/M): over the whole run's $0.02 budget.
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=[task("t1", "COSTLY: look around")])))
    loop = ScriptedToolCall("read", {"path": "hello.py"}, id="r1")
    server.enqueue_for(
        child_of("COSTLY"),
        turn_reply(ScriptedTurn(tool_calls=[loop], prompt_tokens=10_000)),
        turn_reply(ScriptedTurn(tool_calls=[loop], prompt_tokens=10_000)),
    )
    out = run_cli("run", "--json", "--max-cost", "0.02", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 3, out.stderr
    result = events(out.stdout)[-1]
    assert result["stop_reason"] == "max_cost"
    # The child stopped at its share of the budget (one turn), the parent did not call again.
    assert sum(1 for r in server.requests if is_child(r)) == 1
    assert len(server.requests) == 2
    assert abs(result["cost"] - cost_of((10, 5), (10_000, 5))) < 1e-9


def test_depth_limit_is_a_clear_error(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    (tmp_path / "config" / "config.toml").write_text(
        f"trusted_projects = [{str(repo)!r}]\n[subagents]\nmax_depth = 1\n"
    )
    write_agent(repo, "delegator", "description: delegates\ntools: [read, task]")
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[task("t1", "DELEGATE: pass it on", "delegator")])),
        turn_reply(ScriptedTurn(text="done")),
    )
    server.enqueue_for(
        child_of("DELEGATE"),
        turn_reply(ScriptedTurn(tool_calls=[task("t9", "GRANDCHILD: never runs")])),
        turn_reply(ScriptedTurn(text="I had to do it myself")),
    )
    out = run_cli("run", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert not any(b"GRANDCHILD: never runs" in r.body and b'"content":"Do the task' in r.body for r in server.requests)
    child_second = [r.json() for r in server.requests if is_child(r)][1]
    answer = child_second["messages"][-1]["content"]
    assert "depth limit" in answer
    assert "max_depth is 1" in answer


def test_a_grandchild_runs_at_depth_two_and_its_cost_reaches_the_top(
    tmp_path: Path, repo: Path, server: SSEServer
) -> None:
    write_agent(repo, "delegator", "description: delegates\ntools: [read, task]")
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[task("t1", "LEVEL1: pass it on", "delegator")], prompt_tokens=11)),
        turn_reply(ScriptedTurn(text="top done", prompt_tokens=12)),
    )
    server.enqueue_for(
        child_of("LEVEL2"),
        turn_reply(ScriptedTurn(text="grandchild answer", prompt_tokens=1000)),
    )
    server.enqueue_for(
        child_of("LEVEL1"),
        turn_reply(ScriptedTurn(tool_calls=[task("t2", "LEVEL2: the real work")], prompt_tokens=13)),
        turn_reply(ScriptedTurn(text="child relays: grandchild answer", prompt_tokens=14)),
    )
    out = run_cli("run", "--json", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    lines = events(out.stdout)
    depths = {(e["task_call_id"], e["depth"]) for e in lines if e["type"] == "subagent_event"}
    assert depths == {("t1", 1), ("t2", 2)}
    assert abs(lines[-1]["cost"] - cost_of((11, 5), (12, 5), (13, 5), (14, 5), (1000, 5))) < 1e-9


def test_a_child_on_another_provider_gets_only_its_own_key(tmp_path: Path, server: SSEServer) -> None:
    with SSEServer() as other:
        root = tmp_path / "repo"
        (root / ".skipjack" / "agents").mkdir(parents=True)
        subprocess.run(["git", "init", "-q", str(root)], check=True)
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "config.toml").write_text(
            f"""model = "main/m1"
trusted_projects = [{str(root)!r}]
[providers.main]
base_url = "{server.url}"
api = "openai-chat"
api_key_env = "MAIN_API_KEY"
[providers.main.models.m1]
price = {{ input = 3.0, output = 15.0 }}
[providers.cheap]
base_url = "{other.url}"
api = "openai-chat"
api_key_env = "CHEAP_API_KEY"
[providers.cheap.models.small]
price = {{ input = 1.0, output = 5.0 }}
"""
        )
        (root / ".skipjack" / "agents" / "scout.md").write_text(
            "---\nname: scout\ndescription: cheap searches\nmodel: cheap/small\n---\nSearch.\n"
        )
        server.enqueue(
            turn_reply(ScriptedTurn(tool_calls=[task("t1", "SCOUT: look", "scout")])),
            turn_reply(ScriptedTurn(text="thanks")),
        )
        other.enqueue(turn_reply(ScriptedTurn(text="scouted", prompt_tokens=1000, completion_tokens=100)))
        env = {**isolated_env(tmp_path), "MAIN_API_KEY": "main-secret-123", "CHEAP_API_KEY": "cheap-secret-456"}
        out = run_cli("run", "--json", "go", cwd=root, env=env)
        assert out.returncode == 0, out.stderr
        assert len(other.requests) == 1
        child = other.requests[0]
        assert child.headers.get("authorization") == "Bearer cheap-secret-456"
        assert b"main-secret-123" not in child.body
        assert "main-secret-123" not in json.dumps(child.headers)
        assert child.json()["model"] == "small"
        for r in server.requests:
            assert r.headers.get("authorization") == "Bearer main-secret-123"
        result = events(out.stdout)[-1]
        # The child's price is its own model's.
        assert abs(result["cost"] - (cost_of((10, 5), (10, 5)) + 1000 * 1.0 / 1e6 + 100 * 5.0 / 1e6)) < 1e-9
