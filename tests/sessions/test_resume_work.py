"""Resuming costs the size of the session resumed, once: counted, not timed.

`latest` ranks a project's sessions by their files' ends and loads only the winner; loading
decodes each line once; and the ranking agrees with a full load however the file ends.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from skipjack.sessions import Session, SessionStore, reader
from skipjack.sessions.recency import quick_updated

from .helpers import assistant, call, result, user


def _fill(session: Session, turns: int, output_chars: int = 100) -> None:
    session.append_message(user("start"))
    for i in range(turns):
        session.append_message(assistant(calls=[call(f"c{i}")]))
        session.append_message(result(f"c{i}", "x" * output_chars))


def _count_loads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    loaded: list[Path] = []
    real = Session.load.__func__  # type: ignore[attr-defined]

    def counting(cls: type[Session], path: Path) -> Session:
        loaded.append(path)
        return real(cls, path)  # type: ignore[no-any-return]

    monkeypatch.setattr(Session, "load", classmethod(counting))
    return loaded


def test_latest_loads_only_the_session_it_returns(
    store: SessionStore, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = []
    for i in range(6):
        s = store.create(project, "p/m")
        _fill(s, 20 + i)
        s.close()
        sessions.append(s)
    # The newest by content is not the newest by file time: mtimes do not decide.
    target = sessions[2]
    again = Session.load(target.path)
    again.append_message(user("the latest words"))
    again.close()
    os.utime(target.path, (1, 1))
    loaded = _count_loads(monkeypatch)
    latest = store.latest(project)
    assert latest is not None
    assert latest.id == target.id
    assert loaded == [target.path], "one full load, of the session resumed"


def test_latest_agrees_with_loading_every_session(store: SessionStore, project: Path) -> None:
    made = []
    for i in range(4):
        s = store.create(project, "p/m")
        _fill(s, 3 + i)
        s.close()
        made.append(s)
    best = max((Session.load(s.path) for s in made), key=lambda s: (s.updated, s.id))
    latest = store.latest(project)
    assert latest is not None
    assert latest.id == best.id


def _write_tail(path: Path, data: bytes) -> None:
    with path.open("ab") as f:
        f.write(data)


@pytest.mark.parametrize(
    "tail",
    [
        b"",  # a clean file
        b'{"type":"message","id":"zz',  # an interrupted write: no newline
        b"\0\0\0\0\n",  # zeros after a crash: a whole line that is not JSON
        b"not json at all\n",
    ],
)
def test_quick_updated_matches_a_full_load_or_declines(store: SessionStore, project: Path, tail: bytes) -> None:
    s = store.create(project, "p/m")
    _fill(s, 5, output_chars=150_000)  # last lines far longer than one read chunk
    s.close()
    _write_tail(s.path, tail)
    quick = quick_updated(s.path)
    try:
        full: int | None = Session.load(s.path).updated
    except Exception:
        full = None
    if quick is not None:
        assert quick == full
    else:
        assert tail, "a clean file is answered from its ends"


def test_a_session_with_only_a_header_is_still_found(store: SessionStore, project: Path) -> None:
    empty = store.create(project, "p/m")
    empty.close()
    assert quick_updated(empty.path) is None  # left to the full load
    latest = store.latest(project)
    assert latest is not None
    assert latest.id == empty.id


def test_a_session_whose_middle_is_broken_is_skipped(store: SessionStore, project: Path) -> None:
    good = store.create(project, "p/m")
    _fill(good, 2)
    good.close()
    bad = store.create(project, "p/m")
    _fill(bad, 3)
    bad.append_message(user("newest"))
    bad.close()
    lines = bad.path.read_bytes().split(b"\n")
    lines[2] = b'{"type":"message","broken":'
    bad.path.write_bytes(b"\n".join(lines))
    assert quick_updated(bad.path) is not None, "its ends look fine"
    latest = store.latest(project)
    assert latest is not None
    assert latest.id == good.id


def test_loading_decodes_each_line_once(store: SessionStore, project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    counts: list[int] = []
    real = reader.entry_decoder
    for turns in (50, 500):
        s = store.create(project, "p/m")
        _fill(s, turns)
        s.close()
        calls = 0

        class Counting:
            def decode(self, raw: bytes) -> Any:
                nonlocal calls
                calls += 1
                return real.decode(raw)

        monkeypatch.setattr(reader, "entry_decoder", Counting())
        loaded = Session.load(s.path)
        monkeypatch.setattr(reader, "entry_decoder", real)
        assert len(loaded.messages()) == 1 + 2 * turns
        counts.append(calls)
    assert counts == [1 + 2 * 50, 1 + 2 * 500]


class _CountingList(list):  # type: ignore[type-arg]
    """A list that counts the walks over it."""

    walks = 0

    def __iter__(self) -> Any:
        _CountingList.walks += 1
        return super().__iter__()

    def __reversed__(self) -> Any:
        _CountingList.walks += 1
        return super().__reversed__()


def test_the_latest_compaction_is_known_without_walking_the_history(store: SessionStore, project: Path) -> None:
    s = store.create(project, "p/m")
    _fill(s, 300)
    s._entries = _CountingList(s._entries)
    _CountingList.walks = 0
    for _ in range(50):
        assert s.latest_compaction() is None
    assert _CountingList.walks == 0, "asked before every model call: it must not scan the session"
    first_kept = s.all_entries()[-2].id
    entry = s.append_compaction(
        "summary", first_kept=first_kept, tokens_before=1000, model="p/m", usage=assistant().usage
    )
    assert s.latest_compaction() is entry
    s.close()
    reloaded = Session.load(s.path)
    assert reloaded.latest_compaction() == entry
    assert reloaded.messages()[0].content.endswith("summary\n</summary>")  # type: ignore[union-attr]
