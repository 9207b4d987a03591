"""`group_alive`: one `killpg(0)` answers for an empty group; zombies still need /proc."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from skipjack.tools import _procgroup
from skipjack.tools._procgroup import group_alive


def _wait_state(pid: int, states: tuple[bytes, ...], within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        fields = _procgroup._stat_fields(str(pid))
        if fields is None or fields[0] in states:
            return
        time.sleep(0.005)
    raise AssertionError(f"{pid} never reached {states}")


def test_live_zombie_and_reaped_groups() -> None:
    proc = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert group_alive(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        _wait_state(proc.pid, (b"Z", b"X"))
        # Unreaped: killpg(pgid, 0) still succeeds, yet nothing in the group runs.
        os.killpg(proc.pid, 0)
        assert not group_alive(proc.pid)
    finally:
        proc.kill()
        proc.wait()
    assert not group_alive(proc.pid)


def test_a_member_left_behind_by_the_leader_keeps_the_group_alive() -> None:
    # The leader exits and is reaped; its background child is still in the group.
    proc = subprocess.Popen(["bash", "-c", "sleep 30 & echo $!"], start_new_session=True, stdout=subprocess.PIPE)
    assert proc.stdout is not None
    child = int(proc.stdout.readline())
    proc.wait()
    try:
        assert group_alive(proc.pid)
    finally:
        os.kill(child, signal.SIGKILL)
    _wait_state(child, (b"Z", b"X"))
    deadline = time.monotonic() + 5
    while group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not group_alive(proc.pid)


def test_an_empty_group_costs_no_scan_of_proc(monkeypatch: pytest.MonkeyPatch) -> None:
    proc = subprocess.Popen(["true"], start_new_session=True)
    proc.wait()

    def no_scan(*args: object) -> object:
        raise AssertionError("/proc was scanned for a group with no process at all")

    monkeypatch.setattr(os, "scandir", no_scan)
    assert not group_alive(proc.pid)
