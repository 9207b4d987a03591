"""Tool panels: a real edit shown as a diff, live shell output, errors in red, expanding."""

from __future__ import annotations

from pathlib import Path

from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn
from skipjack.tui.messages import static_text
from skipjack.tui.tool_panel import ToolPanel

from .helpers import SIZE, idle, make_app, screen_text, type_and_send, until


async def test_edit_panel_shows_the_diff_of_the_real_edit(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    target = project / "app.py"
    target.write_text("def add(a, b):\n    return a - b\n\nprint(add(1, 2))\n")
    edit = ScriptedToolCall("edit", {"path": "app.py", "old_text": "return a - b", "new_text": "return a + b"})
    scripted.enqueue(ScriptedTurn(text="Fixing the sign.", tool_calls=[edit]), ScriptedTurn(text="Fixed."))
    app = make_app(scripted, project, env, mode="auto-edit")
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "fix add")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")
        assert target.read_text() == "def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n"
        panel = app.query_one(ToolPanel)
        assert panel.status == "done"
        assert panel.diff is not None
        assert "-    return a - b" in panel.diff
        assert "+    return a + b" in panel.diff
        assert "app.py" in panel.header_text().plain
        assert panel.body.display
        # Rendered with the diff lexer: the removed and added lines get different colours.
        await pilot.pause(0.1)
        assert "return a + b" in screen_text(app)


async def test_shell_output_streams_live_then_a_failure_is_red(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    # The command waits for the test (not for a fixed time a loaded machine can outlast)
    # between its two lines.
    command = "echo first; while [ ! -e go ]; do sleep 0.02; done; echo second; exit 3"
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": command})]),
        ScriptedTurn(text="It failed."),
    )
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "run it")
        await until(pilot, lambda: app.query(ToolPanel), what="the panel")
        panel = app.query_one(ToolPanel)
        # While the command sleeps, its first line is already on screen.
        await until(pilot, lambda: "first" in static_text(panel.body), what="live output")
        assert panel.status == "running"
        assert "second" not in panel.output
        assert app.status.state.startswith("running `echo first")
        (project / "go").touch()
        await until(pilot, lambda: idle(app), what="the run")
        assert panel.status == "error"
        assert panel.has_class("-error")
        assert "exit 3" in panel.header_text().plain
        assert "second" in static_text(panel.body)


async def test_read_panel_is_compact_until_expanded(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    (project / "long.txt").write_text("".join(f"line {i}\n" for i in range(1, 31)))
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("read", {"path": "long.txt"})]),
        ScriptedTurn(text="Read it."),
    )
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "read long.txt")
        await until(pilot, lambda: idle(app) and app.query(ToolPanel), what="the run")
        panel = app.query_one(ToolPanel)
        assert panel.status == "done"
        assert not panel.body.display  # a successful read is one line
        panel.focus()
        await pilot.press("enter")
        assert panel.expanded
        assert "line 30" in static_text(panel.body)
        await pilot.press("enter")
        assert not panel.body.display
