"""Writing an agent's run into its session as it happens.

`record(agent, session)` subscribes to the agent's events. Listeners are called
synchronously as the loop emits, so a message is on disk (one `write`) when `message_end`
returns, before the loop goes on to the next model call or tool; the turn's lines are
fsynced from `turn_end` on, in a worker thread while the next request goes out
(`Session.sync_soon`), and the run's end waits for its fsync. A crash or kill therefore loses
at most the line being written.

A write that fails (disk full, I/O error) stops the run: going on would spend tokens and run
tools whose record is lost. The failure is kept on the session (`Session.write_failures`) for
the front end to report, and the agent is aborted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from skipjack.agent.events import AgentEnd, AgentEvent, MessageEnd, TurnEnd
from skipjack.sessions.session import Session

log = logging.getLogger(__name__)

Listener = Callable[[AgentEvent], None]


class Subscribable(Protocol):
    def subscribe(self, listener: Listener) -> Callable[[], None]: ...


class SessionRecorder:
    """The listener itself: usable with `Agent.subscribe` or fed events by hand.

    `on_failure` is called once, at the first failed write (`record` passes the agent's
    `abort`)."""

    def __init__(
        self,
        session: Session,
        on_failure: Callable[[], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
    ) -> None:
        self.session = session
        self.on_failure = on_failure
        self.on_error = on_error
        """Told of every failed write, so the front end can show it."""
        self.errors: list[BaseException] = []
        """Writes that failed (e.g. disk full), also in `session.write_failures`."""

    def __call__(self, event: AgentEvent) -> None:
        try:
            self._handle(event)
        except OSError as e:
            # Expected (a full disk): reported to the user by the front end, not a traceback.
            log.warning("session %s: %s", self.session.id, e)
            self.errors.append(e)
            if self.on_error is not None:
                self.on_error(e)
            if len(self.errors) == 1 and self.on_failure is not None:
                self.on_failure()
        except BaseException as e:
            self.errors.append(e)
            raise

    def _handle(self, event: AgentEvent) -> None:
        if isinstance(event, MessageEnd):
            self.session.append_message(event.message)
            # A failed background fsync of the last turn stops the run here, before this
            # message's tool calls run (the message itself is written first, like any other).
            self.session.check_sync()
        elif isinstance(event, TurnEnd):
            # Off the critical path: the next request goes out while the disk catches up.
            self.session.sync_soon()
        elif isinstance(event, AgentEnd):
            data: dict[str, object] = {"stop_reason": event.stop_reason, "turns": event.turns}
            if event.error_kind is not None:
                data["error_kind"] = event.error_kind
            if event.error_message is not None:
                data["error_message"] = event.error_message
            self.session.append_event("run_end", data)
            self.session.sync()


def record(
    agent: Subscribable, session: Session, on_error: Callable[[BaseException], None] | None = None
) -> Callable[[], None]:
    """Append the agent's messages to `session` from now on, aborting the agent's run if a
    write fails (and telling `on_error`); returns the unsubscribe function."""
    abort = getattr(agent, "abort", None)
    return agent.subscribe(SessionRecorder(session, abort if callable(abort) else None, on_error))
