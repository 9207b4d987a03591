"""Choose the session a command works in: a new one, the latest of the project, or one by id."""

from __future__ import annotations

from skipjack.cli.errors import UserError
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
    attach_session(runtime, session, resume=session_id is not None or continue_latest)
    return session
