"""Checkpoints through the controller, with the scripted model driving real tools on real
files, and rewinds compared byte for byte against the tree before the turn."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.checkpoints.helpers import read_tree
from tests.cli.helpers import isolated_env

from skipjack.controller import Controller, to_json
from skipjack.controller.checkpointing import RewindConflict
from skipjack.errors import UserError
from skipjack.runtime import RunOptions
from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

BINARY = bytes(range(256)) * 40 + b"\0\r\n\r\x00"


@pytest.fixture
def server() -> Iterator[SSEServer]:
    with SSEServer() as s:
        yield s


def _setup(tmp_path: Path, server: SSEServer, *, git: bool = True) -> tuple[Path, dict[str, str]]:
    env = isolated_env(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        f"""model = "first/m1"
approval_mode = "yolo"
[keys]
first = "key-first"
[providers.first]
base_url = "{server.url}"
api = "openai-chat"
[providers.first.models.m1]
context_window = 100000
"""
    )
    project = tmp_path / "my project ~"
    project.mkdir()
    (project / "keep.txt").write_text("alpha\nbeta\n")
    (project / "edit me.txt").write_text("one\ntwo\nthree\n")
    (project / "doomed.txt").write_text("delete me\n")
    (project / "sed.txt").write_text("colour colour\n")
    (project / "-rf").write_text("a file named like an option\n")
    (project / "blob.bin").write_bytes(BINARY)
    script = project / "run.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(0o755)
    (project / "pkg").mkdir()
    (project / "pkg" / "mod.py").write_text("x = 1\n")
    os.symlink("pkg/mod.py", project / "link.py")
    (project / ".gitignore").write_text("build/\n")
    (project / "build").mkdir()
    (project / "build" / "out.o").write_bytes(b"old object")
    if git:
        subprocess.run(["git", "init", "-q", str(project)], check=True)
    return project, env


def _build(project: Path, env: dict[str, str]) -> tuple[Controller, list[dict[str, Any]]]:
    controller = Controller.build(RunOptions(cwd=project), env=env)
    seen: list[dict[str, Any]] = []
    controller.subscribe(lambda e: seen.append(to_json(e)))
    return controller, seen


def _destructive_turn(server: SSEServer) -> None:
    calls = [
        ScriptedToolCall("edit", {"path": "edit me.txt", "old_text": "two", "new_text": "TWO"}, id="c1"),
        ScriptedToolCall("edit", {"path": "pkg/mod.py", "old_text": "x = 1", "new_text": "x = 2"}, id="c2"),
        ScriptedToolCall("write", {"path": "created.txt", "content": "brand new\n"}, id="c3"),
        ScriptedToolCall(
            "bash",
            {
                "command": "rm doomed.txt && sed -i 's/colour/color/g' sed.txt && chmod 600 run.sh"
                " && printf 'X' >> blob.bin && rm -- -rf && echo rebuilt > build/out.o"
                " && ln -sf keep.txt link.py"
            },
            id="c4",
        ),
    ]
    server.enqueue(turn_reply(ScriptedTurn(text="working", tool_calls=calls)), turn_reply(ScriptedTurn(text="done")))


@pytest.mark.parametrize("git", [True, False], ids=["git-repo", "plain-folder"])
async def test_a_turn_with_edits_deletes_creates_and_sed_is_rewound_exactly(
    tmp_path: Path, server: SSEServer, git: bool
) -> None:
    project, env = _setup(tmp_path, server, git=git)
    user_git_before = read_tree(project / ".git", skip=()) if git else {}
    before = read_tree(project, skip=("build",))
    controller, seen = _build(project, env)
    _destructive_turn(server)
    await controller.prompt("refactor everything")
    after = read_tree(project, skip=("build",))
    assert after != before
    assert (project / "created.txt").exists()
    assert not (project / "doomed.txt").exists()
    assert (project / "sed.txt").read_text() == "color color\n"
    assert [e for e in seen if e["type"] == "checkpoint"], "a checkpoint event before the turn"

    turns = controller.checkpoints()
    assert [t.turn for t in turns] == [1]
    assert turns[0].prompt == "refactor everything"
    assert set(turns[0].files_changed) >= {"edit me.txt", "pkg/mod.py", "created.txt", "doomed.txt", "sed.txt"}
    assert "build/out.o" not in turns[0].files_changed

    plan = controller.plan_rewind(1)
    assert plan.conflicts == []
    assert "-TWO" in plan.diff, "the diff that the rewind applies"
    assert "+two" in plan.diff
    outcome = controller.rewind(1, "files")
    assert read_tree(project, skip=("build",)) == before
    assert (project / "build" / "out.o").read_bytes() == b"rebuilt\n", "the ignored build dir is left alone"
    assert outcome.prompt == "refactor everything"
    if git:
        assert read_tree(project / ".git", skip=()) == user_git_before, "the user's .git is never touched"
    assert [e for e in seen if e["type"] == "rewound"][-1]["mode"] == "files"
    controller.close()


async def test_a_change_by_hand_between_turns_is_a_conflict_kept_unless_confirmed(
    tmp_path: Path, server: SSEServer
) -> None:
    project, env = _setup(tmp_path, server)
    controller, _ = _build(project, env)
    _destructive_turn(server)
    await controller.prompt("refactor everything")
    # The user edits a file the turn changed, and one it did not, after the turn.
    (project / "edit me.txt").write_text("my own careful work\n")
    (project / "keep.txt").write_text("mine too\n")
    with pytest.raises(RewindConflict) as caught:
        controller.rewind(1, "files")
    assert set(caught.value.plan.conflicts) == {"edit me.txt", "keep.txt"}
    assert (project / "edit me.txt").read_text() == "my own careful work\n", "nothing written before confirming"
    assert (project / "created.txt").exists()

    kept = controller.rewind(1, "files", overwrite_conflicts=False)
    assert (project / "edit me.txt").read_text() == "my own careful work\n"
    assert (project / "keep.txt").read_text() == "mine too\n"
    assert not (project / "created.txt").exists()
    assert (project / "doomed.txt").exists()
    assert {s.path for s in kept.restored.left} == {"edit me.txt", "keep.txt"}

    controller.rewind(1, "files", overwrite_conflicts=True)
    assert (project / "edit me.txt").read_text() == "one\ntwo\nthree\n"
    assert (project / "keep.txt").read_text() == "alpha\nbeta\n"
    controller.close()


async def test_a_change_by_hand_before_a_later_turn_is_a_conflict_for_an_earlier_checkpoint(
    tmp_path: Path, server: SSEServer
) -> None:
    project, env = _setup(tmp_path, server)
    controller, _ = _build(project, env)
    server.enqueue(turn_reply(ScriptedTurn(text="nothing to do")))
    await controller.prompt("first")
    (project / "keep.txt").write_text("edited by hand between turns\n")
    server.enqueue(turn_reply(ScriptedTurn(text="still nothing")))
    await controller.prompt("second")
    with pytest.raises(RewindConflict) as caught:
        controller.rewind(1, "files")
    assert caught.value.plan.conflicts == ["keep.txt"]
    # Rewinding to the second turn's checkpoint changes nothing, so there is nothing to clobber.
    assert controller.plan_rewind(2).changes == []
    controller.close()


async def test_undo_then_redo(tmp_path: Path, server: SSEServer) -> None:
    project, env = _setup(tmp_path, server)
    controller, _ = _build(project, env)
    before = read_tree(project)
    _destructive_turn(server)
    await controller.prompt("refactor everything")
    after_turn = read_tree(project)
    controller.undo()
    assert read_tree(project, skip=("build",)) == {k: v for k, v in before.items() if not k.startswith("build/")}
    with pytest.raises(UserError, match="nothing left to undo"):
        controller.undo()
    controller.redo()
    assert read_tree(project) == after_turn
    with pytest.raises(UserError, match="nothing to redo"):
        controller.redo()
    controller.close()


async def test_conversation_rewind_forks_and_keeps_the_abandoned_branch(tmp_path: Path, server: SSEServer) -> None:
    project, env = _setup(tmp_path, server)
    controller, _seen = _build(project, env)
    server.enqueue(turn_reply(ScriptedTurn(text="answer one")))
    await controller.prompt("question one")
    server.enqueue(turn_reply(ScriptedTurn(text="answer two")))
    await controller.prompt("question two")
    assert controller.session is not None
    original = controller.session.id
    outcome = controller.rewind(2, "conversation")
    assert outcome.prompt == "question two"
    assert outcome.forked_from == original
    assert controller.session.id != original
    texts = [getattr(m, "content", None) for m in controller.agent.messages]
    assert "question one" in texts
    assert "question two" not in texts
    # The abandoned branch is still there, whole.
    old = controller.store.open(original)
    assert "question two" in [getattr(m, "content", None) for m in old.messages()]
    old.close()
    # The fork keeps the earlier checkpoints and goes on with new ones.
    server.enqueue(turn_reply(ScriptedTurn(text="answer two, again")))
    await controller.prompt("question two, better")
    assert [t.prompt for t in controller.checkpoints()] == ["question one", "question two, better"]
    controller.close()


async def test_redo_counts_only_hand_changes_made_after_the_undo(tmp_path: Path, server: SSEServer) -> None:
    project, env = _setup(tmp_path, server)
    controller, _ = _build(project, env)
    _destructive_turn(server)
    await controller.prompt("refactor everything")
    (project / "keep.txt").write_text("hand edit before the undo\n")
    controller.undo(overwrite_conflicts=True)
    assert (project / "keep.txt").read_text() == "alpha\nbeta\n"
    assert controller.plan_rewind(kind="redo").conflicts == []
    (project / "sed.txt").write_text("hand edit after the undo\n")
    with pytest.raises(RewindConflict) as caught:
        controller.redo()
    assert caught.value.plan.conflicts == ["sed.txt"]
    controller.redo(overwrite_conflicts=True)
    assert (project / "keep.txt").read_text() == "hand edit before the undo\n"
    assert (project / "sed.txt").read_text() == "color color\n"
    controller.close()


async def test_checkpoints_survive_resume_in_a_new_controller(tmp_path: Path, server: SSEServer) -> None:
    project, env = _setup(tmp_path, server)
    controller, _ = _build(project, env)
    before = read_tree(project, skip=("build",))
    _destructive_turn(server)
    await controller.prompt("refactor everything")
    assert controller.session is not None
    session_id = controller.session.id
    controller.close()
    again, _ = _build(project, env)
    again.open_session(session_id=session_id)
    assert [t.prompt for t in again.checkpoints()] == ["refactor everything"]
    again.undo()
    assert read_tree(project, skip=("build",)) == before
    again.close()
    third, _ = _build(project, env)
    third.open_session(continue_latest=True)
    third.redo()
    assert (project / "created.txt").read_text() == "brand new\n", "the undo stack is in the session file"
    third.close()


async def test_checkpoints_off_in_config_runs_the_prompt_without_one(tmp_path: Path, server: SSEServer) -> None:
    project, env = _setup(tmp_path, server)
    config = tmp_path / "config" / "config.toml"
    config.write_text(
        config.read_text().replace(
            'approval_mode = "yolo"\n', 'approval_mode = "yolo"\n[checkpoints]\nenabled = false\n'
        )
    )
    controller, seen = _build(project, env)
    server.enqueue(turn_reply(ScriptedTurn(text="fine")))
    await controller.prompt("hello")
    assert not [e for e in seen if e["type"] == "checkpoint"]
    assert not (tmp_path / "data" / "snapshots").exists()
    with pytest.raises(UserError, match="off"):
        controller.checkpoints()
    controller.close()
