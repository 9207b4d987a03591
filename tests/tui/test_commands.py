"""Slash commands against real sessions, the registry and a real shell."""

from __future__ import annotations

import json
from pathlib import Path

from skipjack.config import ModelConfig, ProviderConfig, Settings
from skipjack.llm import Price
from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn
from skipjack.tui.messages import AssistantBlock, Notice, UserBubble, static_text
from skipjack.tui.pickers import PickerScreen
from skipjack.tui.recent import load_recent
from skipjack.tui.tool_panel import ToolPanel

from .helpers import SIZE, idle, make_app, screen_text, type_and_send, until


def notices(app: object) -> list[str]:
    from textual.app import App

    assert isinstance(app, App)
    return [static_text(n) for n in app.query(Notice)]


def custom_settings(url: str) -> Settings:
    other = ModelConfig(price=Price(input=1.0, output=2.0), context_window=32_000)
    provider = ProviderConfig(base_url=url, api="openai-chat", models={"other-model": other})
    return Settings(providers={"lab": provider})


async def test_model_picker_switches_the_model_for_the_next_request(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(ScriptedTurn(text="from the other model"))
    app = make_app(scripted, project, env, settings=custom_settings(scripted.server.url))
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "/model")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        assert len(picker.choices) > 100  # the whole registry, not a hand-made list
        await pilot.press(*"lab/other")
        assert [c.value for c in picker.shown] == ["lab/other-model"]
        assert "32k" in screen_text(app)  # context size
        assert "$1/$2" in screen_text(app)  # prices per Mtok
        await pilot.press("enter")
        await until(pilot, lambda: not isinstance(app.screen, PickerScreen), what="the picker to close")
        assert app.agent is not None
        assert app.agent.model.id == "other-model"
        assert "lab/other-model" in app.status.content.plain  # type: ignore[union-attr]
        await type_and_send(pilot, app, "hi")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 1, what="the run")
        assert scripted.request_body(0)["model"] == "other-model"
        assert load_recent(env)[0] == "lab/other-model"
        # Recent models come first in the picker next time.
        await type_and_send(pilot, app, "/model")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen), what="the picker")
        picker = app.screen
        assert isinstance(picker, PickerScreen)
        assert picker.shown[0].value == "lab/other-model"
        await pilot.press("escape")
        assert app.agent.model.id == "other-model"


async def test_model_by_name_and_unknown_model(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> None:
    app = make_app(scripted, project, env, settings=custom_settings(scripted.server.url))
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "/model lab/other-model")
        await until(pilot, lambda: app.agent is not None and app.agent.model.id == "other-model", what="the switch")
        await type_and_send(pilot, app, "/model nope/nothing")
        await until(pilot, lambda: any("nope" in n for n in notices(app)), what="the error")
        assert app.agent is not None
        assert app.agent.model.id == "other-model"


async def test_resume_picks_a_saved_session_and_continues_it(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(
        ScriptedTurn(text="The capital of France is Paris."),
        ScriptedTurn(text="About 2.1 million people."),
    )
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "capital of France?")
        await until(pilot, lambda: idle(app) and app.query(AssistantBlock), what="the answer")
        assert app.session is not None
        first_id = app.session.id
        await type_and_send(pilot, app, "/new")
        await until(pilot, lambda: app.session is None and not app.chat.query(UserBubble), what="a new conversation")
        assert app.agent is not None
        assert app.agent.messages == []
        await type_and_send(pilot, app, "/resume")
        await until(pilot, lambda: isinstance(app.screen, PickerScreen), what="the session picker")
        # The picker's rows are drawn a frame or more after it is pushed (slow under load).
        await until(pilot, lambda: "capital of France?" in screen_text(app), what="the session's row")
        await pilot.press("enter")
        await until(pilot, lambda: app.session is not None, what="the resume")
        assert app.session is not None
        assert app.session.id == first_id
        await until(pilot, lambda: app.chat.query(AssistantBlock), what="the history")
        assert [b.text for b in app.chat.query(UserBubble)] == ["capital of France?"]
        assert len(app.agent.messages) == 2
        await type_and_send(pilot, app, "population?")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")
        sent = [m["content"] for m in scripted.request_messages(1) if m["role"] != "system"]
        assert sent == ["capital of France?", "The capital of France is Paris.", "population?"]
        assert app.session.message_count == 4


async def test_resume_latest_at_start_renders_the_history_with_tool_panels(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": "echo hi"})]),
        ScriptedTurn(text="It said hi."),
    )
    first = make_app(scripted, project, env)
    async with first.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, first, "say hi in the shell")
        await until(pilot, lambda: idle(first) and len(scripted.requests) == 2, what="the run")
        cost = first.status.cost
        assert cost > 0
    second = make_app(scripted, project, env, resume="latest")
    async with second.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: second.chat.query(ToolPanel), what="the history")
        panel = second.query_one(ToolPanel)
        assert panel.status == "done"
        assert "hi" in panel.output
        assert any("resumed session" in n for n in notices(second))
        assert abs(second.status.cost - cost) < 1e-12


async def test_fork_cost_export_and_todo(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> None:
    todos = {"todos": [{"content": "write tests", "status": "in_progress"}, {"content": "ship", "status": "pending"}]}
    scripted.enqueue(ScriptedTurn(tool_calls=[ScriptedToolCall("todo", todos)]), ScriptedTurn(text="Planned."))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "plan the work")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the run")
        await type_and_send(pilot, app, "/todo")
        await until(pilot, lambda: any("write tests" in n for n in notices(app)), what="the todo list")
        assert any("▸ write tests" in n and "○ ship" in n for n in notices(app))

        await type_and_send(pilot, app, "/cost")
        await until(pilot, lambda: any("this project: today" in n for n in notices(app)), what="the cost")
        cost = next(n for n in notices(app) if "this project: today" in n)
        assert "scripted/scripted-model" in cost
        session_cost = app.session.usage_totals().cost.total if app.session is not None else 0.0
        assert session_cost > 0
        # The session, and the project's totals (read from its session files) for today and
        # this month: the same two requests.
        assert f"this session ${session_cost:.4f}" in cost
        assert f"today ${session_cost:.4f} (2 requests)" in cost
        assert f"this month ${session_cost:.4f} (2 requests)" in cost

        assert app.session is not None
        original = app.session.id
        await type_and_send(pilot, app, "/fork")
        await until(pilot, lambda: app.session is not None and app.session.id != original, what="the fork")
        assert app.session.header.forked_from is not None
        assert app.session.header.forked_from.session == original
        assert app.session.message_count == 4

        await type_and_send(pilot, app, "/export out.md")
        await until(pilot, lambda: (project / "out.md").exists(), what="the export")
        assert "plan the work" in (project / "out.md").read_text()


async def test_bang_runs_a_shell_command_and_help_lists_commands(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "!echo $((6*7)); pwd")
        await until(pilot, lambda: app.query(ToolPanel) and app.query_one(ToolPanel).status != "running", what="it")
        panel = app.query_one(ToolPanel)
        assert "42" in panel.output
        assert str(project) in panel.output
        assert panel.header_text().plain.startswith("✓ !")
        assert scripted.requests == []  # the model never saw it
        await type_and_send(pilot, app, "/help")
        await until(pilot, lambda: any("/resume" in n for n in notices(app)), what="help")
        await type_and_send(pilot, app, "/bogus")
        await until(pilot, lambda: any("unknown command /bogus" in n for n in notices(app)), what="the error")


async def test_recent_models_file_is_json_list(env: dict[str, str]) -> None:
    from skipjack.tui.recent import recent_path, remember

    remember(env, "a/one")
    remember(env, "b/two")
    remember(env, "a/one")
    assert json.loads(recent_path(env).read_text()) == ["a/one", "b/two"]
