"""A retry after a failed turn sends the user's message once and shows it once (issue 17, item 16)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from skipjack.sessions import Session, SessionStore
from skipjack.testing import Reply, ScriptedModel, ScriptedToolCall, ScriptedTurn
from skipjack.testing.openai_script import openai_turn
from skipjack.testing.sse_server import Pause, Reset
from skipjack.tui.messages import Notice, UserBubble, static_text

from .helpers import SIZE, idle, make_app, screen_text, type_and_send, until

SERVER_ERROR = Reply.error(500, {"error": {"message": "internal failure"}})


def bubbles(app: Any) -> list[str]:
    return [b.text for b in app.query(UserBubble)]


def notices(app: Any) -> list[str]:
    return [static_text(n) for n in app.query(Notice)]


def user_texts(scripted: ScriptedModel, i: int) -> list[str]:
    """The user messages' text in request `i`."""
    out = []
    for m in scripted.request_messages(i):
        if m["role"] != "user":
            continue
        content = m["content"]
        out.append(content if isinstance(content, str) else " ".join(p.get("text", "") for p in content))
    return out


def assistant_texts(scripted: ScriptedModel, i: int) -> list[str]:
    return [str(m.get("content") or "") for m in scripted.request_messages(i) if m["role"] == "assistant"]


def cut_stream(text: str) -> Reply:
    """A 200 whose stream sends part of `text`, then the connection is reset."""
    body = openai_turn(ScriptedTurn(text=text, chunk_chars=8))
    return Reply(body=[body[: len(body) // 2], Pause(0.05), Reset()])


async def test_the_same_prompt_after_a_server_error_is_a_retry(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    # Three 500s: the first try and the core's two retries (helpers.FAST).
    scripted.enqueue(SERVER_ERROR, SERVER_ERROR, SERVER_ERROR, ScriptedTurn(text="fixed it"))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "fix the bug")
        await until(pilot, lambda: idle(app) and any("run failed" in n for n in notices(app)), what="the error")
        assert any("/retry" in n for n in notices(app))
        await type_and_send(pilot, app, "fix  the bug ")  # retyped, spacing aside
        await until(pilot, lambda: idle(app) and "fixed it" in screen_text(app), what="the reply")
        assert bubbles(app) == ["fix the bug"]
        assert user_texts(scripted, 3) == ["fix the bug"]
        assert app.controller is not None
        assert [type(m).__name__ for m in app.controller.agent.messages] == ["UserMessage", "AssistantMessage"]
        session = app.controller.session
        assert session is not None
        session_id = session.id
    # A resumed session holds it once too, with no empty failed reply in its context.
    reopened = Session.load(SessionStore(env=env).path_of(session_id, project))
    assert [type(m).__name__ for m in reopened.messages()] == ["UserMessage", "AssistantMessage"]
    assert reopened.message_count == 3  # the failed reply stays in the file


async def test_retry_after_a_cut_stream_drops_the_partial_reply(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(cut_stream("PARTIAL-WORDS " * 40), ScriptedTurn(text="complete answer"))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "explain")
        await until(pilot, lambda: idle(app) and any("run failed" in n for n in notices(app)), what="the cut")
        await type_and_send(pilot, app, "/retry")
        await until(pilot, lambda: idle(app) and "complete answer" in screen_text(app), what="the reply")
        assert bubbles(app) == ["explain"]
        assert user_texts(scripted, 1) == ["explain"]
        assert not any("PARTIAL" in t for t in assistant_texts(scripted, 1)), "the cut reply was sent back"


async def test_a_retry_after_an_abort_and_a_new_prompt_after_an_error(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    stalled = Reply(body=[Pause(30)])
    scripted.enqueue(stalled, ScriptedTurn(text="after abort"), SERVER_ERROR, SERVER_ERROR, SERVER_ERROR)
    scripted.enqueue(ScriptedTurn(text="other answer"))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "first")
        await until(pilot, lambda: len(scripted.requests) == 1, what="the request")
        await pilot.press("escape")
        await until(pilot, lambda: idle(app), what="the abort")
        await type_and_send(pilot, app, "first")
        await until(pilot, lambda: idle(app) and "after abort" in screen_text(app), what="the retried reply")
        assert bubbles(app) == ["first"]
        assert user_texts(scripted, 1) == ["first"]
        # Different words after a failure are a new prompt, not a retry.
        await type_and_send(pilot, app, "second")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 5, what="the failing prompt")
        await type_and_send(pilot, app, "second, reworded")
        await until(pilot, lambda: idle(app) and "other answer" in screen_text(app), what="the new prompt")
        assert bubbles(app) == ["first", "second", "second, reworded"]
        assert user_texts(scripted, 5) == ["first", "second", "second, reworded"]


async def test_nothing_to_retry(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> None:
    bash = ScriptedToolCall("bash", {"command": "echo ran-once"})
    scripted.enqueue(ScriptedTurn(text="fine"), ScriptedTurn(tool_calls=[bash]))
    scripted.enqueue(SERVER_ERROR, SERVER_ERROR, SERVER_ERROR, ScriptedTurn(text="went on"))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "/retry")  # nothing failed yet
        await until(pilot, lambda: any("nothing to retry" in n for n in notices(app)), what="the refusal")
        await type_and_send(pilot, app, "hello")
        await until(pilot, lambda: idle(app) and "fine" in screen_text(app), what="the reply")
        await type_and_send(pilot, app, "/retry")  # the last turn succeeded
        await until(pilot, lambda: len([n for n in notices(app) if "nothing to retry" in n]) == 2, what="again")
        assert len(scripted.requests) == 1
        # A tool ran before the failure: the turn made progress, so the same words are new.
        await type_and_send(pilot, app, "run it")
        await until(pilot, lambda: idle(app) and any("run failed" in n for n in notices(app)), what="the error")
        await type_and_send(pilot, app, "run it")
        await until(pilot, lambda: idle(app) and "went on" in screen_text(app), what="the reply")
        assert bubbles(app) == ["hello", "run it", "run it"]
        assert user_texts(scripted, 5) == ["hello", "run it", "run it"]
