"""SIGTERM and SIGHUP reach the UI like Esc: the command is killed, the session stays
resumable, and the app leaves with 128 + the signal."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from skipjack.llm import AssistantMessage, ToolResultMessage
from skipjack.sessions import MessageEntry, Session
from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn

from .helpers import SIZE, make_app, type_and_send, until
from .test_abort import MARK, sleepers


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
async def test_a_stop_signal_during_a_command_kills_it_and_leaves(
    sig: signal.Signals, code: int, scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    command = f"sleep {MARK} & sleep {MARK}; wait"
    scripted.enqueue(ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": command}, id="b1")]))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "wait a while")
        await until(pilot, lambda: len(sleepers()) == 2, what="the sleep processes")
        session = app.session
        assert session is not None
        os.kill(os.getpid(), sig)
        await until(pilot, lambda: app.return_value is not None, limit=10, what="the app to leave")
    assert app.return_value == code
    assert sleepers() == []
    assert len(scripted.requests) == 1
    # The file itself holds the call's result (recorded by the abort, not mended on load).
    recorded = [e.message for e in Session.load(session.path).all_entries() if isinstance(e, MessageEntry)]
    assert isinstance(recorded[1], AssistantMessage)
    assert isinstance(recorded[2], ToolResultMessage)
    assert recorded[2].tool_call_id == "b1"
    assert "aborted" in str(recorded[2].content)


async def test_a_stop_signal_on_an_idle_app_leaves_at_once(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        os.kill(os.getpid(), signal.SIGTERM)
        await until(pilot, lambda: app.return_value is not None, limit=5, what="the app to leave")
    assert app.return_value == 143
