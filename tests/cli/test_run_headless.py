"""`skipjack run` end to end: the installed command against the scripted loopback server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from tests.cli.helpers import SKIPJACK, isolated_env, run_cli

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import stalled_reply, turn_reply

EDIT = ScriptedToolCall("edit", {"path": "hello.py", "old_text": "world", "new_text": "skipjack"}, id="e1")


def script_edit_task(server: SSEServer) -> None:
    server.enqueue(
        turn_reply(ScriptedTurn(text="I'll edit it.", tool_calls=[EDIT], prompt_tokens=1200, completion_tokens=40)),
        turn_reply(ScriptedTurn(text="Done: it now greets skipjack.", prompt_tokens=1400, completion_tokens=12)),
    )


def test_two_turn_edit_task_in_text_mode(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    script_edit_task(server)
    out = run_cli("run", "--approval", "auto-edit", "make it greet skipjack", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (repo / "hello.py").read_text() == 'print("hello skipjack")\n'
    assert "I'll edit it." in out.stdout
    assert "Done: it now greets skipjack." in out.stdout
    assert "→ edit hello.py" in out.stderr
    assert "[completed · 2 turns" in out.stderr
    cost = (1200 + 1400) * 3.0 / 1e6 + (40 + 12) * 15.0 / 1e6
    assert f"${cost:.4f}" in out.stderr
    # The second request carried the tool result back.
    messages = server.requests[1].json()["messages"]
    assert messages[-1]["role"] == "tool"
    assert messages[-1]["tool_call_id"] == "e1"


def test_json_mode_emits_every_event_then_a_result(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    script_edit_task(server)
    out = run_cli("run", "--json", "--approval", "auto-edit", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    types = [line["type"] for line in lines]
    # The checkpoint of the files is taken while the first request is out: it is there
    # before the edit has run (the edit waits for it), not before the request.
    assert types[0] == "agent_start"
    assert types.count("checkpoint") == 1
    assert types.index("checkpoint") < types.index("tool_execution_end")
    assert types[-2:] == ["agent_end", "result"]
    assert "tool_execution_start" in types
    assert "tool_execution_end" in types
    result = lines[-1]
    assert result["stop_reason"] == "completed"
    assert result["turns"] == 2
    assert result["text"] == "Done: it now greets skipjack."
    assert result["cost"] > 0
    assert result["usage"]["input"] == 2600


def test_headless_denies_what_needs_approval(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    script_edit_task(server)
    out = run_cli("run", "--approval", "ask", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (repo / "hello.py").read_text() == 'print("hello world")\n', "the edit was denied"
    tool_message = server.requests[1].json()["messages"][-1]
    assert "denied" in tool_message["content"]
    assert "--approval" in tool_message["content"]


def test_turn_limit_exits_with_the_limit_code(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    script_edit_task(server)
    out = run_cli("run", "--max-turns", "1", "--approval", "yolo", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 3, out.stderr
    assert "max_turns" in out.stderr


def test_prompt_from_stdin(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    server.enqueue(turn_reply(ScriptedTurn(text="from stdin")))
    out = run_cli("run", cwd=repo, env=isolated_env(tmp_path), input="what is this?")
    assert out.returncode == 0, out.stderr
    assert server.requests[0].json()["messages"][-1]["content"] == "what is this?"


def test_sigint_aborts_cleanly(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    server.enqueue(stalled_reply(ScriptedTurn(text="thinking about it for a long time")))
    env = {**os.environ, **isolated_env(tmp_path)}
    proc = subprocess.Popen(
        [str(SKIPJACK), "run", "--json", "go"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if json.loads(line).get("type") == "message_update":
            break
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rest, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    assert time.monotonic() - started < 5
    result = json.loads(rest.splitlines()[-1])
    assert result["stop_reason"] == "aborted"
    for _ in range(100):
        if server.disconnects:
            break
        time.sleep(0.01)
    assert server.disconnects, "the request was not closed"


def test_missing_api_key_is_one_sentence(tmp_path: Path) -> None:
    out = run_cli("run", "--model", "anthropic/claude-sonnet-4-5", "hi", cwd=tmp_path, env=isolated_env(tmp_path))
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    assert "ANTHROPIC_API_KEY" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_unknown_model_suggests(tmp_path: Path) -> None:
    out = run_cli("run", "--model", "openai/gpt-4oo", "hi", cwd=tmp_path, env=isolated_env(tmp_path))
    assert out.returncode == 2
    assert "gpt-4o" in out.stderr
    assert "Traceback" not in out.stderr


def test_malformed_config(tmp_path: Path) -> None:
    (tmp_path / ".skipjack").mkdir()
    (tmp_path / ".skipjack" / "config.toml").write_text("model = \n")
    out = run_cli("run", "hi", cwd=tmp_path, env=isolated_env(tmp_path))
    assert out.returncode == 2
    assert "config.toml:1:" in out.stderr
    assert "Traceback" not in out.stderr


def test_unreachable_base_url(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (tmp_path / ".skipjack").mkdir()
    (tmp_path / ".skipjack" / "config.toml").write_text("[retry]\nmax_retries = 0\n")
    out = run_cli(
        "run", "--base-url", f"http://127.0.0.1:{port}/v1", "--model", "local/x", "hi",
        cwd=tmp_path, env=isolated_env(tmp_path),
    )  # fmt: skip
    assert out.returncode == 1
    assert f"cannot reach http://127.0.0.1:{port}/v1" in out.stderr
    assert "Traceback" not in out.stderr


def test_no_model_configured(tmp_path: Path) -> None:
    out = run_cli("run", "hi", cwd=tmp_path, env=isolated_env(tmp_path))
    assert out.returncode == 2
    assert "--model" in out.stderr


def test_continue_resumes_the_latest_session(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    env = isolated_env(tmp_path)
    server.enqueue(
        turn_reply(ScriptedTurn(text="The answer is 42.")), turn_reply(ScriptedTurn(text="You asked about 42."))
    )
    first = run_cli("run", "--json", "what is the answer?", cwd=repo, env=env)
    assert first.returncode == 0, first.stderr
    session_id = json.loads(first.stdout.splitlines()[-1])["session_id"]
    second = run_cli("run", "--json", "--continue", "what did I ask?", cwd=repo, env=env)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout.splitlines()[-1])["session_id"] == session_id
    contents = [m["content"] for m in server.requests[1].json()["messages"] if m["role"] in ("user", "assistant")]
    assert contents == ["what is the answer?", "The answer is 42.", "what did I ask?"]
    listed = run_cli("sessions", "list", cwd=repo, env=env)
    assert session_id in listed.stdout
    assert "what is the answer?" in listed.stdout
    shown = run_cli("sessions", "show", session_id, cwd=repo, env=env)
    assert "scripted/m1" in shown.stdout
    exported = run_cli("sessions", "export", session_id, cwd=repo, env=env)
    assert "The answer is 42." in exported.stdout
    forked = run_cli("sessions", "fork", session_id, cwd=repo, env=env)
    assert forked.returncode == 0, forked.stderr
    assert run_cli("sessions", "delete", session_id, cwd=repo, env=env).returncode == 0
    assert run_cli("sessions", "show", session_id, cwd=repo, env=env).returncode == 2


def test_continue_without_a_session_is_a_user_error(tmp_path: Path, repo: Path) -> None:
    out = run_cli("run", "--continue", "hi", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 2
    assert "no session to continue" in out.stderr


def test_session_file_is_private_and_holds_canonical_usage(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    env = isolated_env(tmp_path)
    server.enqueue(turn_reply(ScriptedTurn(text="ok", prompt_tokens=100, completion_tokens=10)))
    out = run_cli("run", "--json", "hi", cwd=repo, env=env)
    assert out.returncode == 0, out.stderr
    files = list(Path(env["SKIPJACK_DATA_DIR"]).rglob("*.jsonl"))
    assert len(files) == 1
    assert files[0].stat().st_mode & 0o777 == 0o600
    lines = [json.loads(line) for line in files[0].read_text().splitlines()]
    usage = next(line["message"]["usage"] for line in lines if line.get("message", {}).get("role") == "assistant")
    assert set(usage) == {"input", "output", "cache_read", "cache_write", "total_tokens", "cost"}
    assert usage["cost"]["total"] > 0
