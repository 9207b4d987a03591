"""What the slash commands need from the app, as a Protocol.

`commands.py` and `bridge.py` depend on this, not on `app.py`, so the app imports them
without an import circle. Everything about the session goes through the controller."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from skipjack.agent import Agent
from skipjack.controller import Controller
from skipjack.runtime import RunOptions
from skipjack.sessions import Session
from skipjack.tui.bridge import AgentView, ChatHost


class Host(ChatHost, Protocol):
    """Enough for the slash commands: the controller and the widgets they report to."""

    options: RunOptions
    shell_count: int

    @property
    def controller(self) -> Controller | None: ...
    @property
    def agent(self) -> Agent | None: ...
    @property
    def session(self) -> Session | None: ...
    @property
    def cwd(self) -> Path: ...
    @property
    def env(self) -> Mapping[str, str]: ...
    @property
    def view(self) -> AgentView: ...
    def build_controller(self) -> Controller: ...
    def attach(self, controller: Controller) -> None: ...
    def abort_run(self) -> bool: ...
    def start_retry(self) -> None: ...
    def exit(self, result: int | None = None) -> None: ...
    def push_screen(self, screen: Any, callback: Any = None) -> Any: ...
