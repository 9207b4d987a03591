"""`skipjack run --json` with real MCP servers from PyPI (`mcp-server-time`, `mcp-server-git`)
over stdio, driven by the scripted model: the calls run and their results reach the model."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.cli.helpers import isolated_env, run_cli
from tests.mcp_client.conftest import GIT_SERVER, TIME_SERVER, write_user_config

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply


def _servers_config(repo: Path) -> str:
    return f"""
[mcp.servers.time]
command = "{TIME_SERVER}"
args = ["--local-timezone", "UTC"]

[mcp.servers.git]
command = "{GIT_SERVER}"
args = ["--repository", "{repo}"]
"""


def test_time_and_git_tools_run_and_their_results_reach_the_model(
    tmp_path: Path, repo: Path, server: SSEServer
) -> None:
    write_user_config(tmp_path, _servers_config(repo), trusted=[repo])
    calls = [
        ScriptedToolCall("mcp__time__get_current_time", {"timezone": "Europe/Paris"}, id="t1"),
        ScriptedToolCall("mcp__git__git_status", {"repo_path": str(repo)}, id="g1"),
    ]
    server.enqueue(
        turn_reply(ScriptedTurn(text="Checking.", tool_calls=calls)),
        turn_reply(ScriptedTurn(text="All done.")),
    )
    out = run_cli("run", "--json", "--approval", "yolo", "what time is it", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    states = {e["name"]: e for e in events if e["type"] == "mcp_server"}
    assert states["time"]["state"] == "ready"
    assert "mcp__time__get_current_time" in states["time"]["tools"]
    assert states["git"]["state"] == "ready"
    assert "mcp__git__git_status" in states["git"]["tools"]
    ends = {e["tool_call_id"]: e for e in events if e["type"] == "tool_execution_end"}
    assert not ends["t1"]["is_error"], ends["t1"]
    assert not ends["g1"]["is_error"], ends["g1"]

    # The first request offered the MCP tools with the servers' schemas.
    offered = {t["function"]["name"]: t["function"] for t in server.requests[0].json()["tools"]}
    assert offered["mcp__time__get_current_time"]["parameters"]["required"] == ["timezone"]
    assert "mcp__git__git_status" in offered
    # The next request carried both results back.
    messages = server.requests[1].json()["messages"]
    results = {m["tool_call_id"]: m["content"] for m in messages if m["role"] == "tool"}
    assert "Europe/Paris" in results["t1"]
    assert '"datetime"' in results["t1"]
    assert "hello.py" in results["g1"], results["g1"]  # git status lists the untracked file
    assert events[-1]["type"] == "result"
    assert events[-1]["stop_reason"] == "completed"


def test_headless_ask_mode_denies_mcp_tools_with_the_rule_that_would_allow_them(
    tmp_path: Path, repo: Path, server: SSEServer
) -> None:
    write_user_config(tmp_path, _servers_config(repo), trusted=[repo])
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("mcp__git__git_status", {"repo_path": str(repo)})])),
        turn_reply(ScriptedTurn(text="ok")),
    )
    out = run_cli("run", "--approval", "ask", "status?", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    result = server.requests[1].json()["messages"][-1]["content"]
    assert "denied" in result
    assert "mcp: git/git_status" in result


def test_plan_mode_runs_read_only_tools_only(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    write_user_config(tmp_path, _servers_config(repo), trusted=[repo])
    calls = [
        ScriptedToolCall("mcp__time__get_current_time", {"timezone": "UTC"}, id="read"),
        ScriptedToolCall("mcp__git__git_add", {"repo_path": str(repo), "files": ["hello.py"]}, id="write"),
    ]
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=calls)), turn_reply(ScriptedTurn(text="ok")))
    out = run_cli("run", "--approval", "plan", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    results = {m["tool_call_id"]: m["content"] for m in server.requests[1].json()["messages"] if m["role"] == "tool"}
    assert '"datetime"' in results["read"]
    assert "denied" in results["write"]
    assert "plan mode" in results["write"]
    import subprocess

    staged = subprocess.run(["git", "diff", "--cached", "--name-only"], cwd=repo, capture_output=True, text=True)
    assert staged.stdout == "", "git_add ran in plan mode"


def test_a_server_that_cannot_start_is_reported_and_the_run_goes_on(
    tmp_path: Path, repo: Path, server: SSEServer
) -> None:
    broken = tmp_path / "broken-server"
    broken.write_text("#!/bin/sh\necho 'cannot find my database' >&2\nexit 7\n")
    broken.chmod(0o755)
    write_user_config(
        tmp_path,
        _servers_config(repo) + f'\n[mcp.servers.broken]\ncommand = "{broken}"\n'
        '\n[mcp.servers.hang]\ncommand = "sleep"\nargs = ["600"]\nstartup_timeout_s = 1.5\n',
        trusted=[repo],
    )
    server.enqueue(turn_reply(ScriptedTurn(text="fine")))
    began = time.monotonic()
    out = run_cli("run", "--json", "hi", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    states = {e["name"]: e for e in events if e["type"] == "mcp_server"}
    assert states["broken"]["state"] == "failed"
    assert "cannot find my database" in states["broken"]["error"]
    # What the user reads is why, not an internal error of the pipe's clean-up (a pipe closed
    # by the server's exit was aborted again: "AttributeError: 'NoneType' object ...").
    assert "AttributeError" not in states["broken"]["error"]
    assert states["broken"]["error"].startswith("Connection closed")
    assert states["hang"]["state"] == "failed"
    assert "startup_timeout_s" in states["hang"]["error"]
    assert states["time"]["state"] == "ready"
    warnings = [e["message"] for e in events if e["type"] == "warning"]
    assert any('"broken" did not start' in w for w in warnings)
    assert events[-1]["stop_reason"] == "completed"
    assert time.monotonic() - began < 45
