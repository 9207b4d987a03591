"""Long sessions stay quick and small: a resumed session shows its last exchanges with the
rest behind a marker that pages them in; a live chat lets its oldest exchanges go."""

from __future__ import annotations

import time
from pathlib import Path

from skipjack.llm import AssistantMessage, Cost, TextContent, ToolCall, ToolResultMessage, Usage, UserMessage
from skipjack.sessions import SessionStore
from skipjack.testing import ScriptedModel
from skipjack.tui.earlier import LIVE_DROP, LIVE_MAX_EXCHANGES, PAGE_EXCHANGES, RESUME_EXCHANGES, EarlierMessages
from skipjack.tui.messages import UserBubble, static_text
from skipjack.tui.tool_panel import ToolPanel

from .helpers import SIZE, make_app, screen_text, until

USAGE = Usage(100, 10, 0, 0, 110, Cost(0.0003, 0.00015, 0.0, 0.0, 0.00045))


def saved_session(env: dict[str, str], cwd: Path, exchanges: int) -> None:
    session = SessionStore(env=env).create(cwd, "scripted/scripted-model")
    for i in range(exchanges):
        call = ToolCall(f"c{i}", "bash", {"command": f"echo {i}"})
        for m in (
            UserMessage(f"question {i}"),
            AssistantMessage([TextContent(f"running {i}"), call], "openai-chat", "scripted", "m", USAGE, "tool_use"),
            ToolResultMessage(f"c{i}", "bash", f"out-{i}\n[exit code 0 · 0.01 s]"),
            AssistantMessage([TextContent(f"**answer {i}**")], "openai-chat", "scripted", "m", USAGE, "stop"),
        ):
            session.append_message(m)
    session.close()


def bubbles(app: object) -> list[str]:
    from textual.app import App

    assert isinstance(app, App)
    return [b.text for b in app.query(UserBubble)]


async def test_a_resumed_long_session_shows_its_end_and_pages_back(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    saved_session(env, project, 100)
    app = make_app(scripted, project, env, resume="latest")
    started = time.monotonic()
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "answer 99" in screen_text(app), what="the last answer")
        shown_after = time.monotonic() - started
        assert bubbles(app) == [f"question {i}" for i in range(100 - RESUME_EXCHANGES, 100)]
        marker = app.query_one(EarlierMessages)
        assert f"{100 - RESUME_EXCHANGES} earlier exchanges" in static_text(marker)
        assert app.agent is not None
        assert len(app.agent.messages) == 400  # the model still gets the whole conversation
        marker.focus()
        await pilot.press("enter")
        await pilot.pause(0.2)
        first = 100 - RESUME_EXCHANGES - PAGE_EXCHANGES
        assert bubbles(app) == [f"question {i}" for i in range(first, 100)]  # in order, before the rest
        assert f"{first} earlier exchanges" in static_text(marker)
        # The paged-in tool panels are real panels with their results.
        assert static_text(app.chat.tool_panels[f"c{first}"].body) == "out-" + str(first)
        for _ in range(10):
            await pilot.click(EarlierMessages)
        await pilot.pause(0.2)
        assert bubbles(app) == [f"question {i}" for i in range(100)]
        assert static_text(marker) == ""
    assert shown_after < 10  # all 100 exchanges drawn took far longer on a loaded machine


async def test_a_live_chat_lets_its_oldest_exchanges_go(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        for i in range(LIVE_MAX_EXCHANGES + 5):
            app.chat.add_user(f"prompt {i}")
            app.chat.add_tool(f"t{i}", "bash", {"command": f"echo {i}"}).finish(f"out {i}", is_error=False)
            block = app.chat.add_assistant()
            block.text_delta(0, f"reply {i}")
            block.finish()
        await pilot.pause(0.2)
        shown = bubbles(app)
        assert len(shown) <= LIVE_MAX_EXCHANGES
        assert shown[-1] == f"prompt {LIVE_MAX_EXCHANGES + 4}"
        assert shown[0] == f"prompt {LIVE_DROP}"
        assert "t0" not in app.chat.tool_panels  # no reference keeps a dropped panel alive
        assert len(app.query(ToolPanel)) == len(shown)
        marker = app.query_one(EarlierMessages)
        assert app.chat.children[0] is marker
        assert f"{LIVE_DROP} earlier exchanges not shown" in static_text(marker)
