"""ESC and Ctrl+C abort the run for real: the shell's process is gone; the stream stops."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn, stalled_reply
from skipjack.tui.messages import Notice, static_text
from skipjack.tui.tool_panel import ToolPanel

from .helpers import SIZE, idle, make_app, type_and_send, until

MARK = "31.4159"
"""An unusual `sleep` argument that finds our process among every other on the machine."""


def sleepers() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if argv[:2] == [b"sleep", MARK.encode()] and state != "Z":
            found.append(int(entry))
    return found


def notices(app: object) -> list[str]:
    from textual.app import App

    assert isinstance(app, App)
    return [static_text(n) for n in app.query(Notice)]


@pytest.mark.parametrize("key", ["escape", "ctrl+c"])
async def test_abort_during_a_shell_command_kills_it(
    key: str, scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    command = f"echo started; sleep {MARK}; echo never"
    scripted.enqueue(ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": command})]))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "wait a while")
        await until(pilot, lambda: sleepers(), what="the sleep process")
        pids = sleepers()
        await until(pilot, lambda: "started" in app.query_one(ToolPanel).output, what="output")
        await pilot.press(key)
        await until(pilot, lambda: idle(app), limit=5, what="the abort")
        assert pids
        assert sleepers() == []  # not running, not even a zombie
        assert any(n.startswith("aborted") for n in notices(app))
        assert app.query_one(ToolPanel).status in ("stopped", "error")
        assert len(scripted.requests) == 1  # no further model call after the abort
        assert app.is_running  # the app is still there, ready for the next prompt


async def test_escape_stops_a_streaming_answer(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> None:
    scripted.enqueue(stalled_reply(ScriptedTurn(text="I am halfway through a sentence")))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "talk")
        await until(pilot, lambda: app.status.state == "writing…", what="streaming text")
        await pilot.press("escape")
        await until(pilot, lambda: idle(app), limit=5, what="the abort")
        assert any(n.startswith("aborted") for n in notices(app))
        # The partial reply stays in the conversation.
        assert app.agent is not None
        assert "halfway" in str(app.agent.messages[-1])


async def test_ctrl_c_twice_on_an_idle_prompt_exits(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        app.input.insert("draft")
        await pilot.press("ctrl+c")
        assert app.input.text == ""  # first clears the draft
        assert app.is_running
        await pilot.press("ctrl+c")
        assert app.is_running  # one press on an empty prompt only warns
        await pilot.press("ctrl+c")
        await pilot.pause(0.1)
    assert app.return_value == 0
    assert not app.is_running


async def test_an_exception_in_the_agent_is_shown_not_fatal(
    scripted: ScriptedModel, project: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(scripted, project, env)
    assert app.agent is not None

    async def broken(text: str) -> None:
        raise RuntimeError("the loop fell over")

    monkeypatch.setattr(app.agent, "prompt", broken)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "hello")
        await until(pilot, lambda: any("the loop fell over" in n for n in notices(app)), what="the error notice")
        assert app.is_running
        assert app.status.state == "ready"


@pytest.mark.parametrize("key", ["escape", "ctrl+c"])
async def test_abort_stops_the_users_own_bang_command_and_keeps_its_output(
    key: str, scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, f"!echo started; sleep {MARK}; echo never")
        await until(pilot, lambda: sleepers(), what="the sleep process")
        await until(pilot, lambda: "started" in app.query_one(ToolPanel).output, what="output")
        await pilot.press(key)
        await until(pilot, lambda: app.query_one(ToolPanel).status != "running", limit=5, what="the abort")
        await until(pilot, lambda: sleepers() == [], limit=5, what="the sleep to go")
        panel = app.query_one(ToolPanel)
        assert panel.status == "stopped"
        assert "started" in panel.output
        assert "[interrupted]" in panel.output
        assert "never" not in panel.output
        assert scripted.requests == []
        assert app.is_running
