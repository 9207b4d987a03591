"""First run without any key: the setup screen stores a key (0600) or a local server, or is skipped."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest

from skipjack.runtime import RunOptions
from skipjack.testing import ScriptedModel, ScriptedTurn
from skipjack.tui import SkipjackApp
from skipjack.tui.messages import Notice, static_text
from skipjack.tui.setup import LOCAL, SetupScreen, needs_setup

from .helpers import SIZE, idle, type_and_send, until


def config_file(env: dict[str, str]) -> Path:
    return Path(env["SKIPJACK_CONFIG_DIR"]) / "config.toml"


def test_setup_is_needed_only_without_any_key(project: Path, env: dict[str, str]) -> None:
    options = RunOptions(cwd=project)
    assert needs_setup(options, env)
    assert not needs_setup(options, {**env, "ANTHROPIC_API_KEY": "sk-test"})
    assert not needs_setup(RunOptions(cwd=project, base_url="http://127.0.0.1:9/v1"), env)


async def test_a_pasted_key_is_stored_privately_and_a_model_chosen(
    project: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The key check would ask api.anthropic.com: tests stay on loopback (test_setup_key_check.py).
    checked: list[str] = []

    async def answered(self: SkipjackApp, ref: str) -> None:
        checked.append(ref)

    monkeypatch.setattr(SkipjackApp, "check_access", answered)
    app = SkipjackApp(RunOptions(cwd=project), env=env)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SetupScreen), what="the setup screen")
        screen = app.screen
        assert isinstance(screen, SetupScreen)
        assert screen.choices[0][0] == "anthropic"
        await pilot.press("enter")
        await pilot.press(*"sk-ant-test-key")
        await pilot.press("enter")
        await until(pilot, lambda: screen.step == "model", what="the model list")
        chosen = screen.models[0]
        assert chosen.startswith("anthropic/")
        await pilot.press("enter")
        await until(pilot, lambda: app.controller is not None, what="the runtime")
        assert app.agent is not None
        assert f"{app.agent.model.provider}/{app.agent.model.id}" == chosen
        assert app.agent.options.api_key == "sk-ant-test-key"
        assert checked == [chosen]
    path = config_file(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = tomllib.loads(path.read_text())
    assert data["keys"]["anthropic"] == "sk-ant-test-key"
    assert data["model"] == chosen


async def test_a_local_server_is_configured_and_answers(
    project: Path, env: dict[str, str], scripted: ScriptedModel
) -> None:
    # The first request is setup's check of the server (one token), the second the prompt.
    scripted.enqueue(ScriptedTurn(text="OK"), ScriptedTurn(text="hello from the local server"))
    app = SkipjackApp(RunOptions(cwd=project), env=env)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SetupScreen), what="the setup screen")
        screen = app.screen
        assert isinstance(screen, SetupScreen)
        screen.options.highlighted = [pid for pid, _ in screen.choices].index(LOCAL)
        await pilot.press("enter")
        await pilot.press(*scripted.server.url, "enter")
        await pilot.press(*"tiny-model", "enter")
        await until(pilot, lambda: app.controller is not None, what="the runtime")
        assert app.agent is not None
        assert app.agent.model.base_url == scripted.server.url
        await type_and_send(pilot, app, "hi")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 2, what="the answer")
        body = scripted.request_body(0)
        assert body.get("max_tokens", body.get("max_completion_tokens")) == 1  # the check: one token
        assert scripted.request_body(1)["model"] == "tiny-model"
    data = tomllib.loads(config_file(env).read_text())
    assert data["model"] == "local/tiny-model"
    assert data["providers"]["local"]["base_url"] == scripted.server.url


async def test_escape_skips_setup(project: Path, env: dict[str, str]) -> None:
    app = SkipjackApp(RunOptions(cwd=project), env=env)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SetupScreen), what="the setup screen")
        await pilot.press("escape")
        await until(pilot, lambda: app.query(Notice), what="the note")
        assert app.controller is None
        assert any("/model" in static_text(n) for n in app.query(Notice))
        assert not config_file(env).exists()
