"""`skipjack acp` end to end: a real subprocess driven by the `agent-client-protocol` package's
client side against the scripted loopback model: streamed updates, permission requests
answered every way, diffs, modes, cancel mid-tool and mid-question, and loading a session."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import acp
import pytest
from acp import schema
from tests.cli.helpers import SKIPJACK, isolated_env

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

EDIT = ScriptedToolCall("edit", {"path": "hello.py", "old_text": "world", "new_text": "skipjack"}, id="e1")
SLEEP = ScriptedToolCall("bash", {"command": "sleep 30; echo late > late.txt"}, id="b1")
TIMEOUT = 30
SIGNAL_DELAY = 0.5
"""After the command is seen running. Not 0: a signal in the first moments of a sandboxed
command leaves it running (bwrap survives); `skipjack rpc` does the same. That race is in the
bash tool, not in this front end (reported to the integrator)."""

Decide = Callable[[schema.ToolCallUpdate, list[schema.PermissionOption]], Awaitable[schema.RequestPermissionResponse]]


class RecordingClient:
    """The editor's side: records every update; permission questions go to `decide`."""

    def __init__(self) -> None:
        self.updates: list[tuple[str, Any]] = []
        self.permission_requests: list[tuple[schema.ToolCallUpdate, list[schema.PermissionOption]]] = []
        self.decide: Decide | None = None
        self.changed = asyncio.Event()

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        self.updates.append((session_id, update))
        self.changed.set()

    async def request_permission(
        self, session_id: str, tool_call: schema.ToolCallUpdate, options: list[schema.PermissionOption], **kwargs: Any
    ) -> schema.RequestPermissionResponse:
        self.permission_requests.append((tool_call, options))
        self.changed.set()
        assert self.decide is not None, "an unexpected permission request"
        return await self.decide(tool_call, options)

    def on_connect(self, conn: Any) -> None:
        pass

    async def wait_for(self, predicate: Callable[[], bool]) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not predicate():
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out; updates: {[u for _, u in self.updates]}"
            self.changed.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                # Woken by an update, and polled too: some predicates watch the machine, not updates.
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.1))

    def of_kind(self, kind: str) -> list[Any]:
        return [u for _, u in self.updates if u.session_update == kind]

    def text(self, kind: str = "agent_message_chunk") -> str:
        return "".join(u.content.text for u in self.of_kind(kind))


def select(kind: str) -> Decide:
    async def decide(
        tool_call: schema.ToolCallUpdate, options: list[schema.PermissionOption]
    ) -> schema.RequestPermissionResponse:
        option = next(o for o in options if o.kind == kind)
        return schema.RequestPermissionResponse(
            outcome=schema.AllowedOutcome(outcome="selected", option_id=option.option_id)
        )

    return decide


def _env(tmp_path: Path) -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")} | isolated_env(tmp_path)


async def _session(
    client: RecordingClient,
    tmp_path: Path,
    project: Path,
    body: Callable[[Any, asyncio.subprocess.Process], Awaitable[None]],
) -> int:
    async with acp.spawn_agent_process(
        client, str(SKIPJACK), "acp", "--approval", "ask", cwd=project, env=_env(tmp_path)
    ) as (conn, process):
        init = await asyncio.wait_for(conn.initialize(protocol_version=acp.PROTOCOL_VERSION), TIMEOUT)
        assert init.agent_capabilities is not None
        assert init.agent_capabilities.load_session is True
        await asyncio.wait_for(body(conn, process), 120)
        assert process.stdin is not None
        process.stdin.close()
        return await asyncio.wait_for(process.wait(), TIMEOUT)


def test_prompt_streams_updates_asks_permission_and_sends_a_diff(
    tmp_path: Path, project: Path, server: SSEServer
) -> None:
    client = RecordingClient()
    hello = project / "hello.py"
    seen_before_answer: list[str] = []

    async def allow_once(tool_call: schema.ToolCallUpdate, options: list[schema.PermissionOption]) -> Any:
        seen_before_answer.append(hello.read_text())
        # The tool call was announced before the question.
        assert any(u.tool_call_id == "e1" for u in client.of_kind("tool_call"))
        return await select("allow_once")(tool_call, options)

    async def body(conn: Any, process: Any) -> None:
        new = await conn.new_session(cwd=str(project), mcp_servers=[])
        assert new.session_id
        assert new.modes.current_mode_id == "ask"
        assert {m.id for m in new.modes.available_modes} == {"ask", "auto-edit", "plan", "yolo"}
        server.enqueue(
            turn_reply(ScriptedTurn(text="I'll edit it.", thinking="The file says world.", tool_calls=[EDIT])),
            turn_reply(ScriptedTurn(text="Edited it.")),
        )
        client.decide = allow_once
        response = await conn.prompt(session_id=new.session_id, prompt=[acp.text_block("make it greet skipjack")])
        assert response.stop_reason == "end_turn"
        assert all(sid == new.session_id for sid, _ in client.updates)

    assert asyncio.run(_session(client, tmp_path, project, body)) == 0
    assert seen_before_answer == ['print("hello world")\n']  # nothing written before the answer
    assert hello.read_text() == 'print("hello skipjack")\n'
    assert client.text() == "I'll edit it.Edited it."
    assert "The file says world." in client.text("agent_thought_chunk")
    [start] = client.of_kind("tool_call")
    assert (start.tool_call_id, start.kind, start.status) == ("e1", "edit", "pending")
    assert start.locations[0].path == str(project / "hello.py")
    [(asked, options)] = client.permission_requests
    assert asked.tool_call_id == "e1"
    assert {o.kind for o in options} == {"allow_once", "allow_always", "reject_once"}
    progress = [u for u in client.of_kind("tool_call_update") if u.tool_call_id == "e1"]
    assert [u.status for u in progress] == ["in_progress", "completed"]
    diffs = [c for c in progress[-1].content if c.type == "diff"]
    assert len(diffs) == 1
    assert diffs[0].path == str(project / "hello.py")
    assert diffs[0].old_text == 'print("hello world")\n'
    assert diffs[0].new_text == 'print("hello skipjack")\n'
    # The model got the tool's result and ended its turn.
    assert len(server.requests) == 2
    assert any(m["role"] == "tool" for m in server.requests[1].json()["messages"])


def test_rejected_and_cancelled_permissions_leave_the_file_alone(
    tmp_path: Path, project: Path, server: SSEServer
) -> None:
    client = RecordingClient()
    hello = project / "hello.py"

    async def body(conn: Any, process: Any) -> None:
        sid = (await conn.new_session(cwd=str(project), mcp_servers=[])).session_id
        server.enqueue(
            turn_reply(ScriptedTurn(text="Editing.", tool_calls=[EDIT])),
            turn_reply(ScriptedTurn(text="OK, I won't.")),
        )
        client.decide = select("reject_once")
        response = await conn.prompt(session_id=sid, prompt=[acp.text_block("edit it")])
        assert response.stop_reason == "end_turn"
        [end] = [u for u in client.of_kind("tool_call_update") if u.status is not None]
        assert end.status == "failed"
        assert hello.read_text() == 'print("hello world")\n'
        assert "denied" in str(server.requests[1].json()["messages"][-1]["content"])

        # A question left unanswered, then the prompt cancelled: the turn ends "cancelled".
        never = asyncio.Event()

        async def hang(tool_call: Any, options: Any) -> Any:
            await never.wait()

        client.decide = hang
        server.enqueue(turn_reply(ScriptedTurn(text="Again.", tool_calls=[EDIT])))
        asked = len(client.permission_requests)
        running = asyncio.ensure_future(conn.prompt(session_id=sid, prompt=[acp.text_block("edit it now")]))
        await client.wait_for(lambda: len(client.permission_requests) > asked)
        await conn.cancel(session_id=sid)
        response = await asyncio.wait_for(running, 15)
        assert response.stop_reason == "cancelled"
        assert hello.read_text() == 'print("hello world")\n'

        # Bad requests are errors, and the process lives on.
        with pytest.raises(acp.RequestError):
            await conn.prompt(session_id="not-a-session", prompt=[acp.text_block("hi")])
        with pytest.raises(acp.RequestError):
            await conn.set_session_mode(session_id=sid, mode_id="root")
        with pytest.raises(acp.RequestError):
            await conn.prompt(session_id=sid, prompt=[acp.text_block("   ")])
        with pytest.raises(acp.RequestError):
            await conn.load_session(cwd=str(project), session_id="../../etc", mcp_servers=[])
        with pytest.raises(acp.RequestError):
            await conn.new_session(cwd="relative/dir", mcp_servers=[])

    assert asyncio.run(_session(client, tmp_path, project, body)) == 0


def test_yolo_mode_runs_without_asking_and_cancel_stops_the_tool(
    tmp_path: Path, project: Path, server: SSEServer
) -> None:
    client = RecordingClient()

    async def body(conn: Any, process: Any) -> None:
        sid = (await conn.new_session(cwd=str(project), mcp_servers=[])).session_id
        await conn.set_session_mode(session_id=sid, mode_id="yolo")
        [mode] = client.of_kind("current_mode_update")
        assert mode.current_mode_id == "yolo"
        server.enqueue(turn_reply(ScriptedTurn(text="Sleeping.", tool_calls=[SLEEP])))
        running = asyncio.ensure_future(conn.prompt(session_id=sid, prompt=[acp.text_block("wait a while")]))
        await client.wait_for(lambda: any(u.tool_call_id == "b1" for u in client.of_kind("tool_call")))
        started = time.monotonic()
        await conn.cancel(session_id=sid)
        response = await asyncio.wait_for(running, 15)
        assert response.stop_reason == "cancelled"
        assert time.monotonic() - started < 10
        assert client.permission_requests == []  # yolo never asks
        [start] = client.of_kind("tool_call")
        assert start.kind == "execute"
        await asyncio.sleep(0.5)
        assert not (project / "late.txt").exists()

    assert asyncio.run(_session(client, tmp_path, project, body)) == 0


def test_load_session_replays_the_conversation_and_continues_it(
    tmp_path: Path, project: Path, server: SSEServer
) -> None:
    first = RecordingClient()
    session_ids: list[str] = []

    async def talk(conn: Any, process: Any) -> None:
        sid = (await conn.new_session(cwd=str(project), mcp_servers=[])).session_id
        session_ids.append(sid)
        server.enqueue(turn_reply(ScriptedTurn(text="The answer is 42.")))
        response = await conn.prompt(session_id=sid, prompt=[acp.text_block("what is the answer?")])
        assert response.stop_reason == "end_turn"

    assert asyncio.run(_session(first, tmp_path, project, talk)) == 0
    [sid] = session_ids

    second = RecordingClient()

    async def reload(conn: Any, process: Any) -> None:
        loaded = await conn.load_session(cwd=str(project), session_id=sid, mcp_servers=[])
        assert loaded.modes.current_mode_id == "ask"
        # The history arrived before the response.
        assert second.text("user_message_chunk") == "what is the answer?"
        assert second.text() == "The answer is 42."
        server.enqueue(turn_reply(ScriptedTurn(text="Still 42.")))
        response = await conn.prompt(session_id=sid, prompt=[acp.text_block("and now?")])
        assert response.stop_reason == "end_turn"

    assert asyncio.run(_session(second, tmp_path, project, reload)) == 0
    assert second.text().endswith("Still 42.")
    user_texts = [str(m["content"]) for m in server.requests[-1].json()["messages"] if m["role"] == "user"]
    assert any("what is the answer?" in t for t in user_texts)
    assert any("and now?" in t for t in user_texts)


def test_allow_always_is_not_asked_again_and_a_new_file_comes_as_a_diff_from_nothing(
    tmp_path: Path, project: Path, server: SSEServer
) -> None:
    client = RecordingClient()
    client.decide = select("allow_always")
    touch = ScriptedToolCall("bash", {"command": "touch made-by-bash.txt"}, id="t1")
    touch_again = ScriptedToolCall("bash", {"command": "touch made-by-bash.txt"}, id="t2")
    new_file = ScriptedToolCall("write", {"path": "notes/new.md", "content": "# new\n"}, id="w1")

    async def body(conn: Any, process: Any) -> None:
        sid = (await conn.new_session(cwd=str(project), mcp_servers=[])).session_id
        server.enqueue(
            turn_reply(ScriptedTurn(text="Touching.", tool_calls=[touch])),
            turn_reply(ScriptedTurn(text="Again.", tool_calls=[touch_again])),
            turn_reply(ScriptedTurn(text="Done.")),
        )
        response = await conn.prompt(session_id=sid, prompt=[acp.text_block("touch it twice")])
        assert response.stop_reason == "end_turn"
        # Asked once; the second identical command ran on the rule the first answer added.
        assert [asked.tool_call_id for asked, _ in client.permission_requests] == ["t1"]
        [option] = [o for o in client.permission_requests[0][1] if o.kind == "allow_always"]
        assert "touch" in option.name
        ends = {u.tool_call_id: u.status for u in client.of_kind("tool_call_update") if u.status != "in_progress"}
        assert ends == {"t1": "completed", "t2": "completed"}

        # A prompt while one runs is refused; the running one is untouched.
        await conn.set_session_mode(session_id=sid, mode_id="auto-edit")
        server.enqueue(
            turn_reply(ScriptedTurn(text="Writing.", tool_calls=[new_file], chunk_chars=2), chunk_size=100, pause=0.05),
            turn_reply(ScriptedTurn(text="Written.")),
        )
        running = asyncio.ensure_future(conn.prompt(session_id=sid, prompt=[acp.text_block("write notes")]))
        await client.wait_for(lambda: "Wri" in client.text())
        with pytest.raises(acp.RequestError):
            await conn.prompt(session_id=sid, prompt=[acp.text_block("and another")])
        assert (await asyncio.wait_for(running, TIMEOUT)).stop_reason == "end_turn"

    assert asyncio.run(_session(client, tmp_path, project, body)) == 0
    assert (project / "made-by-bash.txt").exists()
    assert (project / "notes" / "new.md").read_text() == "# new\n"
    [done] = [u for u in client.of_kind("tool_call_update") if u.tool_call_id == "w1" and u.status == "completed"]
    [diff] = [c for c in done.content if c.type == "diff"]
    assert diff.path == str(project / "notes" / "new.md")
    assert diff.old_text is None
    assert diff.new_text == "# new\n"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_mid_tool_kills_the_tool_and_exits_128_plus_the_signal(
    tmp_path: Path, project: Path, server: SSEServer, sig: int
) -> None:
    client = RecordingClient()
    codes: list[int] = []
    marker = f"sleep 37.{sig}9"
    sleeper = ScriptedToolCall("bash", {"command": f"{marker}; echo late > late.txt"}, id="b1")

    async def body(conn: Any, process: Any) -> None:
        sid = (await conn.new_session(cwd=str(project), mcp_servers=[])).session_id
        await conn.set_session_mode(session_id=sid, mode_id="yolo")
        server.enqueue(turn_reply(ScriptedTurn(text="Sleeping.", tool_calls=[sleeper])))
        running = asyncio.ensure_future(conn.prompt(session_id=sid, prompt=[acp.text_block("wait a while")]))
        await client.wait_for(lambda: bool(_processes_running(marker)))
        await asyncio.sleep(SIGNAL_DELAY)
        process.send_signal(sig)
        codes.append(await asyncio.wait_for(process.wait(), 15))
        running.cancel()

    asyncio.run(_session(client, tmp_path, project, body))
    assert codes == [128 + sig]
    left = _processes_running(marker)
    assert left == [], [Path(f"/proc/{pid}/stat").read_text() for pid in left]  # the command died with the run
    assert not (project / "late.txt").exists()
    assert list((tmp_path / "data").rglob("*.jsonl"))  # the session was saved


def _processes_running(marker: str) -> list[int]:
    """Pids whose command line holds `marker` (read from /proc: no ps needed)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if marker.encode() in (entry / "cmdline").read_bytes() and entry.name != str(os.getpid()):
                    found.append(int(entry.name))
    return found


def test_the_model_picker_switches_the_model_and_its_key(tmp_path: Path, project: Path, server: SSEServer) -> None:
    client = RecordingClient()

    async def body(conn: Any, process: Any) -> None:
        new = await conn.new_session(cwd=str(project), mcp_servers=[])
        [option] = new.config_options
        picker = option.root if hasattr(option, "root") else option
        assert (picker.id, picker.current_value) == ("model", "first/m1")
        values = [o.value for o in picker.options]
        assert values[0] == "first/m1"
        assert "second/m2" in values
        assert "nokey/m3" not in values  # no key: it could not answer
        for config_id, value in [("model", "nope/nothing"), ("temperature", "hot"), ("model", "")]:
            with pytest.raises(acp.RequestError):
                await conn.set_config_option(config_id=config_id, session_id=new.session_id, value=value)
        changed = await conn.set_config_option(config_id="model", session_id=new.session_id, value="second/m2")
        assert [o.current_value for o in changed.config_options] == ["second/m2"]
        server.enqueue(turn_reply(ScriptedTurn(text="From m2.")))
        response = await conn.prompt(session_id=new.session_id, prompt=[acp.text_block("who are you?")])
        assert response.stop_reason == "end_turn"

    assert asyncio.run(_session(client, tmp_path, project, body)) == 0
    assert client.text() == "From m2."
    [request] = server.requests
    assert request.headers["authorization"] == "Bearer key-second"
    assert request.json()["model"] == "m2"


def test_todo_list_becomes_the_plan_and_embedded_files_reach_the_model(
    tmp_path: Path, project: Path, server: SSEServer
) -> None:
    client = RecordingClient()
    todo = ScriptedToolCall(
        "todo",
        {"todos": [{"content": "read it", "status": "done"}, {"content": "fix it", "status": "in_progress"}]},
        id="td1",
    )

    async def body(conn: Any, process: Any) -> None:
        sid = (await conn.new_session(cwd=str(project), mcp_servers=[])).session_id
        server.enqueue(
            turn_reply(ScriptedTurn(text="Planned.", tool_calls=[todo])), turn_reply(ScriptedTurn(text="Ok."))
        )
        blocks = [
            acp.text_block("look at this"),
            acp.resource_block(acp.embedded_text_resource("file:///unsaved/buffer.py", "x = 'unsaved edit'\n")),
            acp.resource_link_block("notes.md", "file:///repo/notes.md"),
        ]
        response = await conn.prompt(session_id=sid, prompt=blocks)
        assert response.stop_reason == "end_turn"

    assert asyncio.run(_session(client, tmp_path, project, body)) == 0
    [plan] = client.of_kind("plan")
    assert [(e.content, e.status) for e in plan.entries] == [("read it", "completed"), ("fix it", "in_progress")]
    sent = str(server.requests[0].json()["messages"])
    assert "unsaved edit" in sent
    assert "file:///unsaved/buffer.py" in sent
    assert "file:///repo/notes.md" in sent
