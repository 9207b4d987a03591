"""The turn's fsync runs in a worker while the next request goes out: it must still happen,
in order, before close, and its failure must stop the run like a failed write does."""

from __future__ import annotations

import errno
import os
import threading
import time
from pathlib import Path

import pytest

from skipjack.agent.events import MessageEnd, TurnEnd
from skipjack.sessions import Session, SessionStore
from skipjack.sessions.recorder import SessionRecorder

from .helpers import assistant, user


def test_close_waits_for_the_background_fsync(
    store: SessionStore, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = store.create(project, "p/m")
    session.sync()  # the file's creation is fsynced in the background too: not what is timed here
    fd = session._fd
    events: list[str] = []
    real_fsync, real_close = os.fsync, os.close

    def slow_fsync(f: int) -> None:
        time.sleep(0.2)  # a slow disk
        real_fsync(f)
        events.append(f"fsync {f} in {threading.current_thread().name}")

    def close(f: int) -> None:
        events.append(f"close {f}")
        real_close(f)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    monkeypatch.setattr(os, "close", close)
    session.append_message(user("hello"))
    started = time.monotonic()
    session.sync_soon()
    assert time.monotonic() - started < 0.15, "sync_soon does not wait for the disk"
    session.close()
    assert events[0].startswith(f"fsync {fd} in session-fsync"), events
    assert events[-1] == f"close {fd}", "the descriptor is closed only after every fsync of it"
    assert Session.load(session.path).messages()[-1].content == "hello"  # type: ignore[union-attr]


def test_fsyncs_stay_in_order(store: SessionStore, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    session = store.create(project, "p/m")
    session.sync()  # the creation's own fsyncs (in the background too) must not meet the patched fsync
    running = threading.Event()
    overlaps: list[bool] = []
    real_fsync = os.fsync

    def fsync(f: int) -> None:
        overlaps.append(running.is_set())
        running.set()
        time.sleep(0.05)
        real_fsync(f)
        running.clear()

    monkeypatch.setattr(os, "fsync", fsync)
    for i in range(5):
        session.append_message(user(f"m{i}"))
        started = time.monotonic()
        session.sync_soon()
        assert time.monotonic() - started < 0.04, "a turn never waits for the last turn's fsync"
    session.sync()
    assert not any(overlaps)
    # The first runs at once, the rest coalesce behind it: fewer fsyncs than turns, and the
    # last one (sync) began after the last line was written.
    assert 2 <= len(overlaps) <= 6
    session.close()
    assert [m.content for m in Session.load(session.path).messages()] == [f"m{i}" for i in range(5)]


def test_a_failed_background_fsync_stops_the_run_before_the_next_tools(
    store: SessionStore, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = store.create(project, "p/m")
    session.sync()  # the creation's own fsyncs (in the background too) must not meet the patched fsync
    aborted: list[bool] = []
    recorder = SessionRecorder(session, on_failure=lambda: aborted.append(True))

    def broken(f: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", broken)
    recorder(MessageEnd(user("first")))
    recorder(TurnEnd(1, assistant("done"), []))  # the turn's end starts the fsync in the background
    deadline = time.monotonic() + 5
    while not all(f.done() for f in session._pending_syncs) and time.monotonic() < deadline:
        time.sleep(0.01)
    recorder(MessageEnd(user("next")))  # the next message sees the failure
    assert aborted == [True]
    assert session.write_failures
    assert "since the last sync" in session.write_failures[0].what
    assert [m.content for m in session.messages()] == ["first", "next"], "the message itself was written"
    assert isinstance(recorder.errors[0], OSError)
    monkeypatch.undo()
    session.close()


def test_a_failed_background_fsync_is_reported_at_close(
    store: SessionStore, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = store.create(project, "p/m")
    session.sync()  # the creation's own fsyncs (in the background too) must not meet the patched fsync
    calls = 0
    real_fsync = os.fsync

    def fail_once(f: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError(errno.EIO, "Input/output error")
        real_fsync(f)

    monkeypatch.setattr(os, "fsync", fail_once)
    session.append_message(user("x"))
    session.sync_soon()
    with pytest.raises(OSError, match="Input/output"):
        session.close()
    assert session.write_failures
    assert session._fd is None, "closed all the same"
