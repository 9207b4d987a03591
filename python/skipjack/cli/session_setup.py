"""Choose the session a command works in: a new one, the latest of the project, or one by id."""

from __future__ import annotations

from skipjack.errors import UserError
from skipjack.runtime import Runtime, attach_session
from skipjack.sessions import Session, SessionError, SessionNotFoundError, SessionStore, model_ref


def open_session(runtime: Runtime, *, continue_latest: bool, session_id: str | None) -> Session:
    """The session, attached to the runtime's agent (resumed when it already existed)."""
    store = SessionStore()
    cwd = runtime.agent.cwd
    try:
        if session_id is not None:
            session = store.open(session_id, cwd)
        elif continue_latest:
            latest = store.latest(cwd)
            if latest is None:
                raise UserError(f"there is no session to continue in {cwd}; start one without --continue")
            session = latest
        else:
            session = store.create(cwd, model_ref(runtime.model.provider, runtime.model.id))
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
            pass  # kept in session.write_failures; the run reports it
    attach_session(runtime, session, resume=resume)
    return session
