"""A batch task's `repo` and `ref` come from a tasks file someone else may have written: neither
may run a command, read an option, or write outside the task's own clone."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.batch.conftest import make_repo

from skipjack.batch.workspace import WorkspaceError, clone


def test_a_repo_spelled_as_an_option_is_a_path_not_a_flag(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    hostile = f"--upload-pack=touch {marker}"
    with pytest.raises(WorkspaceError):
        clone(hostile, "HEAD", tmp_path / "work")
    assert not marker.exists()


@pytest.mark.parametrize("transport", ["ext::sh -c touch% {m}", "ext::sh -c 'touch {m}'"])
def test_the_ext_transport_never_runs_a_command(tmp_path: Path, transport: str) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(WorkspaceError):
        clone(transport.format(m=marker), "HEAD", tmp_path / "work")
    assert not marker.exists()


def test_the_ext_transport_stays_off_even_when_the_users_git_config_allows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text('[protocol]\n\tallow = always\n[protocol "ext"]\n\tallow = always\n')
    monkeypatch.setenv("HOME", str(home))
    marker = tmp_path / "pwned"
    with pytest.raises(WorkspaceError):
        clone(f"ext::sh -c touch% {marker}", "HEAD", tmp_path / "work")
    assert not marker.exists()


@pytest.mark.parametrize("ref", ["--output=pwned", "-h", "HEAD; touch pwned", "$(touch pwned)"])
def test_a_ref_spelled_as_an_option_or_shell_is_just_a_missing_commit(tmp_path: Path, ref: str) -> None:
    repo = make_repo(tmp_path / "repo")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        with pytest.raises(WorkspaceError, match="no commit"):
            clone(str(repo), ref, tmp_path / "work")
    finally:
        os.chdir(cwd)
    assert not (tmp_path / "pwned").exists()


def test_hooks_from_the_users_git_config_never_run_on_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = make_repo(tmp_path / "repo")
    marker = tmp_path / "pwned"
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (hooks / "post-checkout").write_text(f"#!/bin/sh\ntouch {marker}\n")
    (hooks / "post-checkout").chmod(0o755)
    home = tmp_path / "home"
    home.mkdir()
    (home / ".gitconfig").write_text(f"[core]\n\thooksPath = {hooks}\n")
    monkeypatch.setenv("HOME", str(home))
    sha = clone(str(repo), "HEAD", tmp_path / "work")
    assert len(sha) == 40
    assert (tmp_path / "work" / "hello.py").exists()
    assert not marker.exists()
