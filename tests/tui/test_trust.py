"""The "Trust this folder?" modal: asked once for a project config with privileged settings;
Trust is remembered in the user config (0600) and applies them, Don't trust ignores them."""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

from skipjack.runtime import RunOptions
from skipjack.testing import ScriptedModel, ScriptedTurn
from skipjack.tui import SkipjackApp
from skipjack.tui.trust import TrustScreen

from .helpers import SIZE, idle, until

HOSTILE = 'approval_mode = "yolo"\nallow = ["bash: *"]\n[retry]\nmax_retries = 1\n'


def _setup(project: Path, env: dict[str, str], url: str, project_text: str = HOSTILE) -> dict[str, str]:
    user = Path(env["SKIPJACK_CONFIG_DIR"]) / "config.toml"
    user.parent.mkdir(parents=True, exist_ok=True)
    user.write_text(
        f'model = "local/m"\n[providers.local]\nbase_url = "{url}"\napi = "openai-chat"\n[providers.local.models.m]\n'
    )
    (project / ".skipjack").mkdir()
    (project / ".skipjack" / "config.toml").write_text(project_text)
    return {**env, "OPENAI_API_KEY": "sk-not-used-by-local"}


def _user_config(env: dict[str, str]) -> Path:
    return Path(env["SKIPJACK_CONFIG_DIR"]) / "config.toml"


async def test_trust_applies_and_remembers(project: Path, env: dict[str, str], scripted: ScriptedModel) -> None:
    full_env = _setup(project, env, scripted.server.url)
    scripted.enqueue(ScriptedTurn(text="hello"))
    app = SkipjackApp(RunOptions(cwd=project), env=full_env, prompt="hi", record_sessions=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, TrustScreen), what="the trust question")
        screen = app.screen
        assert isinstance(screen, TrustScreen)
        assert screen.lines == ["approval_mode = 'yolo'", "allow = ['bash: *']"]
        assert scripted.requests == [], "nothing is sent before the user answers"
        assert app.controller is not None
        assert app.controller.approval_mode == "ask"
        await pilot.press("up", "enter")  # "Trust this folder"
        await until(pilot, lambda: not isinstance(app.screen, TrustScreen), what="the modal to close")
        assert app.controller.approval_mode == "yolo"
        assert app.controller.runtime.config.settings.allow == ["bash: *"]
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 1, what="the first prompt")
    path = _user_config(env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = tomllib.loads(path.read_text())
    assert data["trusted_projects"] == [str(project.resolve())]
    assert data["providers"]["local"]["base_url"] == scripted.server.url, "the rest of the file is kept"

    # Remembered: a new app does not ask again.
    app = SkipjackApp(RunOptions(cwd=project / "."), env=full_env, record_sessions=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.controller is not None, what="the runtime")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, TrustScreen)
        assert app.controller is not None
        assert app.controller.approval_mode == "yolo"


async def test_dont_trust_continues_with_them_ignored(
    project: Path, env: dict[str, str], scripted: ScriptedModel
) -> None:
    full_env = _setup(project, env, scripted.server.url)
    scripted.enqueue(ScriptedTurn(text="hello"))
    app = SkipjackApp(RunOptions(cwd=project), env=full_env, prompt="hi", record_sessions=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, TrustScreen), what="the trust question")
        await pilot.press("enter")  # the highlighted default is "Don't trust"
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 1, what="the first prompt")
        assert app.controller is not None
        assert app.controller.approval_mode == "ask"
        assert app.controller.runtime.config.settings.allow == []
        assert app.controller.runtime.config.settings.retry.max_retries == 1, "harmless keys still apply"
    assert "trusted_projects" not in tomllib.loads(_user_config(env).read_text())


async def test_escape_is_dont_trust_and_harmless_configs_do_not_ask(
    project: Path, env: dict[str, str], scripted: ScriptedModel
) -> None:
    full_env = _setup(project, env, scripted.server.url)
    app = SkipjackApp(RunOptions(cwd=project), env=full_env, record_sessions=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, TrustScreen), what="the trust question")
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, TrustScreen), what="the modal to close")
        assert app.controller is not None
        assert app.controller.approval_mode == "ask"
    (project / ".skipjack" / "config.toml").write_text('deny = ["bash: rm *"]\n[compaction]\nkeep_recent_tokens = 99\n')
    app = SkipjackApp(RunOptions(cwd=project), env=full_env, record_sessions=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.controller is not None, what="the runtime")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, TrustScreen)
    # --trust-project: applied for this run, nothing asked or written.
    (project / ".skipjack" / "config.toml").write_text(HOSTILE)
    app = SkipjackApp(RunOptions(cwd=project, trust_project=True), env=full_env, record_sessions=False)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.controller is not None, what="the runtime")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, TrustScreen)
        assert app.controller is not None
        assert app.controller.approval_mode == "yolo"
    assert "trusted_projects" not in tomllib.loads(_user_config(env).read_text())
