"""The MCP servers an editor passes in `session/new` run for that session: a real
`mcp-server-time` over stdio, called by the scripted model, its result in the next request;
a server the editor names that cannot start is a warning, not a failed session."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import acp
from acp import schema
from tests.acp.test_acp_e2e import RecordingClient, _session, select
from tests.mcp_client.conftest import TIME_SERVER

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply


def test_the_editors_stdio_server_runs_and_its_result_reaches_the_model(
    tmp_path: Path, project: Path, server: SSEServer
) -> None:
    call = ScriptedToolCall("mcp__clock__get_current_time", {"timezone": "Asia/Tokyo"}, id="t1")
    server.enqueue(
        turn_reply(ScriptedTurn(text="Checking the time.", tool_calls=[call])),
        turn_reply(ScriptedTurn(text="It is late in Tokyo.")),
    )
    client = RecordingClient()
    client.decide = select("allow_once")
    servers = [
        schema.McpServerStdio(
            name="clock",
            command=str(TIME_SERVER),
            args=["--local-timezone", "UTC"],
            env=[schema.EnvVariable(name="TZ", value="UTC")],
        ),
        schema.McpServerStdio(name="bad name__x", command="true", args=[], env=[]),
    ]

    async def body(conn: Any, process: Any) -> None:
        new = await conn.new_session(cwd=str(project), mcp_servers=servers)
        response = await conn.prompt(session_id=new.session_id, prompt=[acp.text_block("what time is it in Tokyo")])
        assert response.stop_reason == "end_turn"

    assert asyncio.run(_session(client, tmp_path, project, body)) == 0
    offered = {t["function"]["name"] for t in server.requests[0].json()["tools"]}
    assert "mcp__clock__get_current_time" in offered
    results = [m["content"] for m in server.requests[1].json()["messages"] if m["role"] == "tool"]
    assert any("Asia/Tokyo" in r for r in results), results
    assert "It is late in Tokyo." in client.text()


def test_initialize_offers_http_and_sse_mcp(tmp_path: Path, project: Path, server: SSEServer) -> None:
    client = RecordingClient()
    seen: dict[str, Any] = {}

    async def body(conn: Any, process: Any) -> None:
        init = await conn.initialize(protocol_version=acp.PROTOCOL_VERSION)
        seen["mcp"] = init.agent_capabilities.mcp_capabilities

    assert asyncio.run(_session(client, tmp_path, project, body)) == 0
    assert seen["mcp"].http is True
    assert seen["mcp"].sse is True
