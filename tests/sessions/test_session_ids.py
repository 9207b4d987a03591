"""Session ids are ids: matched literally, a prefix only within the current project, never a
glob pattern or a path (`sessions show '2026*'` once showed another project's session and
`sessions delete '*'` deleted an arbitrary one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skipjack.sessions import SessionNotFoundError, SessionStore

from .helpers import make_project


@pytest.fixture
def two_projects(store: SessionStore, tmp_path: Path) -> tuple[Path, str, Path, str]:
    a, b = make_project(tmp_path / "a"), make_project(tmp_path / "b")
    sa, sb = store.create(a, None), store.create(b, None)
    sa.close()
    sb.close()
    return a, sa.id, b, sb.id


def session_files(store: SessionStore) -> list[Path]:
    return sorted(store.root.glob("*/*.jsonl"))


def not_ids(sid: str) -> list[str]:
    """Everything a careless user or a hostile caller might hand over instead of an id."""
    return [
        "*",
        "?",
        sid[:4] + "*",
        sid[:8] + "-*",
        "[0-9]*",
        "?" * len(sid),
        sid[:-1] + "?",
        sid[:-1] + "[0-9a-f]",
        "*/" + sid,
        "../" + sid,
        "..",
        ".",
        "",
        " ",
        "~",
        sid + " ",
        " " + sid,
        sid + "\n",
        sid + ".jsonl",
        sid + "/",
        *([sid.upper()] if sid.upper() != sid else []),  # an all-digit hex part has no case
        sid[:-1] + "F",  # hex in capitals
        sid + "0",  # longer than any id
        "\uff12\uff10\uff12\uff16",  # fullwidth 2026: digits to str.isdigit
        sid[:8] + "\\" + sid[9:],
        "/etc/passwd",
    ]


def test_patterns_paths_and_other_spellings_are_refused(
    store: SessionStore, two_projects: tuple[Path, str, Path, str]
) -> None:
    a, _, _, sb = two_projects
    before = session_files(store)
    for text in not_ids(sb):
        with pytest.raises(SessionNotFoundError, match="is not a session id"):
            store.path_of(text, a)
        with pytest.raises(SessionNotFoundError):
            store.open(text, a)
        with pytest.raises(SessionNotFoundError):
            store.delete(text)
    assert session_files(store) == before


def test_a_prefix_is_looked_up_only_in_the_current_project(
    store: SessionStore, two_projects: tuple[Path, str, Path, str]
) -> None:
    a, sa, b, sb = two_projects
    # Ids made in the same second share 16 characters; the hex part tells them apart.
    unique_b = next(sb[:i] for i in range(1, len(sb) + 1) if not sa.startswith(sb[:i]))
    with pytest.raises(SessionNotFoundError, match="no session of this project"):
        store.path_of(unique_b, a)
    assert store.path_of(unique_b, b).stem == sb
    assert store.resolve_id(sa[:17] if not sb.startswith(sa[:17]) else sa, a) == sa
    # Without a project, only a whole id will do.
    with pytest.raises(SessionNotFoundError, match="give the whole id"):
        store.path_of(unique_b)
    # A whole id is unambiguous wherever it lives (`sessions list --all` shows them).
    assert store.path_of(sb, a).stem == sb
    assert store.path_of(sb).stem == sb


def test_an_ambiguous_prefix_lists_the_candidates(store: SessionStore, tmp_path: Path) -> None:
    project = make_project(tmp_path / "p")
    ids = []
    for _ in range(3):
        s = store.create(project, None)
        s.close()
        ids.append(s.id)
    common = ids[0][:8]  # the date: shared by all three
    with pytest.raises(SessionNotFoundError, match="matches 3 sessions") as caught:
        store.path_of(common, project)
    for sid in ids:
        assert sid in str(caught.value)


def test_delete_needs_the_whole_id(store: SessionStore, two_projects: tuple[Path, str, Path, str]) -> None:
    _, sa, _, sb = two_projects
    for text in (sa[:10], sa[:-1]):
        with pytest.raises(SessionNotFoundError, match="whole session id"):
            store.delete(text)
    assert len(session_files(store)) == 2
    store.delete(sa)
    assert [p.stem for p in session_files(store)] == [sb]
    with pytest.raises(SessionNotFoundError):
        store.delete(sa)


def test_a_lookalike_file_is_not_matched(store: SessionStore, two_projects: tuple[Path, str, Path, str]) -> None:
    """A file whose name only resembles an id (planted, or left by a tool) is never opened."""
    a, sa, _, _ = two_projects
    folder = store.project_path(a)
    (folder / "*.jsonl").write_text("{}\n")
    (folder / f"{sa}x.jsonl").write_text("{}\n")
    assert store.path_of(sa, a).stem == sa
    with pytest.raises(SessionNotFoundError, match="is not a session id"):
        store.path_of("*", a)
