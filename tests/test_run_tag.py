"""The signal-exit sweep reaches what a nested skipjack started, and nothing of anyone else's."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skipjack.run_tag import ANCESTOR_TAGS_VAR, MAX_ANCESTORS, RUN_TAG_VAR, tag_this_run
from skipjack.tools._procgroup import kill_tagged


def test_a_nested_run_gets_a_fresh_tag_and_keeps_its_parents() -> None:
    env: dict[str, str] = {}
    tag_this_run(env)
    outer = env[RUN_TAG_VAR]
    assert ANCESTOR_TAGS_VAR not in env
    tag_this_run(env)
    middle = env[RUN_TAG_VAR]
    tag_this_run(env)
    assert env[ANCESTOR_TAGS_VAR].split(":") == [outer, middle]
    assert env[RUN_TAG_VAR] not in (outer, middle)


def test_the_ancestor_list_stays_bounded_when_main_runs_many_times_in_one_process() -> None:
    env: dict[str, str] = {}
    for _ in range(1000):
        tag_this_run(env)
    assert len(env[ANCESTOR_TAGS_VAR].split(":")) == MAX_ANCESTORS
    assert len(env[ANCESTOR_TAGS_VAR]) < 1024


def _sleeper(env: dict[str, str]) -> subprocess.Popen[bytes]:
    # Its own session, as a nested run's tool would be: no group of ours reaches it.
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env, start_new_session=True)


def _gone(proc: subprocess.Popen[bytes], within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return True
        time.sleep(0.02)
    return False


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_the_sweep_kills_a_nested_runs_grandchild_and_spares_strangers(monkeypatch: pytest.MonkeyPatch) -> None:
    mine = os.urandom(16).hex()
    monkeypatch.setenv(RUN_TAG_VAR, mine)
    nested = dict(os.environ)
    tag_this_run(nested)  # what the nested skipjack's tools inherit
    stranger_env = dict(os.environ, **{RUN_TAG_VAR: "someone-else", ANCESTOR_TAGS_VAR: f"x{mine}:{mine}x"})
    grandchild, stranger = _sleeper(nested), _sleeper(stranger_env)
    try:
        time.sleep(0.2)  # the children have exec'd: /proc/PID/environ is theirs
        assert kill_tagged() >= 1
        assert _gone(grandchild, 5.0)
        assert not _gone(stranger, 0.3)
    finally:
        for p in (grandchild, stranger):
            p.kill()
            p.wait()
