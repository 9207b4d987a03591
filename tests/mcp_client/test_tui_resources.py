"""`@server:uri` completion in the prompt, live: the TUI asks the controller for the ready
servers' resources (it builds nothing itself), choosing one attaches it, and the next
request carries the resource's content."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.cli.helpers import isolated_env
from tests.mcp_client.conftest import HTTP_SERVER
from tests.tui.helpers import SIZE, idle, until

from skipjack.controller import Controller
from skipjack.runtime import RunOptions
from skipjack.testing import ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply
from skipjack.tui import SkipjackApp


def _app(tmp_path: Path, server: SSEServer) -> tuple[SkipjackApp, Path]:
    env = isolated_env(tmp_path)
    markers = tmp_path / "m"
    markers.mkdir()
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text(
        f"""model = "scripted/m1"
approval_mode = "yolo"
[providers.scripted]
base_url = "{server.url}"
api = "openai-chat"
[providers.scripted.models.m1]
context_window = 100000
[mcp.servers.test]
command = "{sys.executable}"
args = ["{HTTP_SERVER}", "stdio", "{markers}"]
"""
    )
    project = tmp_path / "project"
    (project / ".git").mkdir(parents=True)
    (project / "test_notes.txt").write_text("a file that also starts with te\n")
    controller = Controller.build(RunOptions(cwd=project), env=env, record_sessions=False)
    return SkipjackApp(RunOptions(cwd=project), controller=controller, env=env), project


async def test_at_completion_lists_a_servers_resources_and_attaches_the_chosen_one(
    tmp_path: Path, server: SSEServer
) -> None:
    server.enqueue(turn_reply(ScriptedTurn(text="read it")))
    app, _project = _app(tmp_path, server)
    async with app.run_test(size=SIZE) as pilot:
        controller = app.controller
        assert controller is not None
        await until(
            pilot,
            lambda: [s.state for s in controller.mcp.statuses()] == ["ready"],
            limit=60,
            what="the stdio server to list its resources",
        )
        prompt = app.input
        prompt.focus()
        menu = app.prompt_box.menu
        await pilot.press(*"summarise @te")
        assert menu.is_open
        assert menu.completion is not None
        values = [i.value for i in menu.completion.items]
        # The server's resources first, then the project's files for the same word.
        assert values == ["@test:notes://readme ", "@test:mem://odd ", "@test_notes.txt "]
        await pilot.press("escape")
        assert not menu.is_open

        # Typing on narrows the list to the one resource; Tab takes it.
        await pilot.press(*"st:no")
        assert menu.completion is not None
        assert [i.value for i in menu.completion.items] == ["@test:notes://readme "]
        await pilot.press("tab")
        assert prompt.text == "summarise @test:notes://readme "
        assert not menu.is_open
        await pilot.press(*"please", "enter")
        await until(pilot, lambda: len(server.requests) == 1 and idle(app), limit=30, what="the request")
    sent = server.requests[0].json()["messages"][-1]["content"]
    assert sent.startswith("summarise @test:notes://readme please")
    assert '<resource server="test" uri="notes://readme">\nthe notes say hello\n</resource>' in sent


async def test_at_completion_is_not_fooled(tmp_path: Path, server: SSEServer) -> None:
    """An e-mail address, a server that is not configured, a name that looks like markup."""
    app, _project = _app(tmp_path, server)
    async with app.run_test(size=SIZE) as pilot:
        controller = app.controller
        assert controller is not None
        await until(pilot, lambda: [s.state for s in controller.mcp.statuses()] == ["ready"], limit=60)
        prompt = app.input
        prompt.focus()
        menu = app.prompt_box.menu
        await pilot.press(*"mail me@te")
        assert not menu.is_open  # not after a word character
        prompt.clear()
        await pilot.press(*"@nobody:")
        assert not menu.is_open
        prompt.clear()
        await pilot.press(*"@test:mem")
        assert menu.is_open
        assert menu.completion is not None
        assert [i.label for i in menu.completion.items] == ["@test:mem://odd  [/bold] odd [red"]
        await pilot.pause()
        await pilot.press("enter")  # takes the completion
        assert prompt.text == "@test:mem://odd "
    assert server.requests == []
