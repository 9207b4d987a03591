"""A streamed answer rendered as markdown, with batching, status and steering."""

from __future__ import annotations

from pathlib import Path

from skipjack.testing import ScriptedModel, ScriptedTurn
from skipjack.tui.messages import AssistantBlock, StreamingMarkdown, UserBubble

from .helpers import SIZE, idle, make_app, type_and_send, until

ANSWER = "Here is **bold** text.\n\n```python\nprint('hi')\n```\n\nAnd a list:\n\n- one\n- two\n"


async def test_streamed_answer_is_rendered_as_markdown(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(ScriptedTurn(text=ANSWER, chunk_chars=2, prompt_tokens=1200, completion_tokens=300))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "say hi")
        await until(pilot, lambda: idle(app) and app.query(AssistantBlock), what="the answer")
        block = app.query_one(AssistantBlock)
        await until(pilot, lambda: block.query_one(StreamingMarkdown).source == ANSWER, what="the full markdown")
        md = block.query_one(StreamingMarkdown)
        deltas = len(ANSWER) // 2
        assert md.flushes < deltas / 4, f"{md.flushes} renders for {deltas} deltas: not batched"
        # Markdown made a code block and a list out of the stream.
        kinds = {type(child).__name__ for child in md.children}
        assert "MarkdownFence" in kinds
        assert "MarkdownBulletList" in kinds
        bubbles = [b.text for b in app.query(UserBubble)]
        assert bubbles == ["say hi"]
        assert scripted.request_messages(0)[-1]["content"] == "say hi"
        # status: model, context from the last usage (1200 + 300 of 128k), cost of the request
        status = app.status
        assert status.context_used == 1500
        expected_cost = 1200 * 3.0 / 1e6 + 300 * 15.0 / 1e6
        assert abs(status.cost - expected_cost) < 1e-9
        line = status.state_text()
        assert line == "ready"
        assert app.input.text == ""
