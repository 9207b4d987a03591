"""The snapshot store against hostile and awkward trees, with real git and real files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from tests.checkpoints.helpers import read_tree

from skipjack.checkpoints import SnapshotError, SnapshotStore


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), **extra)
    return env


def _store(tmp_path: Path, project: Path, **kw: object) -> SnapshotStore:
    env = kw.pop("env", None) or _env(tmp_path)
    return SnapshotStore(tmp_path / "shadow", project, env=env, **kw)  # type: ignore[arg-type]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "proj ~ x"
    p.mkdir()
    (p / "a.txt").write_text("a\n")
    (p / "dir").mkdir()
    (p / "dir" / "inner.txt").write_text("inner\n")
    return p


def test_a_folder_swapped_for_a_symlink_to_outside_is_not_written_through(tmp_path: Path, project: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "inner.txt").write_text("not yours\n")
    store = _store(tmp_path, project)
    before = store.snapshot()
    (project / "dir" / "inner.txt").unlink()
    (project / "dir").rmdir()
    os.symlink(outside, project / "dir")
    os.symlink("/etc/passwd", project / "escape")
    now = store.snapshot()
    assert {c.path for c in store.changes(before.tree, now.tree)} == {"dir", "dir/inner.txt", "escape"}
    store.restore(before.tree, now)
    assert (outside / "inner.txt").read_text() == "not yours\n", "nothing written outside the project"
    assert sorted(os.listdir(outside)) == ["inner.txt"]
    assert not (project / "dir").is_symlink()
    assert (project / "dir" / "inner.txt").read_text() == "inner\n"
    assert not os.path.lexists(project / "escape")
    assert Path("/etc/passwd").exists()


def test_a_symlink_to_outside_is_kept_as_a_link_never_followed(tmp_path: Path, project: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret outside\n")
    os.symlink(outside, project / "link")
    store = _store(tmp_path, project)
    before = store.snapshot()
    assert (
        "secret outside"
        not in subprocess.run(
            ["git", "--git-dir", str(tmp_path / "shadow"), "cat-file", "-p", f"{before.tree}:files/link"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    (project / "link").unlink()
    (project / "link").write_text("now a file\n")
    store.restore(before.tree, store.snapshot())
    assert os.readlink(project / "link") == str(outside)
    assert outside.read_text() == "secret outside\n"


def test_files_named_like_options_and_globs(tmp_path: Path, project: Path) -> None:
    names = ["-rf", "--exec=touch pwned", "*", ":(exclude)a.txt", "~", "~user file", " lead space", "new\nline"]
    for name in names:
        (project / name).write_text(f"{name}\n")
    store = _store(tmp_path, project)
    tree_before = read_tree(project)
    before = store.snapshot()
    for name in names:
        (project / name).unlink()
    (project / "a.txt").write_text("changed\n")
    store.restore(before.tree, store.snapshot())
    assert read_tree(project) == tree_before
    assert not (project / "pwned").exists()


def test_huge_files_are_skipped_listed_and_never_clobbered(tmp_path: Path, project: Path) -> None:
    store = _store(tmp_path, project, max_file_size=1000)
    (project / "grows.log").write_text("small\n")
    (project / "huge.bin").write_bytes(b"\0" * 5000)
    first = store.snapshot()
    assert [s.path for s in first.skipped] == ["huge.bin"]
    assert "larger than" in first.skipped[0].reason
    (project / "grows.log").write_bytes(b"y" * 5000)  # was small, now over the limit
    second = store.snapshot()
    assert {s.path for s in second.skipped} == {"huge.bin", "grows.log"}
    result = store.restore(first.tree, second)
    assert (project / "grows.log").read_bytes() == b"y" * 5000, "a file too large to snapshot is left alone"
    assert {s.path for s in result.left} == {"grows.log"}


def test_nested_repositories_and_git_files_are_left_alone(tmp_path: Path, project: Path) -> None:
    subprocess.run(["git", "init", "-q", str(project / "vendor")], check=True)
    (project / "vendor" / "lib.c").write_text("int x;\n")
    # A worktree-style `.git` file at the root of the project.
    (project / ".git").write_text("gitdir: /nonexistent/worktrees/x\n")
    store = _store(tmp_path, project)
    before = store.snapshot()
    assert any(s.path == "vendor/" for s in before.skipped)
    (project / "vendor" / "lib.c").write_text("changed by the agent\n")
    (project / "a.txt").unlink()
    store.restore(before.tree, store.snapshot())
    assert (project / ".git").read_text() == "gitdir: /nonexistent/worktrees/x\n"
    assert (project / "vendor" / ".git").is_dir()
    assert (project / "a.txt").read_text() == "a\n"
    assert (project / "vendor" / "lib.c").read_text() == "changed by the agent\n"


def test_a_project_inside_another_repo_and_a_hostile_git_environment(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    project = outer / "sub" / "proj"
    project.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(outer)], check=True)
    (project / "f.txt").write_text("1\n")
    outer_git = read_tree(outer / ".git", skip=())
    # As inside a git hook of the outer repository: GIT_DIR and GIT_INDEX_FILE point at it.
    env = _env(tmp_path, GIT_DIR=str(outer / ".git"), GIT_INDEX_FILE=str(outer / ".git" / "index"))
    store = _store(tmp_path, project, env=env)
    before = store.snapshot()
    (project / "f.txt").write_text("2\n")
    store.restore(before.tree, store.snapshot())
    assert (project / "f.txt").read_text() == "1\n"
    assert read_tree(outer / ".git", skip=()) == outer_git, "no index, ref, stash or object in the outer repo"
    status = subprocess.run(["git", "-C", str(outer), "stash", "list"], capture_output=True, text=True, check=True)
    assert status.stdout == ""


def test_the_users_excludes_are_honoured_and_their_git_config_is_not(tmp_path: Path) -> None:
    project = tmp_path / "p"
    project.mkdir()
    subprocess.run(["git", "init", "-q", str(project)], check=True)
    env = _env(tmp_path)
    home = Path(env["HOME"])
    (home / ".config" / "git").mkdir(parents=True)
    (home / ".config" / "git" / "ignore").write_text("*.swp\n")
    # A global config that would rewrite line endings and run a filter program.
    (home / ".gitconfig").write_text(
        '[core]\n\tautocrlf = true\n[filter "evil"]\n\tclean = touch ' + str(tmp_path / "filter-ran") + "\n"
    )
    (project / ".git" / "info" / "exclude").write_text("local-secret.env\n")
    (project / ".gitattributes").write_text("* text eol=crlf\n*.txt filter=evil\n")
    (project / "lf.txt").write_bytes(b"unix\nlines\n")
    (project / "crlf.txt").write_bytes(b"dos\r\nlines\r\nmixed\n")
    (project / "x.swp").write_text("editor junk\n")
    (project / "local-secret.env").write_text("TOKEN=1\n")
    store = _store(tmp_path, project, env=env)
    expected = read_tree(project)
    before = store.snapshot()
    names = subprocess.run(
        ["git", "--git-dir", str(tmp_path / "shadow"), "ls-tree", "-r", "--name-only", f"{before.tree}:files"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "x.swp" not in names
    assert "local-secret.env" not in names
    assert {"lf.txt", "crlf.txt", ".gitattributes"} <= set(names)
    assert not (tmp_path / "filter-ran").exists()
    (project / "lf.txt").write_text("changed\n")
    (project / "crlf.txt").unlink()
    store.restore(before.tree, store.snapshot())
    assert read_tree(project) == expected, "byte for byte, whatever .gitattributes asks"


def test_permission_bits_come_back_exactly(tmp_path: Path, project: Path) -> None:
    key = project / "id_key"
    key.write_text("k\n")
    key.chmod(0o600)
    tool = project / "tool.sh"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o750)
    store = _store(tmp_path, project)
    before = store.snapshot()
    key.chmod(0o644)
    tool.unlink()
    store.restore(before.tree, store.snapshot())
    assert oct(key.stat().st_mode & 0o777) == oct(0o600)
    assert oct(tool.stat().st_mode & 0o777) == oct(0o750)


def test_home_and_root_are_refused(tmp_path: Path) -> None:
    from skipjack.checkpoints import Checkpointer

    with pytest.raises(SnapshotError, match="home"):
        Checkpointer.for_project(Path.home(), env={"SKIPJACK_DATA_DIR": str(tmp_path)})
    with pytest.raises(SnapshotError, match="root"):
        Checkpointer.for_project(Path("/"), env={"SKIPJACK_DATA_DIR": str(tmp_path)})


def test_too_many_files_is_refused_not_copied(tmp_path: Path, project: Path) -> None:
    for i in range(30):
        (project / f"f{i}").write_text("x")
    with pytest.raises(SnapshotError, match="max_files"):
        _store(tmp_path, project, max_files=10).snapshot()


def test_bad_snapshot_ids_never_reach_git_as_options(tmp_path: Path, project: Path) -> None:
    store = _store(tmp_path, project)
    now = store.snapshot()
    for bad in ("--output=/tmp/x", "HEAD", "a" * 3, "../x"):
        assert not store.has(bad)
        with pytest.raises(SnapshotError):
            store.changes(bad, now.tree)


def test_the_objects_skipjack_writes_itself_pass_git_fsck(tmp_path: Path, project: Path) -> None:
    key = project / "key"
    key.write_text("k\n")
    key.chmod(0o600)
    store = _store(tmp_path, project)
    snap = store.snapshot()
    assert snap.modes == {"key": 0o600}
    shadow = str(tmp_path / "shadow")
    subprocess.run(["git", "--git-dir", shadow, "update-ref", "refs/skipjack/test", snap.tree], check=True)
    fsck = subprocess.run(
        ["git", "--git-dir", shadow, "fsck", "--strict", "--no-dangling"], capture_output=True, text=True
    )
    assert fsck.returncode == 0, fsck.stderr + fsck.stdout
    listing = subprocess.run(
        ["git", "--git-dir", shadow, "ls-tree", snap.tree], capture_output=True, text=True, check=True
    ).stdout
    assert "\tfiles" in listing
    assert "\tmodes" in listing
    assert store.modes_of(snap.tree) == {"key": 0o600}


def test_a_file_another_process_snapshotted_keeps_its_mode_in_ours(tmp_path: Path, project: Path) -> None:
    ours = _store(tmp_path, project)
    ours.snapshot()
    theirs = _store(tmp_path, project)  # another skipjack process, same project
    (project / "their key").write_text("k\n")
    (project / "their key").chmod(0o600)
    theirs.snapshot()
    snap = ours.snapshot()
    assert snap.modes.get("their key") == 0o600
    (project / "their key").write_text("overwritten\n")
    (project / "their key").chmod(0o644)
    ours.restore(snap.tree, ours.snapshot())
    assert (project / "their key").read_text() == "k\n"
    assert (project / "their key").stat().st_mode & 0o777 == 0o600


def test_the_shadow_repositorys_settings_are_what_git_reads(tmp_path: Path, project: Path) -> None:
    from skipjack.checkpoints.git import SHADOW_CONFIG

    store = _store(tmp_path, project)
    store.snapshot()
    git_dir = tmp_path / "shadow"
    for key, value in SHADOW_CONFIG:
        got = subprocess.run(
            ["git", "--git-dir", str(git_dir), "config", "--get", key], capture_output=True, text=True, check=False
        )
        assert got.stdout.strip() == value, key
    fsck = subprocess.run(["git", "--git-dir", str(git_dir), "config", "--list"], capture_output=True, check=False)
    assert fsck.returncode == 0  # the file as a whole still parses
