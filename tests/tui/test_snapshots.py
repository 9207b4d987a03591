"""Snapshots of key screens at 80x24 (update with `pytest --snapshot-update` after checking them).

Deterministic: a fixed model name and usage, no timings or timestamps on screen, and the
prompt's cursor does not blink.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn
from skipjack.tui import SkipjackApp
from skipjack.tui.pickers import PickerScreen
from skipjack.tui.welcome import welcome_lines

from .helpers import SIZE, idle, make_app, until, until_approval
from .test_commands import custom_settings

SnapCompare = Callable[..., bool]


def steady(app: SkipjackApp) -> None:
    app.input.cursor_blink = False
    # The welcome names the project's folder, a new temporary one in every run.
    model = app.agent.model.ref if app.agent is not None else None
    app.query_one("#welcome", Static).update(welcome_lines("~/project", model))


def test_conversation_with_an_edit(snap_compare: SnapCompare, scripted: ScriptedModel, project: Path, env: Any) -> None:
    (project / "calc.py").write_text("def area(w, h):\n    return w + h\n")
    edit = ScriptedToolCall("edit", {"path": "calc.py", "old_text": "return w + h", "new_text": "return w * h"})
    scripted.enqueue(
        ScriptedTurn(thinking="The area needs a product.", text="The formula adds; it should multiply.",
                     tool_calls=[edit], prompt_tokens=2000, completion_tokens=100),
        ScriptedTurn(text="Fixed `area`:\n\n```python\ndef area(w, h):\n    return w * h\n```\n",
                     prompt_tokens=2400, completion_tokens=60),
    )  # fmt: skip
    app = make_app(scripted, project, env, mode="auto-edit")

    async def run_before(pilot: Pilot[Any]) -> None:
        steady(app)
        app.input.insert("area() is wrong, fix it")
        await pilot.press("enter")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_approval_prompt(snap_compare: SnapCompare, scripted: ScriptedModel, project: Path, env: Any) -> None:
    scripted.enqueue(
        ScriptedTurn(text="Running the tests.", tool_calls=[ScriptedToolCall("bash", {"command": "pytest -q tests"})])
    )
    app = make_app(scripted, project, env, mode="ask")

    async def run_before(pilot: Pilot[Any]) -> None:
        steady(app)
        app.input.insert("run the tests")
        await pilot.press("enter")
        await until_approval(pilot, app)
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_model_picker(snap_compare: SnapCompare, scripted: ScriptedModel, project: Path, env: Any) -> None:
    app = make_app(scripted, project, env, settings=custom_settings("http://127.0.0.1:9/v1"))

    async def run_before(pilot: Pilot[Any]) -> None:
        steady(app)
        app.input.insert("/model")
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        await pilot.press(*"lab/other")
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
