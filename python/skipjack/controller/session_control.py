"""The session side of `Controller`: the session file a conversation is recorded in (new,
the latest, one by id, a fork), switching between them and closing them."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from skipjack.controller.events import Event, PersistenceFailed, SessionChanged, Warning_
from skipjack.errors import UserError
from skipjack.llm.types import Usage
from skipjack.runtime import Runtime, attach_session
from skipjack.sessions import Session, SessionError, SessionNotFoundError, SessionStore

if TYPE_CHECKING:
    from skipjack.agent import Agent
    from skipjack.compaction import Compactor
    from skipjack.llm.types import Model
    from skipjack.sessions.store import SessionSummary


class SessionControl:
    """Part of `Controller` (which sets these attributes up)."""

    runtime: Runtime
    store: SessionStore
    record_sessions: bool
    session: Session | None
    _unrecord: Callable[[], None] | None
    _resumed: bool
    _last_prompt: str | None
    _usage_base: Usage

    if TYPE_CHECKING:

        @property
        def agent(self) -> Agent: ...

        @property
        def model(self) -> Model: ...

        def _emit(self, event: Event) -> None: ...

        def _install_compactor(self, compactor: Compactor | None) -> None: ...

    def open_session(self, *, continue_latest: bool = False, session_id: str | None = None) -> Session:
        """A new session (now, not at the first prompt), the project's latest, or one by id."""
        cwd = self.agent.cwd
        try:
            if session_id is not None:
                session = self.store.open(session_id, cwd)
            elif continue_latest:
                latest = self.store.latest(cwd)
                if latest is None:
                    raise UserError(f"there is no session to continue in {cwd}; start one without --continue")
                session = latest
            else:
                session = self.store.create(cwd, self.model.ref)
        except SessionNotFoundError as e:
            raise UserError(f"{e}; `skipjack sessions` lists this project's sessions") from e
        except SessionError as e:
            raise UserError(str(e)) from e
        resume = session_id is not None or continue_latest
        if resume:
            # A run that was killed may have left tool calls without results: record their
            # "interrupted" results now, so the file itself is whole (loading mends it anyway).
            try:
                session.answer_open_calls()
            except SessionError as e:
                session.close()
                raise UserError(str(e)) from e
            except OSError:
                pass  # kept in session.write_failures; reported at the end of the run
        self.use_session(session, resume=resume)
        return session

    def resume_session(self, session_id: str) -> Session:
        """`latest` or a session id (a unique prefix will do)."""
        if self.agent.is_running:
            raise UserError("the agent is running: abort it before switching sessions")
        if session_id == "latest":
            return self.open_session(continue_latest=True)
        return self.open_session(session_id=session_id)

    def new_session(self) -> None:
        """An empty conversation; its session file is created at its first prompt."""
        if self.agent.is_running:
            raise UserError("the agent is running: abort it before starting a new conversation")
        self.use_session(None)
        self.agent.replace_messages([])
        self._usage_base = self.agent.usage_totals()
        self._emit(SessionChanged(None, False, 0))

    def fork_session(self, entry_id: str | None = None) -> Session:
        """A new session holding this one's history up to `entry_id` (None: all of it),
        continued from here."""
        if self.session is None:
            raise UserError("nothing to fork: this conversation has no session yet")
        if entry_id is None:
            self.session.sync()
            entries = self.session.all_entries()
            if not entries:
                raise UserError("nothing to fork yet")
            entry_id = entries[-1].id
        try:
            session = self.store.fork(self.session.id, entry_id)
        except (SessionError, KeyError, ValueError) as e:
            raise UserError(f"cannot fork at {entry_id!r}: {e}") from e
        self.use_session(session, resume=True)
        return session

    def list_sessions(self) -> list[SessionSummary]:
        """This project's saved sessions that can be resumed, newest first."""
        return [s for s in self.store.list(self.agent.cwd) if s.error is None]

    def ensure_session(self) -> Session | None:
        if self.session is None and self.record_sessions:
            try:
                self.open_session()
            except UserError as e:
                self.record_sessions = False
                self._emit(Warning_(f"sessions are not saved: {e}"))
        return self.session

    def use_session(self, session: Session | None, *, resume: bool = False) -> None:
        """Record into `session` from now on (None: stop recording); `resume` also makes its
        context the agent's conversation."""
        if self._unrecord is not None:
            self._unrecord()
            self._unrecord = None
        if self.session is not None and self.session is not session:
            self.close_session()
        self.session = session
        self._resumed = resume
        self._last_prompt = None
        if session is None:
            self._install_compactor(None)
            return
        self._unrecord = attach_session(self.runtime, session, resume=resume, on_write_error=self._write_failed)
        self._install_compactor(self.runtime.compactor)
        self._emit(SessionChanged(session.id, resume, len(self.agent.messages)))

    def close_session(self) -> None:
        """Answer any calls a run left open (a no-op after a clean abort), then close."""
        session = self.session
        if session is None:
            return
        with contextlib.suppress(OSError, SessionError):
            session.answer_open_calls()
        with contextlib.suppress(OSError):
            session.close()

    def _write_failed(self, error: BaseException) -> None:
        session_id = self.session.id if self.session is not None else ""
        self._emit(PersistenceFailed(session_id, str(error)))
