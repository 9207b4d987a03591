"""Hooks and subagents through the controller, as the UI and `rpc` use it: approvals asked of
the user (with the Notification hook), a child's question put to the same user."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import isolated_env

from skipjack.controller import Controller, to_json
from skipjack.llm.types import ToolCall
from skipjack.runtime import RunOptions
from skipjack.safety.hook import Answer
from skipjack.safety.policy import Verdict
from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply


@pytest.fixture
def server() -> Iterator[SSEServer]:
    with SSEServer() as s:
        yield s


def setup(tmp_path: Path, server: SSEServer, extra: str = "") -> tuple[Path, dict[str, str]]:
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        f'model = "first/m1"\ntrusted_projects = [{str(project)!r}]\n'
        f'[providers.first]\nbase_url = "{server.url}"\napi = "openai-chat"\n'
        f"[providers.first.models.m1]\nprice = {{ input = 3.0, output = 15.0 }}\n{extra}"
    )
    return project, isolated_env(tmp_path)


async def test_notification_hook_runs_when_the_user_is_asked(tmp_path: Path, server: SSEServer) -> None:
    notes = tmp_path / "project" / "notified.json"
    project, env = setup(
        tmp_path,
        server,
        f'[[hooks.Notification]]\nhooks = [{{ command = "cat > {notes}" }}]\n',
    )
    asked: list[tuple[str, str]] = []

    async def ask(call: ToolCall, verdict: Verdict) -> Answer:
        asked.append((call.name, verdict.subject))
        for _ in range(200):  # the notifier runs alongside the question
            if notes.exists() and notes.read_text():
                break
            await asyncio.sleep(0.02)
        return Answer("deny", "not now")

    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("write", {"path": "a.txt", "content": "x"}, id="w1")])),
        turn_reply(ScriptedTurn(text="ok")),
    )
    controller = Controller.build(RunOptions(cwd=project, approval="ask"), env=env, ask=ask)
    try:
        await controller.prompt("go")
    finally:
        controller.close()
    assert [name for name, _ in asked] == ["write"]
    payload = json.loads(notes.read_text())
    assert payload["hook_event_name"] == "Notification"
    assert "permission to use write" in payload["message"]
    assert payload["session_id"] == controller.session.id  # type: ignore[union-attr]
    assert payload["transcript_path"] == str(controller.session.path)  # type: ignore[union-attr]
    assert payload["permission_mode"] == "default"


async def test_a_childs_question_goes_to_the_same_user_as_events(tmp_path: Path, server: SSEServer) -> None:
    project, env = setup(tmp_path, server)
    agents = project / ".skipjack" / "agents"
    agents.mkdir(parents=True)
    (agents / "writer.md").write_text("---\nname: writer\ndescription: writes\ntools: [write]\n---\nWrite.\n")
    server.enqueue(
        turn_reply(
            ScriptedTurn(
                tool_calls=[
                    ScriptedToolCall(
                        "task", {"description": "d", "prompt": "WRITE a.txt", "subagent_type": "writer"}, id="t1"
                    )
                ]
            )
        ),
    )
    server.enqueue_for(
        lambda r: b"You are a subagent" in r.body,
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("write", {"path": "a.txt", "content": "x"}, id="w1")])),
        turn_reply(ScriptedTurn(text="written")),
    )
    server.enqueue(turn_reply(ScriptedTurn(text="parent done")))
    controller = Controller.build(RunOptions(cwd=project, approval="ask"), env=env, ask="events")
    seen: list[dict[str, Any]] = []

    def on_event(event: Any) -> None:
        data = to_json(event)
        seen.append(data)
        if data["type"] == "approval_request":
            controller.answer_approval(data["id"], Answer("once"))

    controller.subscribe(on_event)
    try:
        result = await controller.prompt("go")
    finally:
        controller.close()
    assert result.stop_reason == "completed"
    requests = [e for e in seen if e["type"] == "approval_request"]
    assert [(r["tool_name"], r["tool_call_id"]) for r in requests] == [("write", "w1")]
    assert (project / "a.txt").read_text() == "x"
    assert controller.cost() == pytest.approx(result.usage.cost.total)
