"""Setup checks the new key (or server) with one 1-token request and says what is wrong, with a
way to type it again or go on anyway (issue 17, item 16: "setup never validates the key")."""

from __future__ import annotations

from pathlib import Path

import pytest

from skipjack.config import set_config_value
from skipjack.runtime import RunOptions
from skipjack.testing import Reply, ScriptedModel, ScriptedTurn, SSEServer
from skipjack.tui import SkipjackApp
from skipjack.tui.messages import static_text
from skipjack.tui.setup import LOCAL, SetupScreen

from .helpers import SIZE, until

REFUSED = Reply.error(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})


def openai_at(server: SSEServer, env: dict[str, str]) -> None:
    """The registry's openai provider, reached at the loopback server (no key configured)."""
    path = Path(env["SKIPJACK_CONFIG_DIR"]) / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    set_config_value(path, ("providers", "openai", "base_url"), server.url)


def problem(screen: SetupScreen) -> str:
    return static_text(screen.problem_text) if screen.problem_text.has_class("-shown") else ""


async def open_setup(app: SkipjackApp, pilot: object) -> SetupScreen:
    screen = SetupScreen(app.env, check=app.check_access)
    app.push_screen(screen, callback=app._after_setup)
    await until(pilot, lambda: app.screen is screen, what="the setup screen")  # type: ignore[arg-type]
    return screen


async def test_a_refused_key_is_said_and_typed_again(
    project: Path, env: dict[str, str], scripted: ScriptedModel
) -> None:
    openai_at(scripted.server, env)
    scripted.enqueue(REFUSED, ScriptedTurn(text="OK"))
    app = SkipjackApp(RunOptions(cwd=project), env=env)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_setup(app, pilot)
        screen.filter.value = "openai"
        await pilot.pause(0.05)
        screen.options.highlighted = [v for v, _ in screen.shown].index("openai")
        await pilot.press("enter")
        await pilot.press(*"sk-typo", "enter")
        await until(pilot, lambda: screen.step == "model", what="the model list")
        chosen = screen.models[0]
        await pilot.press("enter")
        await until(pilot, lambda: screen.step == "problem", what="the refusal")
        said = problem(screen)
        assert "openai refused the key" in said
        assert "HTTP 401" in said
        assert "Incorrect API key" in said
        assert "$OPENAI_API_KEY" in said  # where the key is read from
        assert "[keys] openai" in said
        assert scripted.requests[0].headers.get("authorization") == "Bearer sk-typo"
        # Typing "r" asks for the key again; the good one passes the check and setup ends.
        await pilot.press("r")
        assert screen.step == "key"
        assert screen.key_input.has_focus
        assert screen.key_input.value == ""
        await pilot.press(*"sk-good", "enter")
        await until(pilot, lambda: screen.step == "model", what="the model list again")
        screen.options.highlighted = screen.models.index(chosen)
        await pilot.press("enter")
        await until(pilot, lambda: app.controller is not None, what="the runtime")
        assert scripted.requests[1].headers.get("authorization") == "Bearer sk-good"
        assert app.agent is not None
        assert app.agent.options.api_key == "sk-good"
        assert len(scripted.requests) == 2


async def test_going_on_anyway_after_an_unreachable_server(
    project: Path, env: dict[str, str], sse_server: SSEServer
) -> None:
    closed = "http://127.0.0.1:9/v1"  # the discard port: nothing listens
    app = SkipjackApp(RunOptions(cwd=project), env=env)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SetupScreen), what="the setup screen")
        screen = app.screen
        assert isinstance(screen, SetupScreen)
        screen.options.highlighted = [pid for pid, _ in screen.shown].index(LOCAL)
        await pilot.press("enter")
        await pilot.press(*closed, "enter")
        await pilot.press(*"gpt-4.1", "enter")
        await until(pilot, lambda: screen.step == "problem", limit=20, what="the failure")
        said = problem(screen)
        assert said.startswith("✗ could not reach http://127.0.0.1:9/v1"), said
        assert "r: type the server address again" in static_text(screen.hint)
        await pilot.press("enter")  # continue anyway
        await until(pilot, lambda: app.controller is not None, what="the runtime")
        assert app.agent is not None
        assert app.agent.model.ref == "local/gpt-4.1"


async def test_a_wrong_model_name_is_not_blamed_on_the_key(
    project: Path, env: dict[str, str], scripted: ScriptedModel
) -> None:
    missing = Reply.error(404, {"error": {"message": "model 'gpt-4.2' not found"}})
    scripted.enqueue(missing)
    app = SkipjackApp(RunOptions(cwd=project), env=env)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SetupScreen), what="the setup screen")
        screen = app.screen
        assert isinstance(screen, SetupScreen)
        screen.options.highlighted = [pid for pid, _ in screen.shown].index(LOCAL)
        await pilot.press("enter")
        await pilot.press(*scripted.server.url, "enter")
        await pilot.press(*"gpt-4.2", "enter")
        await until(pilot, lambda: screen.step == "problem", what="the refusal")
        said = problem(screen)
        assert "model 'gpt-4.2'" in said
        assert "check the model" in said
        assert "refused the key" not in said
        # r: the server and name again; Esc skips setup (what was saved stays).
        await pilot.press("r")
        assert screen.step == "local"
        assert screen.url_input.has_focus
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, SetupScreen), what="setup closed")


async def test_a_check_that_breaks_is_reported_not_fatal(
    project: Path, env: dict[str, str], scripted: ScriptedModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import skipjack.controller.access_check as access_check

    async def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("unexpected")

    monkeypatch.setattr(access_check, "complete", broken)
    app = SkipjackApp(RunOptions(cwd=project), env=env)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, SetupScreen), what="the setup screen")
        screen = app.screen
        assert isinstance(screen, SetupScreen)
        screen.options.highlighted = [pid for pid, _ in screen.shown].index(LOCAL)
        await pilot.press("enter")
        await pilot.press(*scripted.server.url, "enter")
        await pilot.press(*"m", "enter")
        await until(pilot, lambda: screen.step == "problem", what="the report")
        assert "ValueError: unexpected" in problem(screen)
        await pilot.press("enter")
        await until(pilot, lambda: app.controller is not None, what="the runtime")
