"""Text snapshots at 80x24 of the welcome screen and of an approval with a diff (issue 17's
proof). The text on screen is compared with `text_snapshots/NAME.txt`, the temporary
project path masked; run with SKIPJACK_UPDATE_SNAPSHOTS=1 to rewrite them after checking."""

from __future__ import annotations

import os
import re
from pathlib import Path

from skipjack import __version__
from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn
from skipjack.tui import SkipjackApp

from .helpers import SIZE, make_app, screen_text, type_and_send, until_approval

# Not under `__snapshots__/`: that folder is the SVG snapshot plugin's, which fails a run on
# files it does not own ("unused snapshots").
SNAPSHOTS = Path(__file__).parent / "text_snapshots"


def matches_snapshot(name: str, app: SkipjackApp, project: Path) -> None:
    text = screen_text(app).replace(str(project), "<project>").replace(__version__, "<version>")
    text = "\n".join(line.rstrip() for line in text.splitlines()) + "\n"
    text = re.sub(r"\b\d+ s · ", "N s · ", text)  # a busy run's elapsed time, once shown
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("SKIPJACK_UPDATE_SNAPSHOTS"):
        path.write_text(text)
    assert text == path.read_text(), f"the screen differs from {path}:\n{text}"


async def test_welcome_screen(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> None:
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        app.input.cursor_blink = False
        await pilot.pause(0.2)
        matches_snapshot("welcome", app, project)


async def test_approval_with_a_diff(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> None:
    (project / "calc.py").write_text("def area(w, h):\n    # the area of a rectangle\n    return w + h\n")
    edit = ScriptedToolCall("edit", {"path": "calc.py", "old_text": "return w + h", "new_text": "return w * h"})
    scripted.enqueue(ScriptedTurn(text="The formula adds; it should multiply.", tool_calls=[edit]))
    app = make_app(scripted, project, env, mode="ask")
    async with app.run_test(size=SIZE) as pilot:
        app.input.cursor_blink = False
        await type_and_send(pilot, app, "area() is wrong, fix it")
        await until_approval(pilot, app)
        await pilot.pause(0.2)
        matches_snapshot("approval_with_diff", app, project)
        await pilot.press("escape")
