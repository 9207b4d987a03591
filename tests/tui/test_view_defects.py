"""Issue 17's defects of the view, each reproduced with Textual's pilot: the model picker
(7), sending from a scrolled-up chat (8), a clicked tool panel (11), the mode reminder not
shown as the user's words (12), prompt history across restarts (15) and the smaller ones
of 16."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from textual import events

from skipjack.controller.events import CompactionEnded
from skipjack.testing import Reply, ScriptedModel, ScriptedToolCall, ScriptedTurn
from skipjack.tui.commands import export_target, is_command
from skipjack.tui.formatting import plural
from skipjack.tui.messages import Notice, UserBubble, static_text
from skipjack.tui.pickers import PickerScreen, rank
from skipjack.tui.prompt_history import MAX_KEPT, PromptHistory, history_path
from skipjack.tui.recent import remember
from skipjack.tui.tool_panel import ToolPanel

from .helpers import SIZE, idle, make_app, screen_text, type_and_send, until
from .test_commands import custom_settings


def notices(app: object) -> list[str]:
    from textual.app import App

    assert isinstance(app, App)
    return [static_text(n) for n in app.query(Notice)]


# -- 7: the model picker ------------------------------------------------------------------


async def test_the_model_picker_starts_on_the_current_model(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    remember(env, "openai/gpt-4.1")  # a recent model above the current one
    app = make_app(scripted, project, env, settings=custom_settings(scripted.server.url))
    async with app.run_test(size=SIZE) as pilot:
        assert app.agent is not None
        current = app.agent.model.ref
        await type_and_send(pilot, app, "/model")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        assert picker.shown[0].value == "openai/gpt-4.1"
        assert picker.options.highlighted is not None
        assert picker.shown[picker.options.highlighted].value == current
        await pilot.press("enter")  # one Enter too many keeps the model
        await until(pilot, lambda: not isinstance(app.screen, PickerScreen), what="the picker to close")
        assert app.agent.model.ref == current


async def test_an_exact_match_ranks_above_resellers(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "/model")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        await pilot.press(*"openai/gpt-4.1")
        assert picker.shown[0].value == "openai/gpt-4.1"
        assert picker.options.highlighted == 0
        picker.filter.value = ""
        await pilot.press(*"gpt-4.1")
        assert picker.shown[0].value == "openai/gpt-4.1", "the maker first among equal ids"
        assert all(c.value.lower().partition("/")[2] == "gpt-4.1" for c in picker.shown[:3])
        await pilot.press("escape")


def test_rank_puts_the_same_provider_first_among_equal_matches() -> None:
    values = ["anyapi/openai/gpt-4.1", "openrouter/gpt-4.1", "azure/gpt-4.1", "openai/gpt-4.1-mini"]
    ranked = sorted(values, key=lambda v: rank(v, "gpt-4.1", "azure/gpt-4o"))
    assert ranked[:2] == ["azure/gpt-4.1", "openrouter/gpt-4.1"]
    assert ranked[-1] == "anyapi/openai/gpt-4.1" or ranked[-2] == "anyapi/openai/gpt-4.1"
    assert rank("OpenAI/GPT-4.1", " openai/gpt-4.1 ", None)[0] == 0, "case and spaces do not matter"


# -- 8: sending scrolls to the bottom --------------------------------------------------------


async def test_sending_from_a_scrolled_up_chat_shows_the_reply(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(ScriptedTurn(text="THE REPLY TO THE NEW PROMPT"))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        for i in range(60):
            app.chat.notice(f"earlier output {i}")
        await pilot.pause(0.1)
        await pilot.press("pageup", "pageup", "pageup")
        await pilot.pause(0.1)
        assert app.chat.scroll_y < app.chat.max_scroll_y
        await type_and_send(pilot, app, "new question")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 1, what="the reply")
        await pilot.pause(0.2)
        assert app.chat.scroll_y >= app.chat.max_scroll_y - 1
        assert "THE REPLY TO THE NEW PROMPT" in screen_text(app)


async def test_page_up_moves_one_page_per_press_even_when_fast(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        for i in range(200):
            app.chat.notice(f"line {i}")
        await pilot.pause(0.2)
        bottom = app.chat.scroll_y
        page = app.chat.scrollable_content_region.height
        for _ in range(3):
            app.post_message(events.Key("pageup", None))
        await pilot.pause(0.2)
        assert bottom - app.chat.scroll_y == 3 * page


# -- 11: a clicked tool panel must not trap the keys ------------------------------------------


async def test_typing_after_clicking_a_tool_panel_reaches_the_prompt(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": "echo hi"})]), ScriptedTurn(text="done")
    )
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "run")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")
        panel = app.query_one(ToolPanel)
        await pilot.click(ToolPanel)
        await pilot.pause(0.1)
        assert panel.expanded, "the click still toggles the panel"
        await pilot.press(*"next question")
        assert app.input.text == "next question"
        assert app.focused is app.input


# -- 12: the mode reminder is for the model, not a bubble of the user's -------------------------


async def test_plan_mode_is_told_to_the_model_and_not_shown_as_typed(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(ScriptedTurn(text="Here is the plan."))
    app = make_app(scripted, project, env, mode="ask")
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "/approval plan")
        await until(pilot, lambda: "plan" in app.status.content.plain, what="the mode")  # type: ignore[union-attr]
        await type_and_send(pilot, app, "how would you fix it?")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 1, what="the reply")
        sent = scripted.request_messages(0)[-1]["content"]
        text = sent if isinstance(sent, str) else "".join(part.get("text", "") for part in sent)
        assert "Plan mode is on" in text
        assert [b.text for b in app.query(UserBubble)] == ["how would you fix it?"]
        assert "system-reminder" not in screen_text(app)


# -- 15: prompt history per project, kept across restarts ---------------------------------------


async def test_prompt_history_survives_a_restart_privately(
    scripted: ScriptedModel, project: Path, env: dict[str, str], tmp_path: Path
) -> None:
    scripted.enqueue(ScriptedTurn(text="one"))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "the first prompt")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 1, what="the reply")
        await type_and_send(pilot, app, "/help")
    path = history_path(env, project)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other = tmp_path / "elsewhere"
    other.mkdir()
    again = make_app(scripted, project / ".", env)
    async with again.run_test(size=SIZE) as pilot:
        again.input.focus()
        await pilot.press("up")
        assert again.input.text == "/help"
        await pilot.press("up")
        assert again.input.text == "the first prompt"
    elsewhere = make_app(scripted, other, env)
    async with elsewhere.run_test(size=SIZE) as pilot:
        elsewhere.input.focus()
        await pilot.press("up")
        assert elsewhere.input.text == "", "another project's history is its own"


def test_prompt_history_is_capped_and_skips_junk(tmp_path: Path) -> None:
    env = {"SKIPJACK_DATA_DIR": str(tmp_path / "data")}
    history = PromptHistory(env, tmp_path)
    for i in range(2 * MAX_KEPT + 5):
        history.add(f"prompt {i}")
    history.add("   ")
    history.add("x" * 1_000_000)  # a pasted file is not kept
    with history.path.open("a") as f:
        f.write("{not json\n" + json.dumps({"an": "object"}) + "\n")
    loaded = PromptHistory(env, tmp_path).load()
    assert len(loaded) == MAX_KEPT
    assert loaded[-1] == f"prompt {2 * MAX_KEPT + 4}"
    assert len(history.path.read_text().splitlines()) <= 2 * MAX_KEPT + 2
    os.chmod(history.path, 0o644)
    history.add("again")
    assert stat.S_IMODE(history.path.stat().st_mode) == 0o600


# -- 16: the smaller ones ---------------------------------------------------------------------


async def test_the_first_screen_says_where_with_what_and_how_to_get_help(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    from skipjack import __version__

    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        text = screen_text(app)
        assert f"skipjack {__version__}" in text
        assert project.name in text
        assert app.agent is not None
        assert app.agent.model.ref in text
        assert "/help" in text


async def test_clear_and_quit_are_commands(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> None:
    scripted.enqueue(ScriptedTurn(text="one"))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "hello")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 1, what="the reply")
        await type_and_send(pilot, app, "/clear")
        await until(pilot, lambda: not app.query(UserBubble), what="a new conversation")
        assert app.agent is not None
        assert app.agent.messages == []
        assert not any("unknown command" in n for n in notices(app))
        await type_and_send(pilot, app, "/quit")
        await until(pilot, lambda: not app.is_running, what="the exit")


async def test_a_prompt_starting_with_an_absolute_path_goes_to_the_model(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(ScriptedTurn(text="I see."))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "/etc/hosts has a wrong line, why?")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 1, what="the reply")
        assert not any("unknown command" in n for n in notices(app))


def test_what_counts_as_a_command() -> None:
    for text in ("/help", "/model lab/x", "/nosuch", "/new  ", "/foo-bar"):
        assert is_command(text), text
    for text in ("/etc/hosts is wrong", "/ what", "/", "//comment", "/home/me/x.py: error", "/./x", "/tmp"):
        assert not is_command(text) or text == "/tmp", text


async def test_quitting_says_how_to_resume(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> None:
    scripted.enqueue(ScriptedTurn(text="one"))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "hello")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 1, what="the reply")
        session_id = app.session.id if app.session is not None else ""
        await type_and_send(pilot, app, "/exit")
        await until(pilot, lambda: not app.is_running, what="the exit")
    assert app.goodbye is not None
    assert "skipjack --continue" in app.goodbye
    assert session_id in app.goodbye


async def test_nothing_to_resume_means_no_resume_line(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "/exit")
        await until(pilot, lambda: not app.is_running, what="the exit")
    assert app.goodbye is None


def test_export_goes_to_the_data_dir_unless_told(project: Path, env: dict[str, str]) -> None:
    target = export_target(project, "", "abc", env)
    assert not target.is_relative_to(project)
    assert target.is_relative_to(Path(env["SKIPJACK_DATA_DIR"]))
    assert export_target(project, "notes/out.md", "abc", env) == project / "notes" / "out.md"
    assert export_target(project, "~/out.md", "abc", env) == Path(env["HOME"]) / "out.md"


async def test_retries_update_one_notice(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> None:
    busy = Reply(status=503, headers={"content-type": "application/json"}, body=[b'{"error": "busy"}'])
    scripted.enqueue(busy, busy, ScriptedTurn(text="finally"))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "hello")
        await until(pilot, lambda: idle(app) and "finally" in screen_text(app), what="the reply")
        retries = [n for n in notices(app) if "retrying" in n]
        assert len(retries) == 1, retries
        assert "retry 2" in retries[0]


async def test_a_rejected_key_names_what_to_set(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> None:
    denied = Reply(status=401, headers={"content-type": "application/json"}, body=[b'{"error": "bad key"}'])
    scripted.enqueue(denied)
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "hello")
        await until(pilot, lambda: idle(app) and any("failed" in n for n in notices(app)), what="the error")
        assert app.agent is not None
        failure = next(n for n in notices(app) if "failed" in n)
        assert f"[keys] {app.agent.model.provider}" in failure


async def test_a_compaction_of_one_message_is_singular(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        app.on_controller_event(CompactionEnded("manual", 1, 2, 1000, 200, 0.0))
        await pilot.pause(0.05)
        assert any("1 message summarised" in n for n in notices(app))
    assert plural(2, "message") == "2 messages"


async def test_a_resumed_session_shows_its_diffs(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> None:
    (project / "calc.py").write_text("def area(w, h):\n    return w + h\n")
    edit = ScriptedToolCall("edit", {"path": "calc.py", "old_text": "w + h", "new_text": "w * h"})
    scripted.enqueue(ScriptedTurn(tool_calls=[edit]), ScriptedTurn(text="fixed"))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "fix")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")
        live = app.query_one(ToolPanel).diff
    assert live is not None
    again = make_app(scripted, project, env, resume="latest")
    async with again.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: again.query(ToolPanel), what="the resumed session")
        assert again.query_one(ToolPanel).diff == live


async def test_selected_text_is_copied_by_ctrl_c_not_aborting(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(ScriptedTurn(text="SELECT ME PLEASE"))
    app = make_app(scripted, project, env)
    copied: list[str] = []
    app.copy_to_clipboard = copied.append  # type: ignore[method-assign]
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "hello")
        await until(pilot, lambda: idle(app) and "SELECT ME" in screen_text(app), what="the reply")
        from textual.selection import Selection

        from skipjack.tui.messages import StreamingMarkdown

        # What a drag over the reply selects (Textual's selection, driven here directly).
        reply = app.query_one(StreamingMarkdown)
        app.screen.selections = {reply: Selection(None, None)}
        await pilot.pause(0.05)
        await pilot.press("ctrl+c")
        assert copied
        assert "SELECT" in copied[0]
        assert app.is_running, "the first Ctrl+C copied; it did not arm the exit"
