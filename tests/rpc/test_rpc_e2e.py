"""`skipjack rpc` end to end: a real subprocess driven through JSON lines against the scripted
loopback model: prompts, a steer, an approval, an abort mid-tool, a model switch, and hostile input."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.helpers import SKIPJACK, isolated_env
from tests.rpc.client import RpcProcess

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

EDIT = ScriptedToolCall("edit", {"path": "hello.py", "old_text": "world", "new_text": "skipjack"}, id="e1")
SLEEP = ScriptedToolCall("bash", {"command": "sleep 30; echo late > late.txt"}, id="b1")


@pytest.fixture
def servers() -> Iterator[tuple[SSEServer, SSEServer]]:
    with SSEServer() as first, SSEServer() as second:
        yield first, second


@pytest.fixture
def project(tmp_path: Path, servers: tuple[SSEServer, SSEServer]) -> Path:
    """Two priced providers, each with its own key under [keys] in the user config."""
    first, second = servers
    root = tmp_path / "repo"
    root.mkdir()
    (root / "hello.py").write_text('print("hello world")\n')
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        f"""model = "first/m1"
[keys]
first = "key-first"
second = "key-second"
[providers.first]
base_url = "{first.url}"
api = "openai-chat"
[providers.first.models.m1]
context_window = 100000
price = {{ input = 3.0, output = 15.0 }}
[providers.second]
base_url = "{second.url}"
api = "openai-chat"
[providers.second.models.m2]
context_window = 100000
price = {{ input = 1.0, output = 2.0 }}
"""
    )
    return root


@pytest.fixture
def rpc(tmp_path: Path, project: Path) -> Iterator[RpcProcess]:
    p = RpcProcess("--approval", "ask", cwd=project, env=isolated_env(tmp_path))
    try:
        yield p
    finally:
        p.kill()


def _user_texts(server: SSEServer, i: int) -> list[str]:
    messages = server.requests[i].json()["messages"]
    return [
        m["content"] if isinstance(m["content"], str) else str(m["content"]) for m in messages if m["role"] == "user"
    ]


def test_a_conversation_with_steer_approval_abort_and_model_switch(
    rpc: RpcProcess, project: Path, servers: tuple[SSEServer, SSEServer]
) -> None:
    first, second = servers
    state = rpc.call("get_state")
    assert state["success"]
    assert state["data"]["model"] == "first/m1"
    assert state["data"]["approval"] == "ask"
    assert state["data"]["session_id"] is None

    # Prompt 1: an edit that needs approval; the answer streams slowly, and a steer sent
    # meanwhile makes the run go on for one more turn carrying it.
    first.enqueue(
        turn_reply(ScriptedTurn(text="I'll edit it.", tool_calls=[EDIT])),
        turn_reply(ScriptedTurn(text="Edited. " * 20, chunk_chars=4), chunk_size=200, pause=0.05),
        turn_reply(ScriptedTurn(text="And hi to you.")),
    )
    sent = rpc.send("prompt", text="make it greet skipjack")
    assert rpc.response(sent)["success"]
    ask = rpc.until("approval_request")
    assert ask["tool_name"] == "edit"
    assert ask["arguments"]["path"] == "hello.py"
    assert (project / "hello.py").read_text() == 'print("hello world")\n'  # not before the answer
    assert rpc.call("approve", approval_id=ask["id"])["success"]
    assert rpc.until("approval_resolved", id=ask["id"])["choice"] == "once"
    rpc.until("tool_execution_end")
    rpc.until("message_update")  # the second turn is streaming
    assert rpc.call("steer", text="also say hi")["success"]
    result = rpc.until("result")
    assert result["stop_reason"] == "completed", result
    assert result["turns"] == 3
    assert result["text"] == "And hi to you."
    assert (project / "hello.py").read_text() == 'print("hello skipjack")\n'
    assert "also say hi" in _user_texts(first, 2)
    assert first.requests[0].headers["authorization"] == "Bearer key-first"
    session_id = result["session_id"]
    assert session_id

    # Approval answered twice, or an id never issued: an error response, the process lives.
    again = rpc.call("approve", approval_id=ask["id"])
    assert not again["success"]
    assert "no approval request" in again["error"]

    # Prompt 2: yolo, so the command runs at once; abort it mid-tool.
    assert rpc.call("set_approval", mode="yolo")["data"] == {"mode": "yolo"}
    rpc.until("approval_mode_changed", mode="yolo")
    first.enqueue(turn_reply(ScriptedTurn(text="Sleeping.", tool_calls=[SLEEP])))
    assert rpc.call("prompt", text="wait a while")["success"]
    rpc.until("tool_execution_start", tool_name="bash")
    busy = rpc.call("prompt", text="another")
    assert not busy["success"]
    assert "running" in busy["error"]
    started = time.monotonic()
    assert rpc.call("abort")["success"]
    result = rpc.until("result", timeout=15)
    assert result["stop_reason"] == "aborted"
    assert time.monotonic() - started < 10
    assert result["session_id"] == session_id
    time.sleep(0.5)
    assert not (project / "late.txt").exists()

    # A model switch: the next prompt goes to the other provider, with its own key.
    switched = rpc.call("set_model", model="second/m2")
    assert switched["success"]
    assert switched["data"]["model"] == "second/m2"
    event = rpc.until("model_switched")
    assert event["model"] == "second/m2"
    assert event["has_key"] is True
    second.enqueue(turn_reply(ScriptedTurn(text="From the second model.")))
    assert rpc.call("prompt", text="who are you?")["success"]
    result = rpc.until("result")
    assert result["stop_reason"] == "completed"
    assert result["text"] == "From the second model."
    assert second.requests[0].headers["authorization"] == "Bearer key-second"
    assert len(first.requests) == 4  # nothing more went to the first provider
    # The conversation carried over: the second model saw the first prompt.
    assert "make it greet skipjack" in _user_texts(second, 0)

    state = rpc.call("get_state")["data"]
    assert state["model"] == "second/m2"
    assert state["session_id"] == session_id
    assert state["running"] is False
    assert state["cost"] > 0
    assert rpc.close() == 0


def test_denied_approval_and_hostile_input_never_crash(
    rpc: RpcProcess, project: Path, servers: tuple[SSEServer, SSEServer]
) -> None:
    first, _ = servers
    rpc.send_raw(b"this is not json\n")
    assert rpc.until("response")["success"] is False
    hostile = [
        b"[]\n",
        b'"prompt"\n',
        b'{"id": 7}\n',
        b'{"type": "nope", "id": 8}\n',
        b"\xff\xfe{\n",
        b'{"type": "prompt", "id": 9}\n',
        b'{"type": "prompt", "id": 10, "text": "   "}\n',
        b'{"type": "prompt", "id": 11, "text": 5}\n',
        b'{"type": "set_approval", "id": 12, "mode": "root"}\n',
        b'{"type": "set_model", "id": 13, "model": "nope/nothing"}\n',
        b'{"type": "get_state", "id": true}\n',
        b'{"type": "resume_session", "id": 14, "session_id": "../../etc"}\n',
        b'{"type": "deny", "id": 15, "approval_id": "a999"}\n',
        b'{"type": "steer", "id": 16}\n',
        b'{"type": "approve", "id": 17, "approval_id": "a1", "always": "yes"}\n',
        b'{"type": "compact", "id": 18, "focus": 3}\n',
    ]
    for raw in hostile:
        rpc.send_raw(raw)
        line = rpc.until("response")
        assert line["success"] is False, (raw, line)
        assert line["error"]
    assert rpc.call("get_state")["data"]["approval"] == "ask"

    # A denied edit: the file stays, the model gets the reason.
    first.enqueue(
        turn_reply(ScriptedTurn(text="Editing.", tool_calls=[EDIT])),
        turn_reply(ScriptedTurn(text="OK, I won't.")),
    )
    assert rpc.call("prompt", text="edit it")["success"]
    ask = rpc.until("approval_request")
    assert rpc.call("deny", approval_id=ask["id"], reason="not today")["success"]
    end = rpc.until("tool_execution_end")
    assert end["is_error"] is True
    assert rpc.until("result")["stop_reason"] == "completed"
    assert (project / "hello.py").read_text() == 'print("hello world")\n'
    assert "not today" in str(first.requests[1].json()["messages"][-1]["content"])
    assert rpc.close() == 0


def test_closing_input_mid_question_denies_it_and_exits(
    rpc: RpcProcess, project: Path, servers: tuple[SSEServer, SSEServer]
) -> None:
    first, _ = servers
    first.enqueue(
        turn_reply(ScriptedTurn(text="Editing.", tool_calls=[EDIT])),
        turn_reply(ScriptedTurn(text="Stopped.")),
    )
    assert rpc.call("prompt", text="edit it")["success"]
    rpc.until("approval_request")
    assert rpc.close() == 0
    assert (project / "hello.py").read_text() == 'print("hello world")\n'


def test_new_and_resumed_sessions(rpc: RpcProcess, servers: tuple[SSEServer, SSEServer]) -> None:
    first, _ = servers
    first.enqueue(turn_reply(ScriptedTurn(text="one")), turn_reply(ScriptedTurn(text="two")))
    assert rpc.call("prompt", text="first conversation")["success"]
    first_id = rpc.until("result")["session_id"]
    assert rpc.call("new_session")["success"]
    assert rpc.until("session_changed")["session_id"] is None
    assert rpc.call("prompt", text="second conversation")["success"]
    second_id = rpc.until("result")["session_id"]
    assert second_id != first_id
    assert "first conversation" not in _user_texts(first, 1)
    resumed = rpc.call("resume_session", session_id=first_id)
    assert resumed["success"]
    assert resumed["data"]["session_id"] == first_id
    assert resumed["data"]["messages"] == 2
    assert rpc.call("get_state")["data"]["session_id"] == first_id
    assert rpc.close() == 0


def test_sigterm_aborts_the_run_and_exits_143(
    rpc: RpcProcess, project: Path, servers: tuple[SSEServer, SSEServer]
) -> None:
    first, _ = servers
    first.enqueue(turn_reply(ScriptedTurn(text="Sleeping.", tool_calls=[SLEEP])))
    assert rpc.call("set_approval", mode="yolo")["success"]
    assert rpc.call("prompt", text="wait")["success"]
    rpc.until("tool_execution_start")
    rpc.proc.terminate()
    assert rpc.proc.wait(15) == 143
    time.sleep(0.5)
    assert not (project / "late.txt").exists()


def test_follow_up_continues_the_run(rpc: RpcProcess, servers: tuple[SSEServer, SSEServer]) -> None:
    first, _ = servers
    first.enqueue(
        turn_reply(ScriptedTurn(text="Working. " * 20, chunk_chars=4), chunk_size=200, pause=0.05),
        turn_reply(ScriptedTurn(text="And the follow-up.")),
    )
    assert rpc.call("prompt", text="start")["success"]
    rpc.until("message_update")
    assert rpc.call("follow_up", text="then this")["success"]
    result = rpc.until("result")
    assert result["turns"] == 2
    assert result["text"] == "And the follow-up."
    assert "then this" in _user_texts(first, 1)
    assert rpc.close() == 0


def test_commands_from_a_file_and_an_oversized_line(tmp_path: Path, project: Path) -> None:
    """`skipjack rpc < commands.jsonl`: a regular file as input; a 17 MB line is refused
    whole, and the commands after it still run."""
    commands = tmp_path / "commands.jsonl"
    with commands.open("wb") as f:
        f.write(b'{"type": "get_state", "id": 1}\n')
        f.write(b'{"type": "prompt", "id": 2, "text": "' + b"x" * (17 * 1024 * 1024) + b'"}\n')
        f.write(b'{"type": "set_approval", "id": 3, "mode": "plan"}\n')
        f.write(b'{"type": "get_state", "id": 4}')  # no final newline
    with commands.open("rb") as stdin:
        out = subprocess.run(
            [str(SKIPJACK), "rpc"],
            cwd=project,
            env={k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")} | isolated_env(tmp_path),
            stdin=stdin,
            capture_output=True,
            timeout=60,
            check=False,
        )
    assert out.returncode == 0, out.stderr
    responses = [json.loads(line) for line in out.stdout.splitlines() if json.loads(line)["type"] == "response"]
    assert [r["id"] for r in responses] == [1, None, 3, 4]
    assert [r["success"] for r in responses] == [True, False, True, True]
    assert "longer than" in responses[1]["error"]
    assert responses[3]["data"]["approval"] == "plan"
    assert responses[3]["data"]["sandbox"] == "read-only"
