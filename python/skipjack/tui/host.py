"""What the slash commands and the event view need from the app, as a Protocol.

`commands.py` and `bridge.py` depend on this, not on `app.py`, so the app can import them
without an import circle (it used to be held apart only by `TYPE_CHECKING`)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from skipjack.tui.bridge import ChatHost

if TYPE_CHECKING:
    from skipjack.agent import Agent
    from skipjack.compaction import Compactor
    from skipjack.controller import Controller
    from skipjack.runtime import RunOptions, Runtime
    from skipjack.safety.policy import ApprovalPolicy
    from skipjack.sessions import Session, SessionStore
    from skipjack.tui.bridge import AgentView


class Host(ChatHost, Protocol):
    """Enough for the slash commands: the controller and the widgets they report to."""

    options: RunOptions
    shell_count: int

    @property
    def controller(self) -> Controller | None: ...
    @property
    def runtime(self) -> Runtime | None: ...
    @property
    def agent(self) -> Agent | None: ...
    @property
    def policy(self) -> ApprovalPolicy | None: ...
    @property
    def session(self) -> Session | None: ...
    @property
    def compactor(self) -> Compactor | None: ...
    @property
    def store(self) -> SessionStore: ...
    @property
    def cwd(self) -> Path: ...
    @property
    def env(self) -> Mapping[str, str]: ...
    @property
    def view(self) -> AgentView: ...
    def attach(self, runtime: Runtime) -> None: ...
    def use_session(self, session: Session | None, *, resume: bool = False) -> None: ...
    def abort_run(self) -> bool: ...
    def exit(self, result: int | None = None) -> None: ...
    def push_screen(self, screen: Any, callback: Any = None) -> Any: ...
