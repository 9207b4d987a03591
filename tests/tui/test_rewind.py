"""Rewind in the terminal UI: Esc Esc, the turn list, the mode, the diff, the conflicts,
the prompt back in the editor; /undo and /redo. Real files, real git, the scripted model."""

from __future__ import annotations

from pathlib import Path

from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn
from skipjack.tui.pickers import PickerScreen
from skipjack.tui.rewind import DiffScreen

from .helpers import SIZE, idle, make_app, screen_text, type_and_send, until
from .test_commands import notices


def _write_turn(scripted: ScriptedModel, content: str) -> None:
    call = ScriptedToolCall("bash", {"command": f"printf '{content}' > notes.txt"}, id="b1")
    scripted.enqueue(ScriptedTurn(text="writing", tool_calls=[call]), ScriptedTurn(text="written"))


async def test_double_escape_rewinds_conversation_and_files_and_refills_the_editor(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    (project / "notes.txt").write_text("original\n")
    _write_turn(scripted, "from the model\\n")
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "rewrite the notes")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")
        assert (project / "notes.txt").read_text() == "from the model\n"
        await pilot.press("escape", "escape")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen), what="the turn list")
        text = screen_text(app)
        assert "rewrite the notes" in text
        assert "1 file(s) changed since" in text
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen) and "restore what" in app.screen.title_text)
        await pilot.press("enter")  # conversation and files
        await until(pilot, lambda: isinstance(app.screen, DiffScreen), what="the diff")
        assert "-from the model" in screen_text(app)
        assert "+original" in screen_text(app)
        await pilot.press("y")
        await until(pilot, lambda: not isinstance(app.screen, DiffScreen | PickerScreen), what="the restore")
        await until(pilot, lambda: app.input.text == "rewrite the notes", what="the prompt back in the editor")
        assert (project / "notes.txt").read_text() == "original\n"
        assert app.controller is not None
        assert app.controller.agent.messages == []
        assert any("conversation forked" in n for n in notices(app))


async def test_undo_with_a_hand_edit_asks_and_keeps_it_then_redo(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    (project / "notes.txt").write_text("original\n")
    (project / "other.txt").write_text("untouched\n")
    scripted.enqueue(
        ScriptedTurn(
            text="writing",
            tool_calls=[
                ScriptedToolCall("bash", {"command": "echo model > notes.txt"}, id="b1"),
                ScriptedToolCall("write", {"path": "made.txt", "content": "new\n"}, id="w2"),
            ],
        ),
        ScriptedTurn(text="written"),
    )
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "write")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")
        (project / "notes.txt").write_text("my hand edit\n")
        await type_and_send(pilot, app, "/undo")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen), what="the diff")
        assert "changed by hand" in screen_text(app)
        assert "notes.txt" in screen_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, DiffScreen))
        assert (project / "made.txt").exists(), "cancel changes nothing"
        await type_and_send(pilot, app, "/undo")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen), what="the diff")
        await pilot.press("k")  # keep my changes, restore the rest
        await until(pilot, lambda: not (project / "made.txt").exists(), what="the undo")
        assert (project / "notes.txt").read_text() == "my hand edit\n"
        await type_and_send(pilot, app, "/redo")
        await until(pilot, lambda: isinstance(app.screen, DiffScreen), what="the redo diff")
        await pilot.press("enter")
        await until(pilot, lambda: (project / "made.txt").exists(), what="the redo")
        assert (project / "other.txt").read_text() == "untouched\n"
