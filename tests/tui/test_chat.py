"""A streamed answer rendered as markdown, with batching, status and steering."""

from __future__ import annotations

from pathlib import Path

from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.tui.messages import AssistantBlock, StreamingMarkdown, ThinkingBlock, UserBubble

from .helpers import SIZE, idle, make_app, screen_text, type_and_send, until

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
        # Rendered as markdown: bold without its stars, bullets, and highlighted code.
        shown = screen_text(app)
        assert "Here is bold text." in shown
        assert "• one" in shown
        assert "print('hi')" in shown
        assert "```" not in shown
        strips = app.screen._compositor.render_strips()
        code_row = next(strip for strip in strips if "print('hi')" in strip.text)
        colours = {seg.style.color.name for seg in code_row if seg.style and seg.style.color and seg.text.strip()}
        assert len(colours) >= 2, f"code is not highlighted: {colours}"
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


async def test_thinking_streams_into_a_dimmed_block_that_folds(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    thinking = "The user wants a greeting. A short one will do."
    scripted.enqueue(ScriptedTurn(thinking=thinking, text="Hello!"))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "greet me")
        await until(pilot, lambda: idle(app) and app.query(ThinkingBlock), what="the answer")
        block = app.query_one(ThinkingBlock)
        assert block.thinking == thinking
        assert block.collapsed
        assert block.title.startswith("thought")
        assert app.query_one(AssistantBlock).text == "Hello!"


async def test_a_message_sent_while_the_agent_works_is_queued_as_steering(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": "sleep 1"})]),
        ScriptedTurn(text="Noted, checking the README too."),
    )
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "run the slow thing")
        await until(pilot, lambda: app.status.state.startswith("running"), what="the tool")
        await type_and_send(pilot, app, "also check the README")
        pending = app.pending.query(UserBubble)
        assert [b.text for b in pending] == ["also check the README"]
        assert pending[0].has_class("pending")
        assert "queued" in screen_text(app)
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")
        # Delivered before the next model call, and moved from the queue into the chat.
        assert scripted.request_messages(1)[-1] == {"role": "user", "content": "also check the README"}
        assert not app.pending.query(UserBubble)
        assert [b.text for b in app.chat.query(UserBubble)] == ["run the slow thing", "also check the README"]


async def test_steering_left_after_an_abort_returns_to_the_editor(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": "sleep 20"})]))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "slow")
        await until(pilot, lambda: app.status.state.startswith("running"), what="the tool")
        await type_and_send(pilot, app, "never mind, do X")
        await pilot.press("escape")
        await until(pilot, lambda: idle(app) and not app.pending.query(UserBubble), what="the abort")
        assert app.input.text == "never mind, do X"
        assert len(scripted.requests) == 1


async def test_page_keys_scroll_a_long_chat_and_new_text_follows_the_bottom(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    long_answer = "".join(f"Line {i} of a long answer.\n\n" for i in range(60))
    scripted.enqueue(ScriptedTurn(text=long_answer))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "long please")
        await until(pilot, lambda: idle(app) and app.query(AssistantBlock), what="the answer")
        await until(pilot, lambda: "Line 59" in screen_text(app), what="the end of the answer in view")
        await pilot.press("pageup")
        await until(pilot, lambda: "Line 59" not in screen_text(app), what="scrolling up")
        assert app.chat.scroll_y < app.chat.max_scroll_y
        await pilot.press("pagedown", "pagedown", "pagedown")
        await until(pilot, lambda: "Line 59" in screen_text(app), what="scrolling back down")


async def test_an_unpriced_model_shows_an_unknown_cost_not_zero(
    sse_server: SSEServer, project: Path, env: dict[str, str]
) -> None:
    with ScriptedModel(sse_server, price=None) as unpriced:
        unpriced.enqueue(ScriptedTurn(text="hi", prompt_tokens=1200, completion_tokens=300))
        app = make_app(unpriced, project, env)
        async with app.run_test(size=SIZE) as pilot:
            await type_and_send(pilot, app, "say hi")
            await until(pilot, lambda: idle(app) and app.query(AssistantBlock), what="the answer")
            await until(pilot, lambda: app.status.unpriced == 1, what="the usage")
            shown = screen_text(app)
            assert "$?" in shown
            assert "$0" not in shown
