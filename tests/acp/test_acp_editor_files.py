"""`skipjack acp` with a client that serves files: the model reads the editor's unsaved
buffer, and its edits and new files go to the editor, not to the disk under the buffer."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import acp
from acp import schema
from tests.acp.test_acp_e2e import TIMEOUT, RecordingClient, _env, select
from tests.cli.helpers import SKIPJACK

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

READ = ScriptedToolCall("read", {"path": "hello.py"}, id="r1")
EDIT = ScriptedToolCall("edit", {"path": "hello.py", "old_text": "editor", "new_text": "skipjack"}, id="e1")
WRITE = ScriptedToolCall("write", {"path": "new.py", "content": "x = 1\n"}, id="w1")


class EditorClient(RecordingClient):
    """An editor with open buffers: reads come from them, writes go into them."""

    def __init__(self, buffers: dict[str, str], *, refuse: bool = False) -> None:
        super().__init__()
        self.buffers = buffers
        self.refuse = refuse
        self.reads: list[str] = []
        self.writes: list[tuple[str, str]] = []

    async def read_text_file(self, session_id: str, path: str, **kwargs: Any) -> schema.ReadTextFileResponse:
        self.reads.append(path)
        if self.refuse:
            raise acp.RequestError.invalid_params({"path": "outside the workspace"})
        if path in self.buffers:
            return schema.ReadTextFileResponse(content=self.buffers[path])
        return schema.ReadTextFileResponse(content=Path(path).read_text())

    async def write_text_file(self, session_id: str, path: str, content: str, **kwargs: Any) -> None:
        self.writes.append((path, content))
        self.buffers[path] = content


async def _editor_session(client: EditorClient, tmp_path: Path, project: Path, body: Any) -> int:
    async with acp.spawn_agent_process(
        client, str(SKIPJACK), "acp", "--approval", "auto-edit", cwd=project, env=_env(tmp_path)
    ) as (conn, process):
        caps = schema.ClientCapabilities(fs=schema.FileSystemCapabilities(read_text_file=True, write_text_file=True))
        await asyncio.wait_for(
            conn.initialize(protocol_version=acp.PROTOCOL_VERSION, client_capabilities=caps), TIMEOUT
        )
        await asyncio.wait_for(body(conn), 120)
        assert process.stdin is not None
        process.stdin.close()
        return await asyncio.wait_for(process.wait(), TIMEOUT)


def test_reads_see_the_unsaved_buffer_and_edits_go_to_the_editor(
    tmp_path: Path, project: Path, server: SSEServer
) -> None:
    hello = project / "hello.py"
    client = EditorClient({str(hello): 'print("hello editor")\n'})  # unsaved: the disk says "world"

    async def body(conn: Any) -> None:
        new = await conn.new_session(cwd=str(project), mcp_servers=[])
        server.enqueue(
            turn_reply(ScriptedTurn(text="Reading.", tool_calls=[READ])),
            turn_reply(ScriptedTurn(text="Editing.", tool_calls=[EDIT, WRITE])),
            turn_reply(ScriptedTurn(text="Done.")),
        )
        client.decide = select("allow_once")
        response = await conn.prompt(session_id=new.session_id, prompt=[acp.text_block("greet skipjack")])
        assert response.stop_reason == "end_turn"

    assert asyncio.run(_editor_session(client, tmp_path, project, body)) == 0
    # The model saw the buffer, not the disk.
    tool_results = [m for m in server.requests[1].json()["messages"] if m["role"] == "tool"]
    assert "hello editor" in tool_results[0]["content"]
    assert "hello world" not in tool_results[0]["content"]
    # The edit applied to the buffer and went to the editor; the disk is untouched.
    assert (str(hello), 'print("hello skipjack")\n') in client.writes
    assert (str(project / "new.py"), "x = 1\n") in client.writes
    assert hello.read_text() == 'print("hello world")\n'
    assert not (project / "new.py").exists()
    # The diff the editor shows is the buffer's change.
    ends = [u for u in client.of_kind("tool_call_update") if u.tool_call_id == "e1" and u.status == "completed"]
    diffs = [c for c in ends[-1].content if c.type == "diff"]
    assert (diffs[0].old_text, diffs[0].new_text) == ('print("hello editor")\n', 'print("hello skipjack")\n')


def test_an_editor_that_refuses_gives_the_model_an_error_not_a_crash(
    tmp_path: Path, project: Path, server: SSEServer
) -> None:
    client = EditorClient({}, refuse=True)

    async def body(conn: Any) -> None:
        new = await conn.new_session(cwd=str(project), mcp_servers=[])
        server.enqueue(
            turn_reply(ScriptedTurn(text="Reading.", tool_calls=[READ])),
            turn_reply(ScriptedTurn(text="Could not read it.")),
        )
        response = await conn.prompt(session_id=new.session_id, prompt=[acp.text_block("read it")])
        assert response.stop_reason == "end_turn"

    assert asyncio.run(_editor_session(client, tmp_path, project, body)) == 0
    tool_results = [m for m in server.requests[1].json()["messages"] if m["role"] == "tool"]
    assert "the editor could not give its text" in tool_results[0]["content"]
    assert "outside the workspace" in tool_results[0]["content"]
