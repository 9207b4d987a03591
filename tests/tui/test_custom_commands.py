"""Custom commands in the UI: listed in /help and the `/` menu, run as prompts when sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from skipjack.agent import Agent
from skipjack.config import Settings
from skipjack.config.loader import LoadedConfig
from skipjack.controller import Controller
from skipjack.extensions import load_extensions
from skipjack.runtime import RunOptions, Runtime
from skipjack.safety.policy import ApprovalPolicy
from skipjack.subagents import TaskTool
from skipjack.testing import ScriptedModel, ScriptedTurn
from skipjack.tools import default_tools
from skipjack.tui.app import SkipjackApp
from skipjack.tui.completion import complete
from skipjack.tui.messages import Notice, static_text

from .helpers import FAST, SIZE, idle, type_and_send, until


def app_with_commands(scripted: ScriptedModel, project: Path, env: dict[str, str]) -> SkipjackApp:
    """As `build_runtime` makes it: the user's commands found, and the `task` tool."""
    commands = Path(env["SKIPJACK_CONFIG_DIR"]) / "commands"
    commands.mkdir(parents=True)
    (commands / "explain.md").write_text("---\ndescription: Explain a file\nargument-hint: FILE\n---\nExplain $1.\n")
    (commands / "help.md").write_text("---\ndescription: shadowing a built-in\n---\nnever sent\n")
    tools = [*default_tools(project), TaskTool({})]
    agent = Agent(scripted.model, system_prompt="t", tools=tools, options=FAST, cwd=project)
    runtime = Runtime(
        agent=agent,
        model=scripted.model,
        config=LoadedConfig(settings=Settings(), sources={}, warnings=[]),
        policy=ApprovalPolicy("yolo", project, sandboxed=True),
        extensions=load_extensions(user_config_dir=commands.parent, project_root=project, trusted=False),
    )
    return SkipjackApp(RunOptions(cwd=project), controller=Controller(runtime), env=env)


async def test_custom_commands_are_listed_completed_and_sent_expanded(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    scripted.enqueue(ScriptedTurn(text="it prints"))
    app = app_with_commands(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "/help")
        await until(pilot, lambda: any("/explain" in static_text(n) for n in app.query(Notice)), what="help")
        text = next(static_text(n) for n in app.query(Notice) if "/explain" in static_text(n))
        assert "Explain a file (FILE) (custom command)" in text
        # A built-in keeps its name: the custom /help file was not sent to the model.
        assert scripted.requests == []
        menu = complete("/ex", project, app.prompt_box.input._commands())  # type: ignore[attr-defined]
        assert menu is not None
        assert any("/explain" in item.label for item in menu.items)
        await type_and_send(pilot, app, "/explain hello.py")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 1, what="the run")
        assert scripted.request_messages(0)[-1]["content"] == "Explain hello.py."


async def test_a_subagent_shows_in_its_task_panel_with_its_cost(
    scripted: ScriptedModel, project: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from skipjack.testing import ScriptedToolCall
    from skipjack.tui.tool_panel import ToolPanel

    (project / "notes.txt").write_text("n\n")
    child_first = ScriptedTurn(tool_calls=[ScriptedToolCall("read", {"path": "notes.txt"}, id="r1")])
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("task", {"description": "d", "prompt": "look"}, id="t1")]),
        child_first,
        ScriptedTurn(text="child says hi", prompt_tokens=1000),
        ScriptedTurn(text="parent done"),
    )
    app = app_with_commands(scripted, project, env)
    streamed: list[tuple[str, str]] = []
    append = ToolPanel.append_output

    def record(panel: ToolPanel, chunk: str) -> None:
        streamed.append((panel.tool_name, chunk))
        append(panel, chunk)

    monkeypatch.setattr(ToolPanel, "append_output", record)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "go")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 4, what="the run")
        panel = app.query_one(ToolPanel)
        assert panel.tool_name == "task"
        assert panel.output == "child says hi"
        cost = (10 + 1000) * 3.0 / 1e6 + (5 + 5) * 15.0 / 1e6
        assert f"general · 2 turns · ${cost:.4f}" in panel.meta
        assert ("task", "→ read notes.txt\n") in streamed
        assert ("task", f"[general: completed · 2 turns · ${cost:.4f}]\n") in streamed


async def test_a_prompt_blocked_by_a_hook_says_why_and_sends_nothing(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    import msgspec

    hooks = {"UserPromptSubmit": [{"hooks": [{"command": "echo 'no secrets in prompts' >&2; exit 2"}]}]}
    settings = msgspec.convert({"hooks": hooks}, Settings)
    agent = Agent(scripted.model, system_prompt="t", tools=default_tools(project), options=FAST, cwd=project)
    runtime = Runtime(
        agent=agent,
        model=scripted.model,
        config=LoadedConfig(settings=settings, sources={}, warnings=[]),
        policy=ApprovalPolicy("yolo", project, sandboxed=True),
    )
    app = SkipjackApp(RunOptions(cwd=project), controller=Controller(runtime), env=env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "my password is hunter2")
        await until(pilot, lambda: any("hook blocked" in static_text(n) for n in app.query(Notice)), what="notice")
        text = next(static_text(n) for n in app.query(Notice) if "hook blocked" in static_text(n))
        assert "no secrets in prompts" in text
        assert "internal error" not in " ".join(static_text(n) for n in app.query(Notice))
        assert scripted.requests == []
        assert idle(app)
