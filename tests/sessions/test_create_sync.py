"""A new session's file and directory entry are fsynced on the fsync worker: creating one
(on the way to a run's first request) does not wait for the disk, but `sync`/`close` do, and
a failure is reported like any background fsync's."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from skipjack.sessions import Session, SessionStore

from .helpers import user


def test_create_does_not_wait_for_the_disk_but_close_does(
    store: SessionStore, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        time.sleep(0.3)
        real_fsync(fd)
        synced.append(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    started = time.monotonic()
    session = store.create(project, "p/m")
    assert time.monotonic() - started < 0.25, "creating a session does not wait for its fsyncs"
    session.append_message(user("hello"))
    session.close()
    assert len(synced) >= 2, "the file and its directory were fsynced before close returned"
    assert Session.load(session.path).messages()[-1].content == "hello"  # type: ignore[union-attr]


def test_a_failed_fsync_of_a_new_session_is_reported(
    store: SessionStore, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", failing)
    session = store.create(project, "p/m")
    with pytest.raises(OSError, match="I/O error"):
        session.sync()
    assert session.write_failures, "kept for the front end to report"
    monkeypatch.undo()
    session.close()
