"""`/compact [focus]` summarises the older conversation through the scripted model and records it."""

from __future__ import annotations

from pathlib import Path

from skipjack.llm import UserMessage
from skipjack.sessions import CompactionEntry
from skipjack.testing import ScriptedModel, ScriptedTurn
from skipjack.tui.messages import Notice, static_text

from .helpers import SIZE, idle, make_app, type_and_send, until

LONG = "This paragraph is long enough to count for something in the token estimate. " * 12


async def test_compact_with_a_focus_replaces_the_older_history(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    for i in range(3):
        scripted.enqueue(ScriptedTurn(text=f"Answer {i}. {LONG}"))
    scripted.enqueue(ScriptedTurn(text="SUMMARY: the user asked three questions about parsers."))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        for i in range(3):
            await type_and_send(pilot, app, f"question {i}: {LONG}")
            await until(pilot, lambda i=i: idle(app) and len(scripted.requests) == i + 1, what=f"answer {i}")
        cost_before = app.status.cost
        await type_and_send(pilot, app, "/compact the parser work")
        await until(pilot, lambda: len(scripted.requests) == 4 and app.status.state == "ready", what="the summary")
        await until(pilot, lambda: any(static_text(n).startswith("compacted") for n in app.query(Notice)), what="it")
        summary_request = str(scripted.request_body(3))
        assert "the parser work" in summary_request
        assert app.agent is not None
        first = app.agent.messages[0]
        assert isinstance(first, UserMessage)
        assert "SUMMARY: the user asked three questions" in str(first.content)
        assert len(app.agent.messages) < 6
        assert app.session is not None
        assert any(isinstance(e, CompactionEntry) for e in app.session.all_entries())
        assert app.status.cost > cost_before  # the summary request is paid for too
