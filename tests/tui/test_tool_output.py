"""Live tool output in the chat: it never drives the terminal, it takes the rows it is given,
and an interrupted command keeps what it printed (for the user and for the model)."""

from __future__ import annotations

import re
from pathlib import Path

from skipjack.llm.types import ToolResultMessage, text_of
from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn
from skipjack.tui.messages import static_text
from skipjack.tui.tool_panel import COMPACT_LINES, ToolPanel

from .helpers import SIZE, idle, make_app, screen_text, type_and_send, until

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")

HOSTILE = (
    r"printf 'one\n\033[2J\033[Htwo\n\033]0;pwned\007three\n\302\2331;1H\302\235"
    "2;c1\302\234four\n';"
    r"printf '\033[31mred\033[0m\n';"
    r"for i in 1 2 3; do printf '\r%s%%' $((i*33)); sleep 0.05; done; printf '\r\033[Kdone\n';"
    r"printf '\033[6n\033P+q544e\033\\\033_Gf=1\033\\tail\n'; sleep 0.4"
)


def segments_text(app: object) -> str:
    """Every character the compositor would send for the screen, controls included."""
    from textual.app import App

    assert isinstance(app, App)
    strips = app.screen._compositor.render_strips()
    return "".join(seg.text for strip in strips for seg in strip)


async def test_hostile_escapes_in_live_output_never_reach_the_screen(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": HOSTILE})]),
        ScriptedTurn(text="Printed."),
    )
    app = make_app(scripted, project, env)
    async with app.run_test(size=(100, 40)) as pilot:
        await type_and_send(pilot, app, "print things")
        await until(pilot, lambda: app.query(ToolPanel), what="the panel")
        panel = app.query_one(ToolPanel)
        seen_live = False
        while not idle(app):
            await pilot.pause(0.03)
            drawn = segments_text(app)
            assert not CONTROL.search(drawn), repr(CONTROL.search(drawn))
            seen_live = seen_live or (panel.status == "running" and "one" in drawn)
        assert seen_live
        panel.expanded = True
        panel.refresh_panel()
        await pilot.pause(0.1)
        body = static_text(panel.body)
        assert not CONTROL.search(body.replace("\n", ""))
        for word in ("one", "two", "three", "four", "red", "done", "tail"):
            assert word in body
        assert "pwned" not in body
        assert "c1" not in body.replace("four", "")
        assert "99%" not in body  # the progress bar was rewritten in place, then erased
        assert "Gf=1" not in body
        assert "544e" not in body
        assert not CONTROL.search(segments_text(app))
        assert "Printed." in screen_text(app)


async def test_one_long_line_takes_the_compact_rows_not_a_hundred(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    command = "printf 'head\\n'; head -c 12000 /dev/zero | tr '\\0' x; printf '\\nEND'; sleep 0.5"
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": command})]),
        ScriptedTurn(text="Long."),
    )
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "long line")
        await until(pilot, lambda: app.query(ToolPanel), what="the panel")
        panel = app.query_one(ToolPanel)
        await until(pilot, lambda: "END" in static_text(panel.body), what="the live tail")
        await pilot.pause(0.1)
        # The compact body: its rows plus the "… more above" note, whatever the line's length.
        assert panel.body.size.height <= COMPACT_LINES + 1
        assert panel.body.size.height >= 2
        assert "more line" in static_text(panel.body)
        await until(pilot, lambda: idle(app), what="the run")
        await pilot.pause(0.1)
        assert panel.body.size.height <= COMPACT_LINES + 1
        assert "Long." in screen_text(app)
        # Expanded, the line is there whole (rows up to the expanded limit).
        panel.focus()
        await pilot.press("enter")
        await pilot.pause(0.1)
        assert panel.body.size.height > 100
        assert static_text(panel.body).count("x") >= 12000 - 10


async def test_an_interrupted_command_keeps_its_output_for_the_user_and_the_model(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    command = "for i in 1 2 3; do echo progress-$i; done; sleep 30"
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": command})]),
        ScriptedTurn(text="unused"),
    )
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "run it")
        await until(pilot, lambda: app.query(ToolPanel), what="the panel")
        panel = app.query_one(ToolPanel)
        await until(pilot, lambda: "progress-3" in panel.output, what="output")
        await pilot.press("escape")
        await until(pilot, lambda: idle(app), limit=5, what="the abort")
        await pilot.pause(0.1)
        assert panel.status == "stopped"
        body = static_text(panel.body)
        assert "progress-3" in body
        assert "interrupted" in body
        assert "interrupted" in panel.header_text().plain
        assert "progress-3" in screen_text(app)
        assert app.agent is not None
        results = [m for m in app.agent.messages if isinstance(m, ToolResultMessage)]
        assert len(results) == 1
        seen = text_of(results[0].content)
        assert seen.startswith("aborted")
        assert "progress-1" in seen
        assert "progress-3" in seen
