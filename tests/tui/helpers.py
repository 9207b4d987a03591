"""Building the app against the scripted loopback model, and waiting on it."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from skipjack.agent import Agent, Tool
from skipjack.config import LoadedConfig, Settings
from skipjack.config.schema import ApprovalMode
from skipjack.llm import RetryPolicy, StreamOptions, Timeouts
from skipjack.runtime import RunOptions, Runtime
from skipjack.safety.policy import ApprovalPolicy
from skipjack.testing import ScriptedModel
from skipjack.tools import default_tools
from skipjack.tui import SkipjackApp

FAST = StreamOptions(
    retry=RetryPolicy(max_retries=2, base_delay_ms=10, max_delay_ms=1_000),
    timeouts=Timeouts(connect_ms=2_000, first_byte_ms=10_000, idle_ms=10_000),
)
SIZE = (80, 24)


def make_app(
    scripted: ScriptedModel,
    cwd: Path,
    env: Mapping[str, str],
    *,
    mode: ApprovalMode = "yolo",
    tools: list[Tool[Any]] | None = None,
    settings: Settings | None = None,
    sandboxed: bool = True,
    **kw: Any,
) -> SkipjackApp:
    agent = Agent(
        scripted.model,
        system_prompt="You are a test.",
        tools=default_tools(cwd) if tools is None else tools,
        options=FAST,
        cwd=cwd,
    )
    settings = settings or Settings()
    config = LoadedConfig(settings=settings, sources={}, warnings=[])
    # `sandboxed` stands in for the OS sandbox probe: these tests are about the prompts.
    policy = ApprovalPolicy(mode, cwd, sandboxed=sandboxed, allow=settings.allow, deny=settings.deny)
    runtime = Runtime(agent=agent, model=scripted.model, config=config, policy=policy)
    return SkipjackApp(RunOptions(cwd=cwd), runtime=runtime, env=env, **kw)


async def until(pilot: Pilot[Any], condition: Callable[[], object], limit: float = 10.0, what: str = "") -> None:
    """Let the app run until `condition()` holds; fail after `limit` seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)


async def type_and_send(pilot: Pilot[Any], app: SkipjackApp, text: str) -> None:
    app.input.focus()
    app.input.insert(text)
    await pilot.press("enter")


def idle(app: SkipjackApp) -> bool:
    return app.agent is not None and not app.agent.is_running and app.status.state == "ready"


def screen_text(app: SkipjackApp) -> str:
    """The text on the terminal now (the top screen), one line per row."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)
