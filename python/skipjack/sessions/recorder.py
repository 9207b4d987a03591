"""Writing an agent's run into its session as it happens.

`record(agent, session)` subscribes to the agent's events. Listeners are called
synchronously as the loop emits, so a message is on disk (one `write`) when `message_end`
returns, before the loop goes on to the next model call or tool; the turn's lines are
fsynced at `turn_end`. A crash or kill therefore loses at most the line being written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from skipjack.agent.events import AgentEnd, AgentEvent, MessageEnd, TurnEnd
from skipjack.sessions.session import Session

Listener = Callable[[AgentEvent], None]


class Subscribable(Protocol):
    def subscribe(self, listener: Listener) -> Callable[[], None]: ...


class SessionRecorder:
    """The listener itself: usable with `Agent.subscribe` or fed events by hand."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.errors: list[BaseException] = []
        """Writes that failed (e.g. disk full). The agent logs and skips a failing listener,
        so the failure is kept here for the UI to report as well."""

    def __call__(self, event: AgentEvent) -> None:
        try:
            self._handle(event)
        except BaseException as e:
            self.errors.append(e)
            raise

    def _handle(self, event: AgentEvent) -> None:
        if isinstance(event, MessageEnd):
            self.session.append_message(event.message)
        elif isinstance(event, TurnEnd):
            self.session.sync()
        elif isinstance(event, AgentEnd):
            data: dict[str, object] = {"stop_reason": event.stop_reason, "turns": event.turns}
            if event.error_kind is not None:
                data["error_kind"] = event.error_kind
            if event.error_message is not None:
                data["error_message"] = event.error_message
            self.session.append_event("run_end", data)
            self.session.sync()


def record(agent: Subscribable, session: Session) -> Callable[[], None]:
    """Append the agent's messages to `session` from now on; returns the unsubscribe function."""
    return agent.subscribe(SessionRecorder(session))
