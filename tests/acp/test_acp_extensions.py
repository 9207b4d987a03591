"""`skipjack acp` and the user's extensions: custom commands are offered in the editor's `/`
menu and run as their prompts; a subagent's activity shows inside its `task` call."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import acp
from tests.acp.test_acp_e2e import RecordingClient, _session, select

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

CHILD = b"You are a subagent of skipjack"


def test_custom_commands_are_offered_and_run(tmp_path: Path, project: Path, server: SSEServer) -> None:
    commands = tmp_path / "config" / "commands"
    commands.mkdir(parents=True)
    (commands / "explain.md").write_text(
        "---\ndescription: Explain a file\nargument-hint: FILE\n---\nExplain $1 now.\n"
    )
    client = RecordingClient()

    async def body(conn: Any, process: Any) -> None:
        new = await conn.new_session(cwd=str(project), mcp_servers=[])
        await client.wait_for(lambda: bool(client.of_kind("available_commands_update")))
        [offer] = client.of_kind("available_commands_update")
        [command] = [c for c in offer.available_commands if c.name == "explain"]
        assert command.description == "Explain a file"
        assert command.input.root.hint == "FILE"
        server.enqueue(turn_reply(ScriptedTurn(text="It greets.")))
        response = await conn.prompt(session_id=new.session_id, prompt=[acp.text_block("/explain hello.py")])
        assert response.stop_reason == "end_turn"

    assert asyncio.run(_session(client, tmp_path, project, body)) == 0
    assert server.requests[0].json()["messages"][-1]["content"] == "Explain hello.py now."


def test_a_subagents_tool_calls_show_in_its_task_call(tmp_path: Path, project: Path, server: SSEServer) -> None:
    task = ScriptedToolCall("task", {"description": "look", "prompt": "read hello.py"}, id="t1")
    read = ScriptedToolCall("read", {"path": "hello.py"}, id="c1")
    first_of_child = lambda r: CHILD in r.body and b'"role":"tool"' not in r.body  # noqa: E731
    server.enqueue_for(first_of_child, turn_reply(ScriptedTurn(text="", tool_calls=[read])))
    server.enqueue_for(lambda r: CHILD in r.body, turn_reply(ScriptedTurn(text="It prints hello world.")))
    server.enqueue(turn_reply(ScriptedTurn(text="Asking a helper.", tool_calls=[task])),
                   turn_reply(ScriptedTurn(text="It prints hello world, says the helper.")))  # fmt: skip
    client = RecordingClient()
    client.decide = select("allow_once")

    async def body(conn: Any, process: Any) -> None:
        new = await conn.new_session(cwd=str(project), mcp_servers=[])
        response = await conn.prompt(session_id=new.session_id, prompt=[acp.text_block("what does hello.py do")])
        assert response.stop_reason == "end_turn"

    assert asyncio.run(_session(client, tmp_path, project, body)) == 0
    updates = [u for u in client.of_kind("tool_call_update") if u.tool_call_id == "t1" and u.content]
    texts = ["".join(getattr(c.content, "text", "") for c in u.content) for u in updates]
    assert any("read: hello.py" in t or "→ read" in t for t in texts), texts
    # The child's answer reached the parent as the task's result, not the user's chat.
    assert "It prints hello world." not in client.text()
