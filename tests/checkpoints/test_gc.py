"""Retention and clean-up: what sessions record is kept, the rest goes; forks keep theirs."""

from __future__ import annotations

import os
from pathlib import Path

from skipjack.checkpoints import Checkpointer, collect, read_timeline
from skipjack.checkpoints.gc import DAY_MS
from skipjack.llm.types import UserMessage
from skipjack.sessions import SessionStore


def _setup(tmp_path: Path) -> tuple[Path, dict[str, str], SessionStore, Checkpointer]:
    project = tmp_path / "proj"
    project.mkdir()
    env = {**os.environ, "SKIPJACK_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path / "home")}
    store = SessionStore(env=env)
    return project, env, store, Checkpointer.for_project(project, env=env)


def _turn(checkpointer: Checkpointer, session: object, project: Path, name: str, size: int) -> None:
    checkpoint_id, _ = checkpointer.before_turn(session)  # type: ignore[arg-type]
    session.append_message(UserMessage(f"make {name}"))  # type: ignore[attr-defined]
    (project / name).write_bytes(os.urandom(size))
    checkpointer.after_turn(session, checkpoint_id)  # type: ignore[arg-type]


def test_deleting_the_original_keeps_what_its_fork_records(tmp_path: Path) -> None:
    project, env, store, checkpointer = _setup(tmp_path)
    (project / "start.txt").write_text("start\n")
    session = store.create(project, "p/m")
    _turn(checkpointer, session, project, "one.bin", 200_000)
    _turn(checkpointer, session, project, "two.bin", 200_000)
    turns = read_timeline(session.all_entries()).turns
    fork = store.fork(session.id, turns[1].checkpoint_id)
    fork.close()
    session.close()
    store.delete(session.id)
    report = collect(store, retention_days=30, env=env)
    assert report.errors == []
    forked = store.open(fork.id)
    kept = read_timeline(forked.all_entries()).turns
    assert [t.prompt for t in kept] == ["make one.bin"]
    assert checkpointer.snapshots.has(kept[0].tree)
    plan = checkpointer.plan_rewind(forked, 1)
    assert {c.path for c in plan.changes} == {"one.bin", "two.bin"}


def test_retention_frees_old_snapshots_and_reports_bytes(tmp_path: Path) -> None:
    project, env, store, checkpointer = _setup(tmp_path)
    session = store.create(project, "p/m")
    _turn(checkpointer, session, project, "big.bin", 2_000_000)
    (project / "big.bin").unlink()
    _turn(checkpointer, session, project, "small.bin", 10)
    (project / "big.bin").write_bytes(b"")  # the 2 MB blob now only lives in old snapshots
    (project / "big.bin").unlink()
    session.close()
    kept = collect(store, retention_days=30, env=env)
    assert kept.freed < 1_000_000
    assert all(checkpointer.snapshots.has(t.tree) for t in read_timeline(store.open(session.id).all_entries()).turns)
    later = collect(store, retention_days=1, env=env, now_ms=session.updated + 3 * DAY_MS)
    assert later.freed > 1_500_000, later
    assert not any(
        checkpointer.snapshots.has(t.tree) for t in read_timeline(store.open(session.id).all_entries()).turns
    )


def test_a_project_without_sessions_loses_its_shadow_repository(tmp_path: Path) -> None:
    project, env, store, checkpointer = _setup(tmp_path)
    session = store.create(project, "p/m")
    _turn(checkpointer, session, project, "x.bin", 1000)
    session.close()
    store.delete(session.id)
    report = collect(store, retention_days=30, env=env)
    assert len(report.removed_projects) == 1
    assert report.freed > 0
    assert not checkpointer.snapshots.git_dir.exists()
