"""SIGTERM and SIGHUP reach the UI like Esc: the command is killed, the session stays
resumable, and the app leaves with 128 + the signal. A session write that fails is shown."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from skipjack.llm import AssistantMessage, ToolResultMessage
from skipjack.sessions import MessageEntry, Session
from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn

from .helpers import SIZE, make_app, type_and_send, until
from .test_abort import MARK, notices, sleepers


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


@pytest.fixture
def full_data_dir(env: dict[str, str]) -> Iterator[Path]:
    """The data dir as a real 64 KiB tmpfs."""
    data = Path(env["SKIPJACK_DATA_DIR"])
    data.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(data)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield data
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


async def test_a_session_the_disk_cannot_hold_is_reported(
    scripted: ScriptedModel, project: Path, env: dict[str, str], full_data_dir: Path
) -> None:
    scripted.enqueue(ScriptedTurn(text="y" * (200 * 1024)))  # does not fit in the data dir
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "write a lot")
        await until(pilot, lambda: any("not fully saved" in n for n in notices(app)), what="the notice")
        (notice,) = [n for n in notices(app) if "not fully saved" in n]
        assert "an assistant message could not be written" in notice
        assert "No space left on device" in notice
