"""A long streamed answer: finished blocks are rendered once, only the growing tail again."""

from __future__ import annotations

import re
from pathlib import Path

from textual.widgets import Static

from skipjack.testing import ScriptedModel, ScriptedTurn
from skipjack.testing.scripted import turn_reply
from skipjack.tui.messages import FREEZE_CHARS, StreamingMarkdown, finished_prefix

from .helpers import idle, make_app, screen_text, type_and_send, until


def long_answer(sections: int) -> str:
    parts = []
    for i in range(sections):
        parts.append(f"## Section {i}\n\nSome **bold** prose about part {i}, long enough to wrap once.\n\n")
        parts.append(f"1. first item {i}\n2. second item {i}\n\n```python\nvalue_{i} = compute({i})\n```\n\n")
    return "".join(parts) + "FINAL-LINE\n"


def test_the_finished_prefix_never_cuts_a_block_that_can_still_change() -> None:
    assert finished_prefix("para one\n\npara two") == 0  # the last line is not complete
    assert finished_prefix("one\n\ntwo\n\nthr") == len("one\n\n")
    assert finished_prefix("para one\n\npara two\n") == len("para one\n\n")
    assert finished_prefix("only one block\n") == 0
    # An open fence holds everything after it, blank lines and all.
    text = "intro\n\n```python\nx = 1\n\n\ny = 2\n"
    assert finished_prefix(text) == len("intro\n\n")
    # `2` after a list could become `2.`: the list stays open until the next line is whole.
    assert finished_prefix("1. a\n\n2") == 0
    assert finished_prefix("1. a\n\n2. b\n") == 0  # one loose list
    # A setext underline turns the paragraph above into a heading: it is one block.
    assert finished_prefix("Title\n---\n") == 0
    assert finished_prefix("| a | b |\n|---|---|\n| 1 | 2 |\n") == 0


async def test_a_long_answer_renders_only_its_tail(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> None:
    answer = long_answer(60)  # ~9,000 characters
    scripted.enqueue(turn_reply(ScriptedTurn(text=answer, chunk_chars=40), chunk_size=800, pause=0.05))
    app = make_app(scripted, project, env)
    async with app.run_test(size=(100, 30)) as pilot:
        await type_and_send(pilot, app, "long answer")
        await until(pilot, lambda: app.query(StreamingMarkdown), what="the answer")
        md = app.query_one(StreamingMarkdown)
        tails: list[int] = []
        while not idle(app):
            tails.append(len(md.tail_source))
            await pilot.pause(0.02)
        await until(pilot, lambda: md.source == answer, what="the whole answer")
        frozen = list(md.query(".frozen").results(Static))
        assert len(frozen) >= 1
        assert max(tails) < 2 * FREEZE_CHARS + 500, f"the re-rendered tail grew to {max(tails)} characters"
        assert len(md.tail_source) < 2 * FREEZE_CHARS
        assert "FINAL-LINE" in screen_text(app)
        # Nothing lost or doubled at the seams: every section heading appears once, in order.
        app.query_one("#chat").scroll_home(animate=False)
        # The jump lands a frame or more later under load: start reading from the top.
        await until(pilot, lambda: re.search(r"^ *Section 0\b", screen_text(app), re.MULTILINE), what="the top")
        seen = []
        for _ in range(200):
            await pilot.pause(0.02)
            seen.extend(re.findall(r"^ *(Section \d+)\b", screen_text(app), re.MULTILINE))
            app.query_one("#chat").scroll_relative(y=20, animate=False)
        order = list(dict.fromkeys(seen))
        assert order == [f"Section {i}" for i in range(60)]
