"""The SDK's session over the pipes of a program spawned before it loaded (`mcp.pipes`):
progress notifications come in, and an abort's `notifications/cancelled` goes out."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from tests.mcp_client.conftest import HTTP_SERVER
from tests.mcp_client.test_hostile_stdio import _controller, _events

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import stalled_reply, turn_reply


async def test_progress_in_and_cancellation_out_over_stdio(tmp_path: Path, server: SSEServer) -> None:
    markers = tmp_path / "m"
    markers.mkdir()
    toml = f'[mcp.servers.t]\ncommand = "{sys.executable}"\nargs = ["{HTTP_SERVER}", "stdio", "{markers}"]\n'
    controller = _controller(tmp_path, server, toml)
    seen = _events(controller)
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("mcp__t__count", {"steps": 3}, id="count")])),
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("mcp__t__slow", {"seconds": 120}, id="s")])),
        stalled_reply(ScriptedTurn(text="never")),
    )
    run = asyncio.create_task(controller.prompt("go"))
    started = markers / "slow-started"
    try:
        for _ in range(600):
            if started.exists() or run.done():
                break
            await asyncio.sleep(0.05)
        assert started.exists(), "the slow tool never started"
        began = time.monotonic()
        controller.abort()
        result = await asyncio.wait_for(run, 10)
        assert result.stop_reason == "aborted"
        assert time.monotonic() - began < 5
        for _ in range(200):
            if (markers / "cancelled").exists():
                break
            await asyncio.sleep(0.05)
        assert (markers / "cancelled").exists(), "the server never got notifications/cancelled"
    finally:
        controller.close()
    updates = json.dumps([e for e in seen if e["type"] == "tool_execution_update"])
    assert "progress 3/3: step 3" in updates
    assert "counted to 3" in json.dumps(server.requests[1].json())
