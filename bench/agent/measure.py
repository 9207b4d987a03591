"""Running one agent process and accounting for its whole process tree.

The agent starts in a fresh session (its own process group). The harness makes itself a child
subreaper (Linux `PR_SET_CHILD_SUBREAPER`), so a descendant the agent leaves behind is
reparented to the harness rather than to init: after the agent exits, whatever is left of its
group is killed and reaped with `os.wait4` too. CPU is the sum of `wait4`'s user + system time
of the agent (which already includes every descendant it waited for) and of those leftovers.
Peak memory of the tree is sampled: every 20 ms the proportional set size (PSS, from
`/proc/PID/smaps_rollup`: shared pages split between the processes sharing them, so a forked
child is not counted twice; children not yet exec'd are skipped, since a vfork child shows
its parent's memory as its own) of the agent and its live descendants (found through
`/proc/PID/task/TID/children`, cheaper than scanning all of /proc) is summed; `ru_maxrss`
(RSS of the largest single process) is kept as well.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
SAMPLE_INTERVAL = 0.02


def become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


@dataclass
class Finished:
    started: float
    """`time.monotonic()` just before the agent's process was created."""
    exit_code: int
    wall: float
    cpu: float
    """User + system seconds of the whole tree."""
    peak_pss_tree: int
    """Bytes: the largest sum of the tree's PSS seen by the sampler."""
    max_rss_single: int
    """Bytes: `ru_maxrss` of the agent and its reaped descendants (the largest one)."""
    timed_out: bool


def _group_pids(pgid: int) -> list[int]:
    pids = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_bytes()
        except OSError:
            continue
        # Fields after the parenthesised command name: state ppid pgrp ...
        fields = stat[stat.rfind(b")") + 2 :].split()
        if int(fields[2]) == pgid:
            pids.append(int(entry.name))
    return pids


def _descendants(root: int) -> list[int]:
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            continue
        for tid in tids:
            with contextlib.suppress(OSError):
                todo += [int(c) for c in Path(f"/proc/{pid}/task/{tid}/children").read_bytes().split()]
    return out


PF_FORKNOEXEC = 0x40
"""Kernel task flag (field 9 of /proc/PID/stat): forked, not yet exec'd."""


def _spawn_window(pid: int) -> bool:
    """Whether `pid` is a child between clone and exec: in a posix_spawn/vfork (CLONE_VM) it
    shares its parent's address space, and /proc shows that one mm under both pids."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return bool(int(stat[stat.rfind(b")") + 2 :].split()[6]) & PF_FORKNOEXEC)


def _tree_pss(root: int) -> int:
    # Children caught before their exec are skipped: a vfork child would count the parent's
    # memory twice, and a plain fork child's pages are still the parent's (shared, split in PSS).
    total = 0
    for pid in _descendants(root):
        if pid != root and _spawn_window(pid):
            continue
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_bytes()
        except OSError:
            continue
        for line in rollup.splitlines():
            if line.startswith(b"Pss:"):
                total += int(line.split()[1]) * 1024
                break
    return total


def run(argv: list[str], *, cwd: Path, env: dict[str, str], stdout: Path, stderr: Path, timeout: float) -> Finished:
    with stdout.open("wb") as out, stderr.open("wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True
        )
    pgid = proc.pid
    peak = 0
    done = threading.Event()
    timed_out = False

    def sample() -> None:
        nonlocal peak
        while not done.wait(SAMPLE_INTERVAL):
            peak = max(peak, _tree_pss(proc.pid))

    def watchdog() -> None:
        nonlocal timed_out
        if not done.wait(timeout):
            timed_out = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    threading.Thread(target=watchdog, daemon=True).start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from reaping it again
    done.set()
    sampler.join()
    cpu = usage.ru_utime + usage.ru_stime
    max_rss = usage.ru_maxrss * 1024
    # Descendants the agent left running: reparented to us (subreaper); stop and account them.
    leftovers = _group_pids(pgid)
    if leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)
        for pid in leftovers:
            try:
                _, _, u = os.wait4(pid, 0)
            except ChildProcessError:
                continue
            cpu += u.ru_utime + u.ru_stime
            max_rss = max(max_rss, u.ru_maxrss * 1024)
    return Finished(started, proc.returncode, wall, cpu, max(peak, 0), max_rss, timed_out)
