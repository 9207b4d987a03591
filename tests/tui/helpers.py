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
from skipjack.controller import Controller
from skipjack.llm import RetryPolicy, StreamOptions, Timeouts
from skipjack.runtime import RunOptions, Runtime
from skipjack.safety.policy import ApprovalPolicy
from skipjack.testing import ScriptedModel
from skipjack.tools import default_tools
from skipjack.tui import SkipjackApp
from skipjack.tui.approval import ApprovalBox

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
    runtime = Runtime(agent=agent, model=scripted.model, config=config, policy=policy, env=env)
    return SkipjackApp(RunOptions(cwd=cwd), controller=Controller(runtime), env=env, **kw)


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


def approval_box(app: SkipjackApp) -> ApprovalBox | None:
    boxes = app.query(ApprovalBox)
    return boxes.first() if boxes else None


async def until_approval(pilot: Pilot[Any], app: SkipjackApp, *, armed: bool = True) -> ApprovalBox:
    """Wait for the approval box (and, by default, until keys answer it: see `ARM_DELAY_S`)."""
    await until(pilot, lambda: approval_box(app) is not None, what="the approval box")
    box = approval_box(app)
    assert box is not None
    if armed:
        await until(pilot, lambda: box.armed, what="the box to take answers")
    return box


def screen_text(app: SkipjackApp) -> str:
    """The text on the terminal now (the top screen), one line per row."""
    strips = app.screen._compositor.render_strips()
    return "\n".join(strip.text for strip in strips)
