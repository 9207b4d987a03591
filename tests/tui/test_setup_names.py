"""Local-server setup with model names TOML would split (issue 17, item 2): the written
config reads back as the same model, and the next launch uses it without hand edits."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from skipjack.controller import Controller
from skipjack.runtime import RunOptions
from skipjack.testing import ScriptedModel, ScriptedTurn
from skipjack.tui import SkipjackApp
from skipjack.tui.setup import LOCAL, SetupScreen

from .helpers import SIZE, idle, type_and_send, until

NAMES = ["gpt-4.1", "meta-llama/Llama-3.1-8B-Instruct", "my model 2.5", 'qwen"2.5"', "a.b.c/d.e", "ünï.côde"]


@pytest.mark.parametrize("name", NAMES)
async def test_a_local_model_name_round_trips_through_the_config(
    project: Path, env: dict[str, str], scripted: ScriptedModel, name: str
) -> None:
    # Setup's 1-token check of the server, the first launch's prompt, the next launch's.
    scripted.enqueue(ScriptedTurn(text="OK"), ScriptedTurn(text="first launch"), ScriptedTurn(text="second launch"))
    app = SkipjackApp(RunOptions(cwd=project), env=env)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SetupScreen), what="the setup screen")
        screen = app.screen
        assert isinstance(screen, SetupScreen)
        screen.options.highlighted = [pid for pid, _ in screen.choices].index(LOCAL)
        await pilot.press("enter")
        await pilot.press(*scripted.server.url, "enter")
        screen.name_input.value = name  # some of these cannot be typed key by key in a test
        await pilot.press("enter")
        await until(pilot, lambda: app.controller is not None, what="the controller")
        assert app.agent is not None
        assert app.agent.model.id == name
        await type_and_send(pilot, app, "hi")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the answer")
    assert scripted.request_body(0)["model"] == name  # the check asked for the same model
    assert scripted.request_body(1)["model"] == name
    data = tomllib.loads((Path(env["SKIPJACK_CONFIG_DIR"]) / "config.toml").read_text())
    assert data["model"] == f"local/{name}"
    assert list(data["providers"]["local"]["models"]) == [name], "one key, not a table per dot"
    # The next launch: straight to the model, no "did you mean" refusal.
    controller = Controller.build(RunOptions(cwd=project), env=env, record_sessions=False)
    assert controller.model.id == name
    assert controller.model.base_url == scripted.server.url
    await controller.prompt("again")
    assert scripted.request_body(2)["model"] == name
    controller.close()


async def test_providers_and_models_filter_as_you_type(project: Path, env: dict[str, str]) -> None:
    """~100 providers: typing narrows them; the model list does not open on an image model."""
    app = SkipjackApp(RunOptions(cwd=project), env=env)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SetupScreen), what="the setup screen")
        screen = app.screen
        assert isinstance(screen, SetupScreen)
        await pilot.press(*"openai")
        assert screen.shown[0][0] == "openai"
        assert all("openai" in f"{v} {label}".lower() for v, label in screen.shown)
        await pilot.press("enter")
        await pilot.press(*"sk-test-key", "enter")
        await until(pilot, lambda: screen.step == "model", what="the model list")
        assert screen.options.highlighted == 0
        first = screen.shown[0][0]
        assert not any(word in first for word in ("image", "audio", "tts", "embed", "whisper")), first
        await pilot.press(*"gpt-4.1")
        assert screen.shown
        assert all("gpt-4.1" in v for v, _ in screen.shown)
        await pilot.press("escape")
