"""The checkpoint snapshot runs beside the turn's first request, never after a file changed:
a slowed snapshot still holds the pre-edit tree, the request does not wait for it, a failed
one is a warning as before, and session files of either form read the same."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.checkpoints.helpers import read_tree
from tests.checkpoints.test_controller_rewind import _build, _setup

from skipjack.checkpoints.store import Snapshot, SnapshotError, SnapshotStore
from skipjack.checkpoints.timeline import read_timeline
from skipjack.sessions.format import EventEntry, MessageEntry
from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

SLOW = 0.6


@pytest.fixture
def server() -> Iterator[SSEServer]:
    with SSEServer() as s:
        yield s


def _slow_snapshots(monkeypatch: pytest.MonkeyPatch, finished: list[float]) -> None:
    real = SnapshotStore.snapshot

    def slow(self: SnapshotStore) -> Snapshot:
        # Slow before it reads anything: a tool that did not wait would change the files
        # before git walks them, and the checkpoint would hold the edit.
        if not finished:
            time.sleep(SLOW)
        snap = real(self)
        finished.append(time.monotonic())
        return snap

    monkeypatch.setattr(SnapshotStore, "snapshot", slow)


@pytest.mark.parametrize(
    "call",
    [
        ScriptedToolCall("edit", {"path": "edit me.txt", "old_text": "two", "new_text": "TWO"}, id="c1"),
        ScriptedToolCall("write", {"path": "pkg/new.txt", "content": "created\n"}, id="c1"),
        ScriptedToolCall("bash", {"command": "echo clobbered > 'edit me.txt' && rm doomed.txt"}, id="c1"),
        ScriptedToolCall("bash", {"command": "cd pkg; printf y >> mod.py"}, id="c1"),
    ],
    ids=["edit", "write", "bash", "bash-cd"],
)
async def test_a_first_tool_that_edits_waits_and_the_rewind_restores_the_pre_edit_files(
    tmp_path: Path, server: SSEServer, monkeypatch: pytest.MonkeyPatch, call: ScriptedToolCall
) -> None:
    project, env = _setup(tmp_path, server)
    before = read_tree(project, skip=("build",))
    finished: list[float] = []
    _slow_snapshots(monkeypatch, finished)
    controller, seen = _build(project, env)
    server.enqueue(turn_reply(ScriptedTurn(text="", tool_calls=[call])), turn_reply(ScriptedTurn(text="done")))
    started = time.monotonic()
    await controller.prompt("change it")
    assert read_tree(project, skip=("build",)) != before, "the tool ran"
    first_request = server.requests[0].received_at
    assert first_request - started < SLOW - 0.1, "the request did not wait for the snapshot"
    assert finished
    assert finished[0] > first_request

    turns = controller.checkpoints()
    assert [t.turn for t in turns] == [1]
    controller.rewind(1, "files")
    assert read_tree(project, skip=("build",)) == before, "the checkpoint is the tree before the edit"
    checkpoint = [e for e in seen if e["type"] == "checkpoint"]
    assert len(checkpoint) == 1
    tool_end = next(i for i, e in enumerate(seen) if e["type"] == "tool_execution_end")
    assert seen.index(checkpoint[0]) < tool_end
    controller.close()


async def test_read_only_tools_do_not_wait_for_the_snapshot(
    tmp_path: Path, server: SSEServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, env = _setup(tmp_path, server)
    finished: list[float] = []
    _slow_snapshots(monkeypatch, finished)
    controller, _ = _build(project, env)
    server.enqueue(
        turn_reply(ScriptedTurn(text="", tool_calls=[ScriptedToolCall("read", {"path": "keep.txt"}, id="r1")])),
        turn_reply(ScriptedTurn(text="done")),
    )
    await controller.prompt("look")
    assert server.requests[1].received_at < finished[0], "the read's result went back before the snapshot ended"
    assert [t.turn for t in controller.checkpoints()] == [1], "and the checkpoint was still recorded"
    controller.close()


async def test_a_task_first_in_a_turn_starts_its_subagent_after_the_snapshot(
    tmp_path: Path, server: SSEServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A subagent may change files (its type decides), so `task` waits like any tool that
    may: only read, grep, find and todo are exempt, by name."""
    project, env = _setup(tmp_path, server)
    finished: list[float] = []
    _slow_snapshots(monkeypatch, finished)
    controller, _ = _build(project, env)
    call = ScriptedToolCall("task", {"description": "look", "prompt": "read keep.txt"}, id="t1")
    server.enqueue(
        turn_reply(ScriptedTurn(text="", tool_calls=[call])),
        turn_reply(ScriptedTurn(text="found it")),  # the subagent's answer
        turn_reply(ScriptedTurn(text="done")),
    )
    result = await controller.prompt("delegate")
    assert result.stop_reason == "completed"
    assert len(server.requests) == 3
    assert server.requests[0].received_at < finished[0] < server.requests[1].received_at
    assert b"read keep.txt" in server.requests[1].body, "the second request is the subagent's"
    controller.close()


async def test_a_failed_snapshot_is_a_warning_and_the_turn_still_runs(
    tmp_path: Path, server: SSEServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, env = _setup(tmp_path, server)

    def fail(self: SnapshotStore) -> Snapshot:
        time.sleep(0.2)
        raise SnapshotError("no space left on device")

    monkeypatch.setattr(SnapshotStore, "snapshot", fail)
    controller, seen = _build(project, env)
    call = ScriptedToolCall("edit", {"path": "edit me.txt", "old_text": "two", "new_text": "TWO"}, id="c1")
    server.enqueue(turn_reply(ScriptedTurn(text="", tool_calls=[call])), turn_reply(ScriptedTurn(text="done")))
    result = await controller.prompt("edit")
    assert result.stop_reason == "completed"
    assert (project / "edit me.txt").read_text() == "one\nTWO\nthree\n"
    warnings = [e["message"] for e in seen if e["type"] == "warning"]
    assert warnings == ["no checkpoint before this turn: no space left on device"]
    assert not [e for e in seen if e["type"] == "checkpoint"]
    monkeypatch.undo()
    assert controller.checkpoints() == [], "a pending checkpoint never given its tree is no checkpoint"
    # The next turn takes its checkpoint as usual.
    server.enqueue(turn_reply(ScriptedTurn(text="again")))
    await controller.prompt("second")
    assert [t.prompt for t in controller.checkpoints()] == ["second"]
    controller.close()


async def test_an_abort_while_the_snapshot_runs_still_records_it_whole(
    tmp_path: Path, server: SSEServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, env = _setup(tmp_path, server)
    finished: list[float] = []
    _slow_snapshots(monkeypatch, finished)
    controller, _ = _build(project, env)
    server.enqueue(turn_reply(ScriptedTurn(text="slow " * 50), chunk_size=16, pause=0.05))
    threading.Timer(0.15, controller.abort).start()
    result = await controller.prompt("stop me")
    assert result.stop_reason in ("aborted", "completed")
    assert finished, "the prompt returned after its snapshot"
    session = controller.session
    assert session is not None
    names = [e.name for e in session.all_entries() if isinstance(e, EventEntry)]
    assert names.count("checkpoint") == 1
    assert names.count("checkpoint_tree") == 1
    assert names.index("checkpoint_tree") < names.index("checkpoint_end")
    controller.close()


def _entries(*items: Any) -> list[Any]:
    out: list[Any] = []
    for i, item in enumerate(items):
        out.append(item(f"e{i}", f"e{i - 1}" if i else None))
    return out


def _event(name: str, data: dict[str, Any]) -> Any:
    return lambda id_, parent: EventEntry(id_, parent, 1, name, data)


def _user(text: str) -> Any:
    from skipjack.llm.types import UserMessage

    return lambda id_, parent: MessageEntry(id_, parent, 1, UserMessage(content=text, timestamp=1))


def test_the_timeline_reads_both_forms_alike_and_drops_unresolved_checkpoints() -> None:
    old = _entries(
        _event("checkpoint", {"tree": "t1", "skipped": []}),
        _user("first"),
        _event("checkpoint_end", {"checkpoint": "e0", "tree": "t2"}),
        _event("checkpoint", {"tree": "t3", "skipped": []}),
        _user("second"),
    )
    new = _entries(
        _event("checkpoint", {"snapshot": "pending"}),
        _user("first"),
        _event("checkpoint_tree", {"checkpoint": "e0", "tree": "t1", "skipped": []}),
        _event("checkpoint_end", {"checkpoint": "e0", "tree": "t2"}),
        _event("checkpoint", {"snapshot": "pending"}),
        _user("lost: its snapshot failed"),
        _event("checkpoint", {"snapshot": "pending"}),
        _user("second"),
        # A tree naming another checkpoint, or given twice, changes nothing.
        _event("checkpoint_tree", {"checkpoint": "e0", "tree": "bogus"}),
        _event("checkpoint_tree", {"checkpoint": "nope", "tree": "bogus"}),
        _event("checkpoint_tree", {"checkpoint": "e6", "tree": "t3"}),
    )
    a, b = read_timeline(old), read_timeline(new)
    assert [(t.number, t.tree, t.prompt, t.end_tree) for t in a.turns] == [
        (1, "t1", "first", "t2"),
        (2, "t3", "second", None),
    ]
    assert [(t.number, t.tree, t.prompt, t.end_tree) for t in b.turns] == [
        (1, "t1", "first", "t2"),
        (2, "t3", "second", None),
    ]
    assert [t.checkpoint_id for t in b.turns] == ["e0", "e6"]
    # States in file order: the deferred start sits where its turn begins.
    assert [(s.kind, s.tree) for s in a.states] == [(s.kind, s.tree) for s in b.states]
    assert [s.position for s in b.states] == sorted(s.position for s in b.states)


def test_an_index_lock_left_by_a_killed_git_does_not_stop_the_next_snapshot(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    (project / "a.txt").write_text("one\n")
    store = SnapshotStore(tmp_path / "shadow", project)
    first = store.snapshot()
    # What a git SIGKILLed while writing the index leaves (a forced exit kills our children).
    (tmp_path / "shadow" / "skipjack.index.lock").write_bytes(b"half an index")
    (project / "a.txt").write_text("two\n")
    second = SnapshotStore(tmp_path / "shadow", project).snapshot()
    assert second.tree != first.tree
    assert not (tmp_path / "shadow" / "skipjack.index.lock").exists()


# A stdio MCP server (the official SDK's) whose one tool overwrites a file: an MCP tool is not
# one of the read-only four, so it must wait for the snapshot like `edit` does.
WRITER = """
from pathlib import Path
from mcp.server.mcpserver import MCPServer

server = MCPServer("writer")


@server.tool()
def overwrite(path: str, text: str) -> str:
    \"\"\"Replace a file's whole text.\"\"\"
    Path(path).write_text(text)
    return "written"


server.run()
"""


async def test_an_mcp_tool_first_in_a_turn_waits_and_the_rewind_restores_the_pre_edit_files(
    tmp_path: Path, server: SSEServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    project, env = _setup(tmp_path, server)
    writer = tmp_path / "writer.py"
    writer.write_text(WRITER)
    with (tmp_path / "config" / "config.toml").open("a") as f:
        f.write(f"[mcp.servers.writer]\ncommand = {json.dumps(sys.executable)}\nargs = [{json.dumps(str(writer))}]\n")
    controller, seen = _build(project, env)
    # A first turn with no tool, so the server is up and its tool listed before the turn that
    # counts; then every snapshot is slowed.
    server.enqueue(turn_reply(ScriptedTurn(text="ready")))
    await controller.prompt("warm up")
    assert any(t.name == "mcp__writer__overwrite" for t in controller.agent.tools), [
        e for e in seen if e["type"] in ("warning", "mcp_server")
    ]
    before = read_tree(project, skip=("build",))
    finished: list[float] = []
    real = SnapshotStore.snapshot

    def slow(self: SnapshotStore) -> Snapshot:
        time.sleep(SLOW)
        snap = real(self)
        finished.append(time.monotonic())
        return snap

    monkeypatch.setattr(SnapshotStore, "snapshot", slow)
    target = str(project / "edit me.txt")
    call = ScriptedToolCall("mcp__writer__overwrite", {"path": target, "text": "clobbered\n"}, id="m1")
    server.enqueue(turn_reply(ScriptedTurn(text="", tool_calls=[call])), turn_reply(ScriptedTurn(text="done")))
    first = len(server.requests)
    await controller.prompt("overwrite it")
    assert (project / "edit me.txt").read_text() == "clobbered\n", "the MCP tool ran"
    tool_result = json.loads(server.requests[first + 1].body)["messages"][-1]
    assert tool_result["role"] == "tool"
    assert "written" in str(tool_result["content"])
    assert finished
    assert finished[0] > server.requests[first].received_at, "the snapshot ran beside the request"

    assert [t.turn for t in controller.checkpoints()] == [1, 2]
    controller.rewind(2, "files")
    assert read_tree(project, skip=("build",)) == before, "turn 2's checkpoint is the tree before the MCP write"
    controller.close()
