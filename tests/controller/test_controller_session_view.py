"""Controller behaviour every front end relies on (issue 17: items 3, 7, 12 and 16 as the
controller's part): the approval event carries the diff, a model switched back keeps the
command line's base URL and key, mode changes are told to the model, a new conversation
costs nothing yet."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from skipjack.controller import Controller, to_json
from skipjack.llm.types import Cost, Usage
from skipjack.runtime import RunOptions
from skipjack.safety.hook import Answer
from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

from .test_controller import _build, _setup


@pytest.fixture
def server() -> Iterator[SSEServer]:
    with SSEServer() as s:
        yield s


@pytest.fixture
def other() -> Iterator[SSEServer]:
    with SSEServer() as s:
        yield s


def user_texts(server: SSEServer, i: int) -> list[str]:
    import json

    body = json.loads(server.requests[i].body)
    out = []
    for m in body["messages"]:
        if m["role"] != "user":
            continue
        content = m["content"]
        out.append(content if isinstance(content, str) else "".join(p.get("text", "") for p in content))
    return out


async def _pending(controller: Controller) -> list[str]:
    for _ in range(300):
        pending: list[str] = controller.state()["pending_approvals"]
        if pending:
            return pending
        await asyncio.sleep(0.02)
    raise AssertionError("no approval request")


async def test_the_approval_event_carries_the_diff_of_an_edit(
    tmp_path: Path, server: SSEServer, other: SSEServer
) -> None:
    project, env = _setup(tmp_path, server, other)
    (project / "calc.py").write_text("def area(w, h):\n    return w + h\n")
    controller, seen = _build(project, env, ask="events")
    controller.set_approval("ask")
    edit = ScriptedToolCall("edit", {"path": "calc.py", "old_text": "w + h", "new_text": "w * h"}, id="e1")
    bad = ScriptedToolCall("edit", {"path": "calc.py", "old_text": "nowhere", "new_text": "x"}, id="e2")
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[edit])), turn_reply(ScriptedTurn(tool_calls=[bad])),
        turn_reply(ScriptedTurn(text="done")),
    )  # fmt: skip
    run = asyncio.create_task(controller.prompt("fix"))
    (first,) = await _pending(controller)
    request = next(e for e in seen if e["type"] == "approval_request")
    assert request["diff"].splitlines()[2:] == [
        "@@ -1,2 +1,2 @@",
        " def area(w, h):",
        "-    return w + h",
        "+    return w * h",
    ]
    assert request["refusal"] is None
    assert (project / "calc.py").read_text().endswith("w + h\n"), "the preview wrote nothing"
    controller.answer_approval(first, Answer("once"))
    (second,) = [p for p in await _pending(controller) if p != first] or await _pending(controller)
    request = [e for e in seen if e["type"] == "approval_request"][-1]
    assert request["diff"] is None
    assert "not found" in request["refusal"]
    controller.answer_approval(second, Answer("deny"))
    await asyncio.wait_for(run, 10)
    controller.close()
    assert (project / "calc.py").read_text().endswith("w * h\n")


async def test_a_model_switched_away_and_back_keeps_the_base_url_and_key(
    tmp_path: Path, server: SSEServer, other: SSEServer
) -> None:
    """`skipjack --model openai/gpt-4.1 --base-url LOCAL --api-key-env LOCAL_KEY`, /model to
    another, /model back: requests and the key must go to the local server again."""
    project, env = _setup(tmp_path, server, other)
    env = {**env, "LOCAL_KEY": "local-key"}
    options = RunOptions(cwd=project, model="openai/gpt-4.1", base_url=server.url, api_key_env="LOCAL_KEY")
    controller = Controller.build(options, env=env)
    seen: list[dict[str, Any]] = []
    controller.subscribe(lambda e: seen.append(to_json(e)))
    assert controller.model.base_url == server.url
    controller.switch_model("second/m2")
    controller.switch_model("openai/gpt-4.1")
    assert controller.model.base_url == server.url
    assert controller.agent.options.api_key == "local-key"
    assert seen[-1]["base_url"] == server.url
    server.enqueue(turn_reply(ScriptedTurn(text="local again")))
    await controller.prompt("hi")
    assert server.requests[0].headers["authorization"] == "Bearer local-key"
    assert not other.requests
    controller.close()


async def test_approval_mode_changes_are_told_to_the_model(tmp_path: Path, server: SSEServer, other: SSEServer) -> None:
    project, env = _setup(tmp_path, server, other)
    controller, _ = _build(project, env)
    server.enqueue(*(turn_reply(ScriptedTurn(text=f"r{i}")) for i in range(3)))
    controller.set_approval("plan")
    await controller.prompt("how would you fix it?")
    first = user_texts(server, 0)
    assert "Plan mode is on" in first[-1]
    assert "<system-reminder>" in first[-1]
    assert first[-1].endswith("how would you fix it?")
    await controller.prompt("and then?")
    assert [t for t in user_texts(server, 1) if "system-reminder" in t] == [first[-1]], "told once, kept in history"
    controller.set_approval("plan")  # no change: nothing new to tell
    controller.set_approval("auto-edit")
    await controller.prompt("go ahead")
    assert "`auto-edit`" in user_texts(server, 2)[-1]
    controller.close()


async def test_a_mode_change_during_a_run_reaches_the_next_model_call(
    tmp_path: Path, server: SSEServer, other: SSEServer
) -> None:
    project, env = _setup(tmp_path, server, other)
    controller, _ = _build(project, env)
    controller.set_approval("yolo")
    controller.agent.replace_messages([])
    slow = ScriptedToolCall("bash", {"command": "sleep 0.5"}, id="s1")
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=[slow])), turn_reply(ScriptedTurn(text="ok")))
    controller._reminder = None  # the switch to yolo above is not what this test is about
    run = asyncio.create_task(controller.prompt("work"))
    for _ in range(200):
        if server.requests:
            break
        await asyncio.sleep(0.02)
    controller.set_approval("plan")
    await asyncio.wait_for(run, 15)
    assert any("Plan mode is on" in t for t in user_texts(server, 1))
    controller.close()


async def test_a_new_conversation_starts_at_zero_cost(tmp_path: Path, server: SSEServer, other: SSEServer) -> None:
    """`/new` used to leave the status line showing the old conversation's cost."""
    project, env = _setup(tmp_path, server, other)
    controller, _ = _build(project, env, record_sessions=False)
    server.enqueue(turn_reply(ScriptedTurn(text="one")))
    await controller.prompt("first")
    controller.agent.charge(msgspec.structs.replace(Usage.zero(), cost=Cost(0.5, 0.0, 0.0, 0.0, 0.5)))
    assert controller.cost() >= 0.5
    controller.new_session()
    assert controller.cost() == 0
    assert controller.usage_by_model() == {}
    controller.close()


async def test_a_session_started_in_plan_mode_is_told_so(tmp_path: Path, server: SSEServer, other: SSEServer) -> None:
    project, env = _setup(tmp_path, server, other)
    controller = Controller.build(RunOptions(cwd=project, approval="plan"), env=env, record_sessions=False)
    server.enqueue(turn_reply(ScriptedTurn(text="a plan")), turn_reply(ScriptedTurn(text="more")))
    await controller.prompt("what would you change?")
    await controller.prompt("and?")
    told = [t for i in (0, 1) for t in user_texts(server, i) if "Plan mode is on" in t]
    assert len(set(told)) == 1, "told once, at the first prompt"
    assert "Plan mode is on" in user_texts(server, 0)[-1]
    controller.close()
