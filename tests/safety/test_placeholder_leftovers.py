"""A placeholder still busy when its command ends (the kernel drops a finished sandbox's mounts
a moment after its process is reaped) is removed as soon as it can be, never left in the
user's tree, and never while another command uses it again."""

from __future__ import annotations

import errno
import time
from pathlib import Path

import pytest

from skipjack.safety import sandbox


def _busy_for(monkeypatch: pytest.MonkeyPatch, tries: int) -> list[Path]:
    attempts: list[Path] = []
    real = sandbox._remove_placeholder

    def flaky(path: Path) -> bool:
        attempts.append(path)
        if len(attempts) <= tries:
            try:
                raise OSError(errno.EBUSY, "busy")
            except OSError as e:
                return e.errno not in (errno.EBUSY, errno.ENOTEMPTY)
        return real(path)

    monkeypatch.setattr(sandbox, "_remove_placeholder", flaky)
    return attempts


def _gone(path: Path, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not path.exists():
            return True
        time.sleep(0.01)
    return False


def test_a_busy_placeholder_is_removed_once_free(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git = tmp_path / ".git"
    hooks = git / "hooks"
    hooks.mkdir(parents=True)
    attempts = _busy_for(monkeypatch, tries=3)
    with sandbox._placeholders_lock:
        sandbox._placeholder_users.update({git: 1, hooks: 1})
    sandbox._release_placeholders([git, hooks])
    assert _gone(git, 2.0), "the .git placeholder was left in the user's tree"
    assert len(attempts) > 3
    # The sweeper removes the path and then forgets it, both under this lock: taken after the
    # path is gone, the set is settled (read without it, the test could look in between).
    with sandbox._placeholders_lock:
        assert not sandbox._leftover_placeholders


def test_a_leftover_in_use_again_is_left_to_its_new_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    git = tmp_path / ".git"
    git.mkdir()
    _busy_for(monkeypatch, tries=1)
    with sandbox._placeholders_lock:
        sandbox._placeholder_users[git] = 1
    # The sweep starts once the release has left the lock: held back here, so another command
    # surely acquires the placeholder before the sweep's first pass (the sweeper's thread
    # could otherwise get there first on a busy machine).
    start_sweep = sandbox._start_leftover_sweep
    monkeypatch.setattr(sandbox, "_start_leftover_sweep", lambda: None)
    sandbox._release_placeholders([git])
    assert git in sandbox._leftover_placeholders
    with sandbox._placeholders_lock:
        sandbox._placeholder_users[git] = 1
    start_sweep()
    time.sleep(0.2)
    assert git.is_dir(), "a placeholder a running command uses was removed under it"
    sandbox._release_placeholders([git])
    assert _gone(git, 2.0)


def test_what_the_user_put_there_since_is_never_removed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sandbox, "LEFTOVER_RETRY_S", 0.3)
    git = tmp_path / ".git"
    git.mkdir()
    (git / "HEAD").write_text("ref: refs/heads/main\n")
    with sandbox._placeholders_lock:
        sandbox._placeholder_users[git] = 1
    sandbox._release_placeholders([git])
    time.sleep(0.6)  # the whole retry window
    assert (git / "HEAD").read_text() == "ref: refs/heads/main\n"
    with sandbox._placeholders_lock:
        sandbox._leftover_placeholders.discard(git)
