"""The session store on real files: layout, permissions, resume, list, fork, delete, export."""

from __future__ import annotations

import json
import os
import stat
import time
from pathlib import Path

import pytest

from skipjack.llm import UserMessage
from skipjack.sessions import (
    CompactionEntry,
    MessageEntry,
    Session,
    SessionLockedError,
    SessionNotFoundError,
    SessionStore,
    project_dir_name,
)

from .helpers import assistant, call, make_project, result, texts, usage, user


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_create_writes_a_versioned_header_then_one_line_per_entry(store: SessionStore, project: Path) -> None:
    s = store.create(project / "src", "test/test-model")
    first = lines(s.path)
    assert first == [
        {
            "type": "session",
            "version": 2,
            "id": s.id,
            "created": s.header.created,
            "cwd": str((project / "src").resolve()),
            "project": str(project.resolve()),
            "model": "test/test-model",
            "forked_from": None,
        }
    ]
    u = s.append_message(user("fix the bug"))
    a = s.append_message(assistant("done"))
    written = lines(s.path)
    assert [w["type"] for w in written] == ["session", "message", "message"]
    assert (written[1]["id"], written[1]["parent"]) == (u.id, None)
    assert (written[2]["id"], written[2]["parent"]) == (a.id, u.id)
    assert s.path.read_bytes().endswith(b"\n")
    s.close()
    reloaded = Session.load(s.path)
    assert reloaded.messages() == s.messages() == [u.message, a.message]
    assert reloaded.all_entries() == s.all_entries()
    assert reloaded.warnings == []


def test_files_are_private_whatever_the_umask(store: SessionStore, project: Path) -> None:
    old = os.umask(0o022)
    try:
        s = store.create(project, None)
    finally:
        os.umask(old)
    s.append_message(user("secret"))
    assert stat.S_IMODE(s.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(s.path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.root.stat().st_mode) == 0o700


def test_sessions_are_grouped_by_project_root(store: SessionStore, tmp_path: Path) -> None:
    a = make_project(tmp_path / "a")
    b = make_project(tmp_path / "elsewhere" / "a")  # same last name, different project
    s1 = store.create(a, None)
    s2 = store.create(a / "src", None)
    s3 = store.create(b, None)
    assert s1.path.parent == s2.path.parent == store.project_path(a / "src")
    assert s3.path.parent != s1.path.parent
    assert s1.path.parent.name == project_dir_name(a)
    assert s1.path.parent.name.startswith(str(a.resolve()).strip("/").replace("/", "-")[-48:].lstrip("-"))
    assert {x.id for x in store.list(a)} == {s1.id, s2.id}
    assert {x.id for x in store.list(b)} == {s3.id}
    assert {x.id for x in store.list()} == {s1.id, s2.id, s3.id}


def test_data_dir_comes_from_the_environment(tmp_path: Path) -> None:
    store = SessionStore(env={"SKIPJACK_DATA_DIR": str(tmp_path / "xdg")})
    assert store.root == tmp_path / "xdg" / "sessions"
    s = store.create(make_project(tmp_path / "p"), None)
    assert s.path.is_relative_to(tmp_path / "xdg" / "sessions")


def test_resume_by_id_prefix_and_latest(store: SessionStore, project: Path) -> None:
    old = store.create(project, "test/a")
    old.append_message(user("first task"))
    old.close()
    new = store.create(project, "test/b")
    new.append_message(user("second task"))
    new.close()
    # `updated` is the last entry's time; make the old one the most recent.
    time.sleep(0.01)  # entry times are in milliseconds
    resumed = store.open(old.id)
    resumed.append_message(user("back to the first"))
    resumed.close()
    latest = store.latest(project / "src")
    assert latest is not None
    assert latest.id == old.id
    assert texts(latest.messages()) == ["first task", "back to the first"]
    with pytest.raises(SessionNotFoundError):
        store.open("nope")
    with pytest.raises(SessionNotFoundError):
        store.open("../../etc/passwd")
    assert store.latest(make_project(project.parent / "empty")) is None


def test_open_by_unique_prefix(store: SessionStore, project: Path) -> None:
    s = store.create(project, None)
    s.close()
    assert store.open(s.id[:17], project).id == s.id  # date, time and the first hex digit
    other = store.create(project, None)
    other.close()
    common = next(s.id[:i] for i in range(len(s.id)) if s.id[i] != other.id[i])
    with pytest.raises(SessionNotFoundError, match="matches 2 sessions"):
        store.open(common, project)


def test_list_summaries(store: SessionStore, project: Path) -> None:
    s = store.create(project, "test/test-model")
    s.append_message(
        user("  Refactor   the parser so that it handles nested brackets and reports errors with columns\n")
    )
    s.append_message(assistant("ok", u=usage(1000, 100)))
    s.append_model_change("other/bigger")
    s.append_message(user("more"))
    s.append_message(assistant("ok", u=usage(2000, 50, cache_read=8000), provider="other", model="bigger"))
    s.close()
    broken = s.path.parent / "broken.jsonl"
    broken.write_text("not json\n")
    [summary, bad] = sorted(store.list(project), key=lambda x: x.error is not None)
    assert summary.id == s.id
    assert summary.title == "Refactor the parser so that it handles nested brackets and reports errors with…"
    assert len(summary.title) <= 80
    assert summary.model == "other/bigger"
    assert summary.messages == 4
    assert summary.cost == pytest.approx(usage(1000, 100).cost.total + usage(2000, 50, cache_read=8000).cost.total)
    assert summary.updated >= summary.created
    assert bad.error is not None
    assert "broken.jsonl:1" in bad.error


def test_a_session_is_written_by_one_process_at_a_time(store: SessionStore, project: Path) -> None:
    s = store.create(project, None)
    s.append_message(user("one"))
    second = store.open(s.id)
    with pytest.raises(SessionLockedError):
        second.append_message(user("two"))
    with pytest.raises(SessionLockedError):
        store.delete(s.id)
    s.close()
    assert texts([e.message for e in Session.load(s.path).all_entries() if isinstance(e, MessageEntry)]) == ["one"]
    third = store.open(s.id)
    third.append_message(user("two"))
    third.close()
    assert texts(store.open(s.id).messages()) == ["one", "two"]


def test_appending_after_someone_else_did_is_refused(store: SessionStore, project: Path) -> None:
    s = store.create(project, None)
    s.close()
    stale = store.open(s.id)
    fresh = store.open(s.id)
    fresh.append_message(user("from the other window"))
    fresh.close()
    with pytest.raises(Exception, match="changed on disk"):
        stale.append_message(user("would interleave"))


def test_fork_copies_history_up_to_an_entry(store: SessionStore, project: Path) -> None:
    s = store.create(project, "test/test-model")
    s.append_message(user("read a and b"))
    ask = s.append_message(assistant(calls=[call("c1", path="a"), call("c2", path="b")]))
    s.append_message(result("c1", "A"))
    s.append_message(result("c2", "B"))
    s.append_message(assistant("both read"))
    later = s.append_message(user("now edit"))
    s.append_message(assistant("edited"))
    s.close()

    # Forking at the tool-calling message brings its results along: no call without a result.
    f = store.fork(s.id, ask.id)
    assert [type(m).__name__ for m in f.messages()] == ["UserMessage", "AssistantMessage"] + ["ToolResultMessage"] * 2
    assert f.header.forked_from is not None
    assert (f.header.forked_from.session, f.header.forked_from.entry) == (s.id, ask.id)
    assert f.path.parent == s.path.parent
    f.append_message(user("a different direction"))
    f.close()
    reloaded = store.open(f.id)
    assert [e.id for e in reloaded.all_entries()][:4] == [e.id for e in s.all_entries()][:4]
    assert reloaded.all_entries()[4].parent == reloaded.all_entries()[3].id

    g = store.fork(s.id, later.id)
    assert [m.content for m in g.messages() if isinstance(m, UserMessage)] == [
        "read a and b",
        "now edit",
    ]
    # The original is untouched.
    assert len(store.open(s.id).all_entries()) == 7
    with pytest.raises(Exception, match="no entry"):
        store.fork(s.id, "missing")


def test_fork_costs_are_not_counted_twice_when_asked(store: SessionStore, project: Path) -> None:
    s = store.create(project, None)
    s.append_message(user("q"))
    a = s.append_message(assistant("a", u=usage(1000, 100)))
    f = store.fork(s.id, a.id)
    f.append_message(user("q2"))
    f.append_message(assistant("a2", u=usage(500, 10)))
    assert f.usage_totals().cost.total == pytest.approx(usage(1000, 100).cost.total + usage(500, 10).cost.total)
    assert f.usage_totals(include_forked=False) == usage(500, 10)


def test_delete(store: SessionStore, project: Path) -> None:
    s = store.create(project, None)
    s.close()
    store.delete(s.id)
    assert not s.path.exists()
    assert store.list(project) == []
    with pytest.raises(SessionNotFoundError):
        store.delete(s.id)


def test_compacted_context_and_full_history(store: SessionStore, project: Path) -> None:
    s = store.create(project, None)
    s.append_message(user("one"))
    s.append_message(assistant("1"))
    kept = s.append_message(user("two"))
    s.append_message(assistant("2"))
    c = s.append_compaction(
        "the user counted", first_kept=kept.id, tokens_before=999, model="test/cheap", usage=usage(50, 5)
    )
    s.append_message(user("three"))
    context = s.messages()
    assert texts(context)[0].endswith("<summary>\nthe user counted\n</summary>")
    assert [getattr(m, "content", None) for m in context[1::2]] == ["two", "three"]
    assert len(context) == 4
    assert len(s.all_entries()) == 6
    assert isinstance(s.all_entries()[4], CompactionEntry)
    assert s.latest_compaction() == c
    # A second compaction keeping from after the first.
    s.append_message(assistant("3"))
    s.append_compaction("counted to three", first_kept=None, tokens_before=10, model="test/cheap", usage=usage(1, 1))
    s.append_message(user("four"))
    assert [getattr(m, "content", "") for m in s.messages()][1:] == ["four"]
    with pytest.raises(Exception, match="not a message entry"):
        s.append_compaction("x", first_kept=c.id, tokens_before=0, model="m/m", usage=usage())
    s.close()
    assert Session.load(s.path).messages() == s.messages()


def test_export_markdown(store: SessionStore, project: Path) -> None:
    s = store.create(project, "test/test-model")
    s.append_message(user("Please read `a.py`"))
    s.append_message(assistant("Reading.", calls=[call("c1", path="a.py")], u=usage(1000, 20)))
    s.append_message(result("c1", "```python\nprint(1)\n```"))
    s.append_message(assistant("It prints 1.", u=usage(1100, 10)))
    s.append_compaction("read a.py", first_kept=None, tokens_before=2130, model="test/cheap", usage=usage(500, 50))
    s.close()
    md = store.export_markdown(s.id)
    assert md.startswith("# Please read `a.py`\n")
    assert f"- Session: `{s.id}`" in md
    assert "## User\n\nPlease read `a.py`" in md
    assert '**Tool call** `read` (`c1`)\n\n```json\n{\n  "path": "a.py"\n}\n```' in md
    # Content with a fence inside gets a longer fence.
    assert "````\n```python\nprint(1)\n```\n````" in md
    assert "## Compaction (manual, 2,130 tokens before, summary by test/cheap" in md
    assert "> read a.py" in md
    total = usage(1000, 20).cost.total + usage(1100, 10).cost.total + usage(500, 50).cost.total
    assert f"- Cost: ${total:.4f}" in md
