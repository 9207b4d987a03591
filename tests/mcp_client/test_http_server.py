"""The MCP client against a Streamable HTTP server written with the SDK's server side
(`http_server.py`): results of every kind, progress, a changing tool list, a slow call
cancelled by an abort, a crash mid-call; and restart-once over stdio."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import isolated_env
from tests.mcp_client.conftest import HTTP_SERVER, HttpServer

from skipjack.controller import Controller, to_json
from skipjack.runtime import RunOptions
from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import stalled_reply, turn_reply


def _controller(tmp_path: Path, server: SSEServer, mcp_toml: str, *, approval: str = "yolo") -> Controller:
    env = isolated_env(tmp_path)
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text(
        f"""model = "scripted/m1"
approval_mode = "{approval}"
[providers.scripted]
base_url = "{server.url}"
api = "openai-chat"
[providers.scripted.models.m1]
context_window = 100000
images = true
{mcp_toml}
"""
    )
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    return Controller.build(RunOptions(cwd=project), env=env, record_sessions=False)


def _http(srv: HttpServer) -> str:
    return f'[mcp.servers.t]\nurl = "{srv.url}"\n'


def _events(controller: Controller) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    controller.subscribe(lambda e: seen.append(to_json(e)))
    return seen


def _tool_messages(server: SSEServer, index: int) -> dict[str, Any]:
    return {m["tool_call_id"]: m for m in server.requests[index].json()["messages"] if m["role"] == "tool"}


async def test_results_progress_errors_and_images(tmp_path: Path, server: SSEServer, http_server: HttpServer) -> None:
    controller = _controller(tmp_path, server, _http(http_server))
    seen = _events(controller)
    calls = [
        ScriptedToolCall("mcp__t__count", {"steps": 3}, id="count"),
        ScriptedToolCall("mcp__t__fail", {}, id="fail"),
        ScriptedToolCall("mcp__t__picture", {}, id="pic"),
        ScriptedToolCall("mcp__t__echo", {"text": "hi there"}, id="echo"),
        ScriptedToolCall("mcp__t__echo", {"text": 5}, id="badargs"),
    ]
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=calls)), turn_reply(ScriptedTurn(text="done")))
    try:
        result = await controller.prompt("go")
    finally:
        controller.close()
    assert result.stop_reason == "completed"
    updates = [e.get("partial", e) for e in seen if e["type"] == "tool_execution_update"]
    progress = json.dumps([u for u in updates])
    assert "progress 1/3: step 1" in progress
    assert "progress 3/3: step 3" in progress
    ends = {e["tool_call_id"]: e for e in seen if e["type"] == "tool_execution_end"}
    assert ends["fail"]["is_error"]
    assert not ends["echo"]["is_error"]
    assert ends["badargs"]["is_error"], "the server's own validation error is an error result"
    results = _tool_messages(server, 1)
    assert "counted to 3" in json.dumps(results["count"])
    assert "echo: hi there" in json.dumps(results["echo"])
    assert "fail" in json.dumps(results["fail"])
    assert "iVBORw0KGgo" in json.dumps(server.requests[1].json()), "the image reached the model"


async def test_output_is_capped_and_the_rest_spooled(
    tmp_path: Path, server: SSEServer, http_server: HttpServer
) -> None:
    controller = _controller(tmp_path, server, _http(http_server))
    seen = _events(controller)
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("mcp__t__flood", {"lines": 20000}, id="f")])),
        turn_reply(ScriptedTurn(text="ok")),
    )
    try:
        await controller.prompt("go")
    finally:
        controller.close()
    text = json.dumps(_tool_messages(server, 1)["f"])
    assert len(text) < 80_000, len(text)
    assert "output cut; full output in" in text
    end = next(e for e in seen if e["type"] == "tool_execution_end")
    path = Path(end["details"]["full_output_path"])
    assert path.read_text().count("\n") >= 19_999


async def test_tool_list_change_reaches_the_next_prompt(
    tmp_path: Path, server: SSEServer, http_server: HttpServer
) -> None:
    controller = _controller(tmp_path, server, _http(http_server))
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("mcp__t__add_tool", {"name": "late"})])),
        turn_reply(ScriptedTurn(text="added")),
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("mcp__t__late", {}, id="late")])),
        turn_reply(ScriptedTurn(text="used it")),
    )
    try:
        await controller.prompt("add one")
        names = [t["function"]["name"] for t in server.requests[0].json()["tools"]]
        assert "mcp__t__late" not in names
        for _ in range(100):  # the notification is handled on the MCP loop
            if "mcp__t__late" in controller.mcp.statuses()[0].tools:
                break
            await asyncio.sleep(0.05)
        result = await controller.prompt("use it")
    finally:
        controller.close()
    names = [t["function"]["name"] for t in server.requests[2].json()["tools"]]
    assert "mcp__t__late" in names
    assert result.stop_reason == "completed"
    assert "late here" in json.dumps(_tool_messages(server, 3)["late"])


async def test_abort_cancels_the_call_on_the_server(tmp_path: Path, server: SSEServer, http_server: HttpServer) -> None:
    controller = _controller(tmp_path, server, _http(http_server))
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("mcp__t__slow", {"seconds": 120}, id="s")])),
        stalled_reply(ScriptedTurn(text="never")),
    )
    run = asyncio.create_task(controller.prompt("go"))
    started = http_server.markers / "slow-started"
    try:
        for _ in range(600):
            if started.exists():
                break
            await asyncio.sleep(0.05)
        assert started.exists(), "the slow tool never started"
        began = time.monotonic()
        controller.abort()
        result = await asyncio.wait_for(run, 10)
        assert result.stop_reason == "aborted"
        assert time.monotonic() - began < 5
        cancelled = http_server.markers / "cancelled"
        for _ in range(200):
            if cancelled.exists():
                break
            await asyncio.sleep(0.05)
        assert cancelled.exists(), "the server never got notifications/cancelled"
    finally:
        controller.close()


async def test_a_crash_mid_call_is_an_error_result_and_the_server_is_reported(
    tmp_path: Path, server: SSEServer, http_server: HttpServer
) -> None:
    controller = _controller(tmp_path, server, _http(http_server))
    seen = _events(controller)
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("mcp__t__crash", {}, id="c")])),
        turn_reply(ScriptedTurn(text="it crashed")),
        turn_reply(ScriptedTurn(text="still here")),
    )
    try:
        result = await asyncio.wait_for(controller.prompt("crash it"), 60)
        assert result.stop_reason == "completed"
        assert "stopped during the call" in json.dumps(_tool_messages(server, 1)["c"])
        ends = [e for e in seen if e["type"] == "tool_execution_end"]
        assert ends[0]["is_error"]
        assert await asyncio.wait_for(controller.prompt("and now?"), 60)
    finally:
        controller.close()
    states = [e for e in seen if e["type"] == "mcp_server"]
    assert states[0]["state"] == "ready"
    assert any(e["state"] == "dead" for e in states), states


async def test_a_dead_stdio_server_is_restarted_once(tmp_path: Path, server: SSEServer) -> None:
    markers = tmp_path / "m"
    markers.mkdir()
    toml = f'[mcp.servers.s]\ncommand = "{sys.executable}"\nargs = ["{HTTP_SERVER}", "stdio", "{markers}"]\n'
    controller = _controller(tmp_path, server, toml)
    calls = [
        [ScriptedToolCall("mcp__s__crash", {}, id="crash1")],
        [ScriptedToolCall("mcp__s__echo", {"text": "back"}, id="echo1")],
        [ScriptedToolCall("mcp__s__crash", {}, id="crash2")],
        [ScriptedToolCall("mcp__s__echo", {"text": "again"}, id="echo2")],
    ]
    for batch in calls:
        server.enqueue(turn_reply(ScriptedTurn(tool_calls=batch)))
    server.enqueue(turn_reply(ScriptedTurn(text="end")))
    seen = _events(controller)
    try:
        await asyncio.wait_for(controller.prompt("go"), 90)
    finally:
        controller.close()
    ends = {e["tool_call_id"]: e for e in seen if e["type"] == "tool_execution_end"}
    assert ends["crash1"]["is_error"]
    assert not ends["echo1"]["is_error"], ends["echo1"]  # restarted
    assert ends["crash2"]["is_error"]
    assert ends["echo2"]["is_error"]  # only once
    assert "not available" in json.dumps(ends["echo2"]["result"])


async def test_prompts_and_resources_reach_the_model(
    tmp_path: Path, server: SSEServer, http_server: HttpServer
) -> None:
    from skipjack.errors import UserError
    from skipjack.tui import mcp as tui_mcp

    controller = _controller(tmp_path, server, _http(http_server))
    server.enqueue(turn_reply(ScriptedTurn(text="hi Ada")), turn_reply(ScriptedTurn(text="read it")))
    try:
        await controller.mcp.before_prompt()
        (state,) = controller.state()["mcp_servers"]  # what `rpc get_state` shows
        assert state["name"] == "t"
        assert state["state"] == "ready"
        assert "mcp__t__greet" not in state["tools"]
        assert "mcp__t__echo" in state["tools"]
        names = dict(tui_mcp.prompt_completions(controller))
        assert "mcp__t__greet" in names
        assert "<who>" in names["mcp__t__greet"]
        completion = tui_mcp.resource_completion(controller, "see @t:no")
        assert completion is not None
        assert [i.value for i in completion.items] == ["@t:notes://readme "]
        assert tui_mcp.resource_completion(controller, "mail@t:no") is None
        await controller.prompt("/mcp__t__greet Ada")
        assert server.requests[0].json()["messages"][-1]["content"] == "Please greet Ada warmly."
        # A mention of a server that is not configured (an e-mail, a handle) stays as typed.
        await controller.prompt("look at @t:notes://readme and ask @bob:later")
        sent = server.requests[1].json()["messages"][-1]["content"]
        assert sent.startswith("look at @t:notes://readme and ask @bob:later")
        assert "the notes say hello" in sent
        with pytest.raises(UserError, match="missing who"):
            await controller.prompt("/mcp__t__greet")
        with pytest.raises(UserError, match="no MCP server offers"):
            await controller.prompt("/mcp__t__nothing")
        with pytest.raises(UserError, match="@t:notes://missing"):
            await controller.prompt("read @t:notes://missing")
    finally:
        controller.close()
    assert len(server.requests) == 2, "a refused prompt sends nothing"


async def test_a_server_speaking_only_http_sse_is_reached_by_the_fallback(tmp_path: Path, server: SSEServer) -> None:
    from tests.mcp_client.conftest import start_http_server

    srv = start_http_server(tmp_path, sse=True)
    try:
        controller = _controller(tmp_path, server, _http(srv))
        server.enqueue(
            turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("mcp__t__echo", {"text": "old"}, id="e")])),
            turn_reply(ScriptedTurn(text="ok")),
        )
        try:
            await controller.prompt("go")
        finally:
            controller.close()
        assert "echo: old" in json.dumps(_tool_messages(server, 1)["e"])
    finally:
        srv.proc.kill()
        srv.proc.wait(10)
