"""The controller against the scripted loopback model: what front ends see as events."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import isolated_env

from skipjack.controller import Controller, to_json
from skipjack.errors import UserError
from skipjack.llm.types import AssistantMessage, Message, TextContent, Usage, UserMessage
from skipjack.runtime import RunOptions
from skipjack.safety.hook import Answer
from skipjack.testing import Reply, ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply


@pytest.fixture
def server() -> Iterator[SSEServer]:
    with SSEServer() as s:
        yield s


@pytest.fixture
def other() -> Iterator[SSEServer]:
    with SSEServer() as s:
        yield s


def _setup(
    tmp_path: Path, server: SSEServer, other: SSEServer, *, window: int = 100_000
) -> tuple[Path, dict[str, str]]:
    env = isolated_env(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        f"""model = "first/m1"
[keys]
first = "key-first"
second = "key-second"
[compaction]
reserve_tokens = 500
keep_recent_tokens = 300
[providers.first]
base_url = "{server.url}"
api = "openai-chat"
[providers.first.models.m1]
context_window = {window}
[providers.second]
base_url = "{other.url}"
api = "openai-chat"
[providers.second.models.m2]
context_window = 100000
"""
    )
    project = tmp_path / "project"
    project.mkdir()
    return project, env


def _build(project: Path, env: dict[str, str], **kw: Any) -> tuple[Controller, list[dict[str, Any]]]:
    controller = Controller.build(RunOptions(cwd=project), env=env, **kw)
    seen: list[dict[str, Any]] = []
    controller.subscribe(lambda e: seen.append(to_json(e)))
    return controller, seen


def _big_history() -> list[Message]:
    out: list[Message] = []
    for i in range(8):
        out.append(UserMessage(f"question {i} " + "words " * 300))
        out.append(
            AssistantMessage(
                content=[TextContent("answer " * 300)],
                api="openai-chat",
                provider="first",
                model="m1",
                usage=Usage.zero(),
                stop_reason="stop",
            )
        )
    return out


def _types(seen: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in seen]


async def test_a_failed_automatic_compaction_reaches_the_front_end_as_an_event(
    tmp_path: Path, server: SSEServer, other: SSEServer
) -> None:
    project, env = _setup(tmp_path, server, other, window=4000)
    # A conversation not recorded: the controller's own compactor for it, not the session's.
    controller, seen = _build(project, env, record_sessions=False)
    controller.agent.replace_messages(_big_history())
    # The summary request is refused (400: not retried); the turn itself then goes ahead.
    server.enqueue(Reply.error(400, {"error": {"message": "no summaries today"}}), turn_reply(ScriptedTurn(text="ok")))
    result = await controller.prompt("go on")
    controller.close()
    kinds = _types(seen)
    assert "compaction_start" in kinds
    failed = [e for e in seen if e["type"] == "compaction_failed"]
    assert len(failed) == 1
    assert failed[0]["automatic"] is True
    assert "no summaries today" in failed[0]["message"]
    assert kinds.index("compaction_failed") < kinds.index("agent_end")
    assert result.stop_reason == "completed"


async def test_compaction_on_demand_emits_start_and_end_and_shrinks_the_context(
    tmp_path: Path, server: SSEServer, other: SSEServer
) -> None:
    project, env = _setup(tmp_path, server, other)
    controller, seen = _build(project, env)
    session = controller.open_session()
    for message in _big_history():
        session.append_message(message)
    controller.use_session(session, resume=True)
    before = controller.context_tokens()
    server.enqueue(turn_reply(ScriptedTurn(text="the summary")))
    result = await controller.compact("the parser")
    controller.close()
    assert result is not None
    assert controller.context_tokens() < before
    end = next(e for e in seen if e["type"] == "compaction_end")
    assert end["trigger"] == "manual"
    assert end["tokens_after"] < end["tokens_before"]
    assert "the parser" in str(server.requests[0].json()["messages"])


async def test_a_failed_compaction_on_demand_is_an_event_and_a_user_error(
    tmp_path: Path, server: SSEServer, other: SSEServer
) -> None:
    project, env = _setup(tmp_path, server, other)
    controller, seen = _build(project, env)
    session = controller.open_session()
    for message in _big_history():
        session.append_message(message)
    controller.use_session(session, resume=True)
    server.enqueue(Reply.error(400, {"error": {"message": "refused"}}))
    with pytest.raises(UserError, match="compaction failed"):
        await controller.compact()
    controller.close()
    failed = [e for e in seen if e["type"] == "compaction_failed"]
    assert len(failed) == 1
    assert failed[0]["automatic"] is False


async def test_switching_model_uses_its_own_key_and_is_recorded(
    tmp_path: Path, server: SSEServer, other: SSEServer
) -> None:
    project, env = _setup(tmp_path, server, other)
    controller, seen = _build(project, env)
    session = controller.open_session()
    controller.switch_model("second/m2")
    assert controller.agent.options.api_key == "key-second"
    assert controller.compactor is not None
    assert controller.compactor.options is not None
    assert controller.compactor.options.api_key == "key-second"
    assert seen[-1] == {
        "type": "model_switched",
        "model": "second/m2",
        "api": "openai-chat",
        "base_url": other.url,
        "has_key": True,
    }
    other.enqueue(turn_reply(ScriptedTurn(text="hi from two")))
    await controller.prompt("hello")
    assert other.requests[0].headers["authorization"] == "Bearer key-second"
    assert not server.requests
    with pytest.raises(UserError):
        controller.switch_model("nope/none")
    assert controller.state()["model"] == "second/m2"
    controller.close()
    assert session.model == "second/m2"


async def test_the_sandbox_follows_the_approval_mode(tmp_path: Path, server: SSEServer, other: SSEServer) -> None:
    project, env = _setup(tmp_path, server, other)
    controller, seen = _build(project, env)
    controller.set_approval("plan")
    assert seen[-1]["type"] == "approval_mode_changed"
    assert seen[-1]["sandbox"] == "read-only"
    assert controller.runtime.sandbox_policy().mode == "read-only"
    controller.set_approval("yolo")
    assert controller.runtime.policy.mode == "yolo"
    for bad in ("YOLO", " yolo", "root", ""):
        with pytest.raises(UserError):
            controller.set_approval(bad)
    assert controller.approval_mode == "yolo"
    controller.close()


async def test_abort_withdraws_an_open_approval_question(tmp_path: Path, server: SSEServer, other: SSEServer) -> None:
    project, env = _setup(tmp_path, server, other)
    (project / "f.txt").write_text("a\n")
    controller, seen = _build(project, env, ask="events")
    edit = ScriptedToolCall("edit", {"path": "f.txt", "old_text": "a", "new_text": "b"}, id="e1")
    server.enqueue(turn_reply(ScriptedTurn(text="editing", tool_calls=[edit])))
    run = asyncio.create_task(controller.prompt("edit"))
    for _ in range(200):
        if controller.state()["pending_approvals"]:
            break
        await asyncio.sleep(0.02)
    assert controller.state()["pending_approvals"] == ["a1"]
    controller.abort()
    result = await asyncio.wait_for(run, 10)
    controller.close()
    assert result.stop_reason == "aborted"
    assert (project / "f.txt").read_text() == "a\n"
    resolved = [e for e in seen if e["type"] == "approval_resolved"]
    assert resolved == [{"type": "approval_resolved", "id": "a1", "choice": "deny"}]
    with pytest.raises(UserError):
        controller.answer_approval("a1", Answer("once"))


async def test_new_session_is_created_at_the_first_prompt_and_resume_restores(
    tmp_path: Path, server: SSEServer, other: SSEServer
) -> None:
    project, env = _setup(tmp_path, server, other)
    controller, seen = _build(project, env)
    assert controller.session is None
    server.enqueue(turn_reply(ScriptedTurn(text="one")), turn_reply(ScriptedTurn(text="two")))
    await controller.prompt("first")
    assert controller.session is not None
    first_id = controller.session.id
    controller.new_session()
    assert controller.session is None
    assert controller.agent.messages == []
    await controller.prompt("second")
    assert controller.session is not None
    assert controller.session.id != first_id
    controller.resume_session(first_id)
    assert len(controller.agent.messages) == 2
    changed = [e for e in seen if e["type"] == "session_changed"]
    assert [e["session_id"] for e in changed][-1] == first_id
    assert changed[-1]["resumed"] is True
    with pytest.raises(UserError):
        controller.resume_session("does-not-exist")
    controller.close()
