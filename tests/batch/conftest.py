"""Batch tests: local git repositories, a user config naming the scripted loopback model."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import isolated_env

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply
from skipjack.testing.sse_server import Pause, RecordedRequest, Reply

EDIT = ScriptedToolCall("edit", {"path": "hello.py", "old_text": "world", "new_text": "skipjack"}, id="e1")


def answered(request: RecordedRequest) -> bool:
    """The request carries the edit's result back (the task's second model call)."""
    try:
        return any(m.get("role") == "tool" for m in request.json()["messages"])
    except (ValueError, KeyError, TypeError):
        return False


def script_tasks(server: SSEServer, n: int, *, pause: float = 0.0) -> None:
    """Every conversation: first request → an edit call, second → a final answer, in whatever
    order concurrent tasks' requests arrive."""
    first = turn_reply(ScriptedTurn(text="Editing.", tool_calls=[EDIT], prompt_tokens=1200, completion_tokens=40))
    second = turn_reply(ScriptedTurn(text="Done.", prompt_tokens=1400, completion_tokens=12))
    if pause:
        first = Reply(body=[Pause(pause), *first.body])
    server.enqueue_for(answered, *[second] * n)
    server.enqueue_for(lambda r: not answered(r), *[first] * n)


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "hello.py").write_text('print("hello world")\n')
    (path / ".gitignore").write_text("build/\n")
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    subprocess.run(["git", "-C", str(path), "add", "-A"], check=True)
    subprocess.run(
        ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init"], check=True
    )
    return path


@pytest.fixture
def server() -> Iterator[SSEServer]:
    with SSEServer() as s:
        yield s


@pytest.fixture
def batch_env(tmp_path: Path, server: SSEServer) -> dict[str, str]:
    env = isolated_env(tmp_path)
    config = Path(env["SKIPJACK_CONFIG_DIR"])
    config.mkdir(parents=True)
    (config / "config.toml").write_text(
        f"""model = "scripted/m1"
[providers.scripted]
base_url = "{server.url}"
api = "openai-chat"
[providers.scripted.models.m1]
context_window = 100000
max_output = 4000
price = {{ input = 3.0, output = 15.0 }}
"""
    )
    return env


def write_tasks(path: Path, tasks: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(t) + "\n" for t in tasks))
    return path
