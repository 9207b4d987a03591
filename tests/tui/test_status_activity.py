"""Signs of life while waiting: elapsed time, tokens received, "esc to interrupt", and a hung
server told apart from a slow model that streams."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

import skipjack.tui.status as status_module
from skipjack.testing import ScriptedModel, ScriptedTurn
from skipjack.testing.scripted import turn_reply
from skipjack.testing.sse_server import Reply, Stall
from skipjack.tui.messages import static_text

from .helpers import SIZE, idle, make_app, type_and_send, until


@pytest.fixture(autouse=True)
def quick_stall(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(status_module, "STALL_S", 3.0)


async def test_a_hung_server_says_no_data_and_how_long(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(Reply(body=[Stall()]))  # headers, then silence
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        sent = time.monotonic()
        await type_and_send(pilot, app, "hello?")
        await until(pilot, lambda: "esc to interrupt" in static_text(app.status), what="the busy line")
        line = static_text(app.status)
        assert line.startswith("● thinking…")  # the run's state first: a narrow line cuts the rest
        if time.monotonic() - sent < 2.5:  # (a loaded machine may take that long to get here)
            assert "no data" not in line
        await until(pilot, lambda: "no data for" in static_text(app.status), limit=10, what="the stall notice")
        first = re.search(r"no data for (\d+) s", static_text(app.status))
        assert first is not None
        await pilot.pause(1.2)
        later = re.search(r"no data for (\d+) s", static_text(app.status))
        assert later is not None
        assert int(later.group(1)) > int(first.group(1))
        elapsed = re.search(r"… (\d+) s", static_text(app.status))
        assert elapsed is not None
        assert int(elapsed.group(1)) >= 2
        await pilot.press("escape")
        await until(pilot, lambda: idle(app), limit=5, what="the abort")
        assert "no data" not in static_text(app.status)
        assert "esc to interrupt" not in static_text(app.status)


async def test_a_slow_model_that_streams_is_not_called_hung(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    answer = "word " * 120
    scripted.enqueue(turn_reply(ScriptedTurn(text=answer), chunk_size=600, pause=0.4))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "slowly")
        counts: list[int] = []
        started = time.monotonic()
        while not idle(app) and time.monotonic() - started < 30:
            line = static_text(app.status)
            assert "no data" not in line, line
            if app.status.state == "writing…":
                counts.append(app.status.received_tokens)
                assert "esc to interrupt" in line
            await pilot.pause(0.1)
        assert idle(app)
        assert len(counts) > 5
        assert counts[-1] > counts[0] > 0  # the count grows while the answer streams
        assert "tokens" not in static_text(app.status)  # idle: no activity shown
