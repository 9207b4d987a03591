"""`skipjack rpc` checkpoint commands, end to end in a real subprocess."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.helpers import isolated_env
from tests.rpc.client import RpcProcess

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

EDIT = ScriptedToolCall("edit", {"path": "hello.py", "old_text": "world", "new_text": "skipjack"}, id="e1")


@pytest.fixture
def server() -> Iterator[SSEServer]:
    with SSEServer() as s:
        yield s


@pytest.fixture
def rpc(tmp_path: Path, server: SSEServer) -> Iterator[tuple[RpcProcess, Path]]:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "hello.py").write_text('print("hello world")\n')
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        f"""model = "first/m1"
[keys]
first = "key-first"
[providers.first]
base_url = "{server.url}"
api = "openai-chat"
[providers.first.models.m1]
context_window = 100000
"""
    )
    p = RpcProcess("--approval", "auto-edit", cwd=root, env=isolated_env(tmp_path))
    try:
        yield p, root
    finally:
        p.kill()


def test_checkpoints_plan_rewind_undo_redo(rpc: tuple[RpcProcess, Path], server: SSEServer) -> None:
    client, root = rpc
    server.enqueue(turn_reply(ScriptedTurn(text="editing", tool_calls=[EDIT])), turn_reply(ScriptedTurn(text="ok")))
    assert client.call("prompt", text="greet skipjack")["success"]
    client.until("result")
    assert (root / "hello.py").read_text() == 'print("hello skipjack")\n'

    turns = client.call("checkpoints")["data"]["turns"]
    assert [(t["turn"], t["prompt"], t["files_changed"]) for t in turns] == [(1, "greet skipjack", ["hello.py"])]

    plan = client.call("plan_rewind", action="undo")["data"]
    assert plan["files"] == ["hello.py"]
    assert '-print("hello skipjack")' in plan["diff"]

    (root / "hello.py").write_text("by hand\n")
    refused = client.call("undo")
    assert not refused["success"]
    assert "hello.py" in refused["error"]
    assert (root / "hello.py").read_text() == "by hand\n"
    undone = client.call("undo", overwrite=True)
    assert undone["success"], undone
    assert (root / "hello.py").read_text() == 'print("hello world")\n'
    assert client.until("rewound")["kind"] == "undo"
    assert client.call("redo")["success"]
    assert (root / "hello.py").read_text() == "by hand\n", "redo brings back what undo found"

    back = client.call("rewind", turn=1, mode="conversation")["data"]
    assert back["prompt"] == "greet skipjack"
    assert back["forked_from"] != back["session_id"]
    assert client.call("get_state")["data"]["messages"] == 0

    for bad in ({"turn": 0}, {"turn": "1"}, {"turn": True}, {"turn": 9}, {"turn": 1, "mode": "all"}):
        response = client.call("rewind", **bad)
        assert not response["success"], bad
    assert client.call("undo", overwrite="yes")["success"] is False
    assert client.close() == 0
