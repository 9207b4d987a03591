"""Stdio servers that misbehave (`hostile_server.py`), over the pipes the session hands to the
SDK: one that never answers `initialize`, one that prints garbage on stdout, tool names and
schemas a provider would reject, a result of several MB."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import isolated_env

from skipjack.controller import Controller, to_json
from skipjack.mcp.pipes import LineSplitter, MessageTooLarge
from skipjack.runtime import RunOptions
from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

HOSTILE = Path(__file__).with_name("hostile_server.py")
SAFE_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _server(name: str, mode: str, extra: str = "") -> str:
    return f'[mcp.servers.{name}]\ncommand = "{sys.executable}"\nargs = ["{HOSTILE}", "{mode}"]\n{extra}'


def _controller(tmp_path: Path, server: SSEServer, mcp_toml: str, *, api: str = "openai-chat") -> Controller:
    env = isolated_env(tmp_path)
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text(
        f"""model = "scripted/m1"
approval_mode = "yolo"
[providers.scripted]
base_url = "{server.url}"
api = "{api}"
[providers.scripted.models.m1]
context_window = 100000
{mcp_toml}
"""
    )
    project = tmp_path / "project"
    project.mkdir(exist_ok=True)
    return Controller.build(RunOptions(cwd=project), env=env, record_sessions=False)


def _events(controller: Controller) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    controller.subscribe(lambda e: seen.append(to_json(e)))
    return seen


def _tool_results(server: SSEServer, index: int) -> dict[str, str]:
    return {
        m["tool_call_id"]: m["content"] if isinstance(m["content"], str) else json.dumps(m["content"])
        for m in server.requests[index].json()["messages"]
        if m["role"] == "tool"
    }


def _pids_of(mode: str) -> set[int]:
    """Live (not zombie) processes running `hostile_server.py MODE`."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(HOSTILE).encode() in cmdline and mode.encode() in cmdline and state != "Z":
            found.add(int(entry.name))
    return found


async def test_a_server_that_never_answers_fails_in_its_timeout_and_the_rest_work(
    tmp_path: Path, server: SSEServer
) -> None:
    before = _pids_of("silent")
    toml = _server("mute", "silent", "startup_timeout_s = 1.0\n") + _server("noisy", "garbage")
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("mcp__noisy__echo", {"text": "hi"}, id="e1")])),
        turn_reply(ScriptedTurn(text="done")),
    )
    began = time.monotonic()
    controller = _controller(tmp_path, server, toml)
    seen = _events(controller)
    try:
        await asyncio.wait_for(controller.prompt("go"), 60)
        waited = time.monotonic() - began
        states = {s.name: s for s in controller.mcp.statuses()}
        assert states["mute"].state == "failed"
        assert "startup_timeout_s" in (states["mute"].error or "")
        # A program that prints a banner, invalid UTF-8 and half a JSON array on stdout still
        # gets its answers through: the junk lines are dropped, not fatal.
        assert states["noisy"].state == "ready", states["noisy"].error
    finally:
        controller.close()
    assert _tool_results(server, 1)["e1"] == "echo: hi"
    warnings = [e["message"] for e in seen if e["type"] == "warning"]
    assert any('"mute" did not start' in w for w in warnings)
    # The first prompt waited for the silent one at most its timeout (1 s), plus the start.
    assert waited < 1.0 + 15, waited
    for _ in range(100):  # up to 10 s
        if not _pids_of("silent") - before:
            break
        await asyncio.sleep(0.1)
    assert not _pids_of("silent") - before, "the silent server's program was left running"


async def test_hostile_tool_names_and_schemas(tmp_path: Path, server: SSEServer) -> None:
    long_name = "x" * 200
    controller = _controller(tmp_path, server, _server("n", "names"))
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("mcp__n__a__b", {"text": "1"}, id="ab")])),
        turn_reply(ScriptedTurn(text="done")),
    )
    try:
        await controller.mcp.before_prompt()
        (status,) = controller.mcp.statuses()
        assert status.state == "ready", status.error
        exposed = status.tools
        assert all(SAFE_NAME.match(n) for n in exposed), exposed
        assert len(set(exposed)) == len(exposed)
        table = controller.runtime.policy.mcp_tools
        real = {table[n][1] for n in exposed}
        # `__` inside a tool's name is kept (the server's name cannot hold `__`, so the split is
        # unambiguous); 200 characters are cut with a hash, two such names stay apart.
        assert {"a__b", long_name, "x" * 199 + "y", "dot.ted", "echo", "self"} <= real
        assert "dot_ted" not in real  # the same name as `dot.ted` once made safe: skipped, said so
        assert "string" not in real
        assert "remote" not in real
        assert "tree" not in real  # its $refs fan out in a cycle (see the Gemini test below)
        joined = " ".join(status.warnings)
        assert "'dot_ted' skipped" in joined
        assert "'string' skipped" in joined
        assert "'remote' skipped" in joined
        assert "'tree' skipped" in joined
        long_exposed = next(n for n in exposed if table[n][1] == long_name)
        server.enqueue(
            turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall(long_exposed, {"text": "2"}, id="long")])),
            turn_reply(ScriptedTurn(text="done")),
        )
        await asyncio.wait_for(controller.prompt("go"), 60)
        await asyncio.wait_for(controller.prompt("again"), 60)
    finally:
        controller.close()
    assert _tool_results(server, 1)["ab"] == "a__b: 1"
    assert _tool_results(server, 3)["long"] == f"{long_name}: 2"
    sent = {t["function"]["name"]: t["function"]["parameters"] for t in server.requests[0].json()["tools"]}
    assert set(exposed) <= set(sent)


async def test_a_recursive_schema_does_not_blow_up_a_request_to_gemini(tmp_path: Path, server: SSEServer) -> None:
    """Gemini takes no `$ref`: the core inlines references. A schema whose references fan out
    in a cycle must not grow the request without bound."""
    from skipjack.testing import gemini_turn

    controller = _controller(tmp_path, server, _server("n", "names"), api="google-gemini")
    server.enqueue(gemini_turn(ScriptedTurn(text="fine")))
    try:
        began = time.monotonic()
        await asyncio.wait_for(controller.prompt("hi"), 60)
        took = time.monotonic() - began
    finally:
        controller.close()
    body = server.requests[0].body
    assert len(body) < 2 * 1024 * 1024, len(body)
    assert took < 30


async def test_a_result_of_several_megabytes_is_capped_and_spooled(tmp_path: Path, server: SSEServer) -> None:
    size = 3 * 1024 * 1024
    controller = _controller(tmp_path, server, _server("h", "huge"))
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("mcp__h__big", {"bytes": size}, id="big")])),
        turn_reply(ScriptedTurn(text="done")),
    )
    try:
        await asyncio.wait_for(controller.prompt("go"), 60)
    finally:
        controller.close()
    result = _tool_results(server, 1)["big"]
    assert len(result) < 200 * 1024
    spooled = re.search(r"(/[^\s\]\)]+)", result[-2000:])
    assert spooled is not None, result[-500:]
    path = Path(spooled.group(1).rstrip("."))
    assert path.is_file()
    assert path.stat().st_size >= size - len(result)


@pytest.mark.parametrize("mode", ["huge", "huge-id-last"])
async def test_an_answer_over_the_line_limit_fails_its_call_at_once(
    tmp_path: Path, server: SSEServer, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    # The answer is dropped unread; the call must fail now with the reason, not wait out its
    # 120 s timeout for an answer that will never come. The server keeps working afterwards.
    monkeypatch.setattr("skipjack.mcp.pipes.MAX_LINE", 1024 * 1024)
    controller = _controller(tmp_path, server, _server("h", mode, "tool_timeout_s = 120"))
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("mcp__h__big", {"bytes": 3 * 1024 * 1024}, id="big")])),
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("mcp__h__big", {"bytes": 100}, id="small")])),
        turn_reply(ScriptedTurn(text="done")),
    )
    began = time.monotonic()
    try:
        await asyncio.wait_for(controller.prompt("go"), 60)
    finally:
        controller.close()
    assert time.monotonic() - began < 30
    assert "was dropped" in _tool_results(server, 1)["big"]
    assert "0123456789abcde" in _tool_results(server, 2)["small"]


@pytest.mark.parametrize(
    ("head", "tail", "found"),
    [
        (b'{"jsonrpc": "2.0", "id": 7, "result": {"content": [', b"]}}", 7),
        (b'{"id":"req-\\"x","jsonrpc":"2.0","result":{', b"}}", 'req-"x'),
        (b'{"result": {"id": 99, "text": "', b'"}, "jsonrpc": "2.0", "id": 12}', 12),
        (b'{"result": {"id": 99, "text": "', b'", "id": 5}}', None),  # a nested id only
        (b'{"jsonrpc": "2.0", "result": {"id": 99', b"}}", None),
        (b'{"jsonrpc": "2.0", "id": {"x": 1}, ', b"}", None),
        (b'{"jsonrpc": "2.0", "id": 1' + b"9" * 40 + b", ", b"}", None),
    ],
)
def test_the_id_of_a_dropped_answer(head: bytes, tail: bytes, found: object) -> None:
    from skipjack.mcp.pipes import find_request_id

    assert find_request_id(head, tail) == found


@pytest.mark.parametrize("split", [1, 5, 64, 100_000])
def test_an_overlong_line_keeps_its_id(split: int) -> None:
    line = b'{"jsonrpc": "2.0", "id": 42, "result": "' + b"x" * 5000 + b'"}\n'
    last = b'{"result": "' + b"y" * 5000 + b'", "jsonrpc": "2.0", "id": "k"}\n'
    data = line + b'{"ok": 1}\n' + last
    splitter = LineSplitter(limit=1000)
    out: list[bytes | Exception] = []
    for i in range(0, len(data), split):
        out += splitter.feed(data[i : i + split])
    assert [getattr(o, "request_id", o) for o in out] == [42, b'{"ok": 1}', "k"]


def test_an_overlong_line_that_never_ends_fails_its_call_at_once() -> None:
    splitter = LineSplitter(limit=1000)
    out = splitter.feed(b'{"jsonrpc": "2.0", "id": 9, "result": "' + b"x" * 2000)
    assert [getattr(o, "request_id", o) for o in out] == [9]
    assert splitter.feed(b"y" * 100_000) == []
    # When the line does end, it is not reported (nor its id answered) twice.
    assert splitter.feed(b'"}\n{"ok": 1}\n') == [b'{"ok": 1}']


@pytest.mark.parametrize(
    ("schema", "kept"),
    [
        ({"type": "object", "properties": {"next": {"$ref": "#"}}}, True),  # a linked list
        (
            {
                "type": "object",
                "properties": {"root": {"$ref": "#/$defs/n"}},
                "$defs": {
                    "n": {"type": "object", "properties": {"kids": {"type": "array", "items": {"$ref": "#/$defs/n"}}}}
                },
            },
            True,
        ),
        (
            {"type": "object", "properties": {f"p{i}": {"$ref": "#"} for i in range(6)}},
            False,
        ),
        (  # no cycle: a chain of definitions, each used twice by the one before (2^30 once inlined)
            {
                "type": "object",
                "properties": {"a": {"$ref": "#/$defs/d0"}},
                "$defs": {
                    f"d{i}": {
                        "type": "object",
                        "properties": {"x": {"$ref": f"#/$defs/d{i + 1}"}, "y": {"$ref": f"#/$defs/d{i + 1}"}},
                    }
                    for i in range(30)
                },
            },
            False,
        ),
        ({"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}, "b": {"$ref": "#/~1x/0"}}}, True),
    ],
)
def test_reference_bombs_are_skipped_and_recursion_kept(schema: dict[str, Any], kept: bool) -> None:
    from skipjack.mcp.schema import check_schema

    began = time.monotonic()
    checked = check_schema(schema)
    assert (checked.schema is not None) == kept, checked.notes
    assert time.monotonic() - began < 2


@pytest.mark.parametrize("split", [1, 7, 4096])
def test_line_splitter_bounds_every_line(split: int) -> None:
    data = b'{"a":1}\n' + b"y" * 100 + b"\n" + b'{"b":2}\n\n' + b"z" * 30 + b"\n" + b"tail"
    splitter = LineSplitter(limit=64)
    out: list[bytes | Exception] = []
    for i in range(0, len(data), split):
        out += splitter.feed(data[i : i + split])
    kinds = [o if isinstance(o, bytes) else type(o) for o in out]
    assert kinds == [b'{"a":1}', MessageTooLarge, b'{"b":2}', b"", b"z" * 30]
    assert splitter.feed(b"\n") == [b"tail"]


def test_the_program_gets_the_small_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from skipjack.mcp.spawn import server_env

    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("PATH", os.environ.get("PATH", "/usr/bin"))
    env = server_env({"EXTRA": "1"})
    assert "OPENAI_API_KEY" not in env
    assert env["EXTRA"] == "1"
    assert env["PATH"]
