"""`secret_locations` keeps its answer between tool calls: it must never serve a stale one.

An attacker (or a clumsy user) who moves a credential directory behind a symlink between two
tool calls must see the second call judge the new real path.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from skipjack.safety import secret_files
from skipjack.safety.policy import ApprovalPolicy, Decision
from skipjack.safety.secret_files import _realpath, secret_locations


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.setattr(secret_files, "_resolved", {})
    return h


@pytest.fixture
def keep_fresh_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let answers about just-created directories be kept, so reuse itself is exercised
    (outside tests they are not kept for 3 s: timestamps are coarse)."""
    monkeypatch.setattr(secret_files, "_RACY_NS", 0)


def _tick() -> None:
    # Past the file system's timestamp granularity (a kernel tick), so a change shows.
    time.sleep(0.05)


def test_realpath_copy_agrees_with_the_stdlib(tmp_path: Path) -> None:
    (tmp_path / "real" / "deep").mkdir(parents=True)
    (tmp_path / "a").symlink_to(tmp_path / "real")
    (tmp_path / "chain").symlink_to("a/deep/../deep")
    (tmp_path / "rel").symlink_to("real/deep")
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere" / "x")
    (tmp_path / "up").symlink_to(tmp_path / "real" / "deep")
    cases = [
        "a/deep",
        "chain/x",
        "rel/../..",
        "loop1/x",
        "dangling/y",
        "up/../deep/./z",
        "missing/../a",
        "a//deep/",
        ".",
    ]
    for case in cases:
        path = str(tmp_path / case)
        assert _realpath(path, set()) == os.path.realpath(path), case
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        for case in ("a/deep", "../" + tmp_path.name + "/chain", "loop1"):
            assert _realpath(case, set()) == os.path.realpath(case), case
    finally:
        os.chdir(old)


def test_every_location_is_what_realpath_says(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The resolution shares its walks between locations (a parent's real path, each lstat):
    each location must still be exactly `os.path.realpath` of its spelling, through a
    symlinked parent, a chain, a loop, a dangling link and `..` in a target."""
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "cfg").mkdir(parents=True)
    (elsewhere / "local-share").mkdir()
    (home / ".config").symlink_to(elsewhere / "cfg")
    (home / ".local").mkdir()
    (home / ".local" / "share").symlink_to("../../elsewhere/local-share")  # relative, with ..
    (elsewhere / "cfg" / "gh").symlink_to(elsewhere / "cfg" / "gh")  # a loop of one
    (home / ".cache").symlink_to(home / ".cache-b")  # a chain: .cache -> .cache-b -> .cache
    (home / ".cache-b").symlink_to(home / ".cache")
    (home / ".ssh").symlink_to(tmp_path / "nowhere" / "ssh")  # dangling
    (home / ".aws").symlink_to(home / ".ssh")  # through the dangling one
    (home / ".m2").symlink_to(elsewhere)
    resolved = secret_files._resolve_locations(str(home))
    spelled = [*secret_files.SENSITIVE_FILES, *(os.path.join(home, p) for p in secret_files.SENSITIVE_HOME)]
    assert list(resolved.texts) == list(dict.fromkeys(os.path.realpath(p) for p in spelled))
    assert resolved.locations == tuple(Path(t) for t in resolved.texts)
    # What the answer depends on includes the symlinks' own directories, not only HOME.
    depends = {d for d, _ in resolved.stamps}
    assert {str(home), str(home / ".local"), str(elsewhere / "cfg"), str(elsewhere)} <= depends
    # Other spellings of a home, the root among them.
    monkeypatch.chdir(tmp_path)
    spaced = tmp_path / " a home\twith spaces "
    spaced.mkdir()
    (spaced / ".ssh").symlink_to(home / ".ssh")
    (spaced / ".config").symlink_to("../home/.config")
    for spelling in ("/", f"{home}/", f"//{str(home).lstrip('/')}", "home", "./home/../home", "~", str(spaced)):
        monkeypatch.setenv("HOME", str(home))  # for "~"
        got = secret_files._resolve_locations(spelling).texts
        real_home = os.path.realpath(os.path.expanduser(spelling))
        spelled = [*secret_files.SENSITIVE_FILES, *(os.path.join(real_home, p) for p in secret_files.SENSITIVE_HOME)]
        assert list(got) == list(dict.fromkeys(os.path.realpath(p) for p in spelled)), spelling


def test_a_credential_dir_moved_behind_a_symlink_is_seen(home: Path, tmp_path: Path, keep_fresh_answers: None) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    first = secret_locations()
    assert home / ".ssh" in first
    assert secret_files._resolved, "the answer was kept"
    _tick()
    (home / ".ssh").symlink_to(elsewhere)
    assert elsewhere in secret_locations()


def test_a_symlinked_parent_directory_swapped_is_seen(home: Path, tmp_path: Path, keep_fresh_answers: None) -> None:
    # ~/.config -> cfg-a at first, then -> cfg-b: ~/.config/gh now lives in cfg-b.
    a, b = tmp_path / "cfg-a", tmp_path / "cfg-b"
    a.mkdir()
    b.mkdir()
    (home / ".config").symlink_to(a)
    assert a / "gh" in secret_locations()
    _tick()
    (home / ".config").unlink()
    (home / ".config").symlink_to(b)
    now = secret_locations()
    assert b / "gh" in now
    assert a / "gh" not in now


def test_a_change_deeper_in_a_symlink_target_is_seen(home: Path, tmp_path: Path, keep_fresh_answers: None) -> None:
    # ~/.aws -> store/aws; then store/aws itself becomes a symlink to vault: the directory
    # that changed is inside the symlink's target, not under HOME.
    store, vault = tmp_path / "store", tmp_path / "vault"
    (store / "aws").mkdir(parents=True)
    vault.mkdir()
    (home / ".aws").symlink_to(store / "aws")
    assert store / "aws" in secret_locations()
    _tick()
    (store / "aws").rmdir()
    (store / "aws").symlink_to(vault)
    assert vault in secret_locations()


def test_home_changing_is_seen(home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert home / ".ssh" in secret_locations()
    other = tmp_path / "other-home"
    other.mkdir()
    monkeypatch.setenv("HOME", str(other))
    assert other / ".ssh" in secret_locations()


def test_recent_changes_are_not_kept(home: Path) -> None:
    # The home directory was just created: its timestamps could still move within a tick
    # without showing it, so nothing about it is reused.
    secret_locations()
    assert not secret_files._resolved


def test_extra_is_resolved_every_time(home: Path, tmp_path: Path, keep_fresh_answers: None) -> None:
    cfg, moved = tmp_path / "cfg", tmp_path / "moved"
    cfg.mkdir()
    moved.mkdir()
    link = tmp_path / "cfg-link"
    link.symlink_to(cfg)
    assert cfg in secret_locations([link])
    link.unlink()
    link.symlink_to(moved)  # same tick on purpose: `extra` is not kept at all
    assert moved in secret_locations([link])


def test_policy_asks_for_a_read_through_a_credential_symlink_made_mid_session(
    home: Path, tmp_path: Path, keep_fresh_answers: None
) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "notes.txt").write_text("hi")
    keys = tmp_path / "keys"
    keys.mkdir()
    (keys / "id").write_text("secret")
    (project / "k").symlink_to(keys / "id")
    policy = ApprovalPolicy("auto-edit", project, cwd=project, sandboxed=True, allow=[], deny=[])
    assert policy.check("read", {"path": "notes.txt"}).decision is Decision.ALLOW
    assert policy.check("read", {"path": "k"}).decision is Decision.ALLOW, "keys/ is not a credential store yet"
    _tick()
    (home / ".ssh").symlink_to(keys)  # the user's ~/.ssh now lives in keys/
    verdict = policy.check("read", {"path": "k"})
    assert verdict.decision is Decision.ASK
    assert "credential store" in verdict.reason
    # Other spellings of the same file.
    for spelling in (str(keys / "id"), f"{keys}/./id", f"{keys}/../keys/id", " k"):
        assert policy.check("read", {"path": spelling}).decision is Decision.ASK, spelling
    assert policy.check("grep", {"pattern": "x", "path": str(tmp_path)}).decision is Decision.ASK


def test_path_within_is_component_wise() -> None:
    from skipjack.safety.policy import _path_within

    assert _path_within("/a/b", "/a")
    assert _path_within("/a", "/a")
    assert not _path_within("/ab", "/a")
    assert _path_within("/anything", "/")
    assert not _path_within("/a", "/a/b")


def test_the_enclosing_location_is_what_comparing_with_each_location_finds(home: Path) -> None:
    """The read tools' check looks a path's ancestors up in a set; it must agree with comparing
    the path with every location, component-wise (`~/.sshx` is not in `~/.ssh`)."""
    from skipjack.safety.policy import _path_within
    from skipjack.safety.secret_files import enclosing_secret_location, secret_location_texts

    extra = (str(home / "cfg"),)
    texts = secret_location_texts(extra)
    candidates = ["/", "/etc", "/etc/shadow", "/etc/shadowx", "/etc/shadow-", "/etc/ssl/private/k.pem", str(home)]
    for where in texts:
        candidates += [where, where + "/a/b", where + "x", where + "x/y", os.path.dirname(where)]
    for path in candidates:
        expected = [where for where in texts if _path_within(path, where)]
        found = enclosing_secret_location(path, extra)
        assert (found is None) == (not expected), path
        assert found is None or found in expected, path
