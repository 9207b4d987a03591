"""Stopping a whole process group: SIGTERM, a grace period, then SIGKILL."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from skipjack.run_tag import ANCESTOR_TAGS_VAR, RUN_TAG_VAR

KILL_GRACE_S = 1.0

_PROC = Path("/proc")


def group_alive(pgid: int) -> bool:
    """Whether any live (non-zombie) process is in group `pgid`.

    Reads /proc where it exists: `killpg(pgid, 0)` also succeeds for zombies, which an init
    that does not reap orphans (common in containers) leaves around for good, and waiting for
    those to go would always cost the whole grace period.
    """
    try:
        # No process at all, zombie or not, is in the group: the usual answer once a command
        # has exited, found with one system call instead of reading every process's stat
        # (milliseconds on a busy machine, three times per command).
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        if not _PROC.is_dir():
            return False
    if not _PROC.is_dir():
        return True
    with os.scandir(_PROC) as entries:
        for entry in entries:
            if not entry.name.isdigit():
                continue
            try:
                stat = Path(entry.path, "stat").read_bytes()
            except OSError:
                continue
            # Fields after the parenthesised command name: state, ppid, pgrp, ...
            fields = stat[stat.rfind(b")") + 2 :].split()
            if len(fields) > 2 and int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
                return True
    return False


def _signal_group(pgid: int, sig: signal.Signals) -> bool:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


async def _wait_gone(pgid: int, within: float, step: float = 0.02) -> bool:
    # Polled: nothing signals when a group empties (its orphaned members are not our
    # children, so there is no wait() or pidfd for them).
    for _ in range(max(int(within / step), 0)):
        if not group_alive(pgid):
            return True
        await asyncio.sleep(step)
    return not group_alive(pgid)


def _stat_fields(pid: str) -> list[bytes] | None:
    try:
        stat = Path(_PROC, pid, "stat").read_bytes()
    except OSError:
        return None
    # Fields after the parenthesised command name: state, ppid, pgrp, ...
    return stat[stat.rfind(b")") + 2 :].split()


def _children_map() -> dict[int, list[int]]:
    """Live (non-zombie) processes by parent pid, from /proc."""
    children: dict[int, list[int]] = {}
    with contextlib.suppress(OSError), os.scandir(_PROC) as entries:
        for entry in entries:
            fields = _stat_fields(entry.name) if entry.name.isdigit() else None
            if fields is not None and len(fields) > 1 and fields[0] not in (b"Z", b"X"):
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def child_pids(parent: int | None = None) -> list[int]:
    """The live children of `parent` (default: this process)."""
    return _children_map().get(os.getpid() if parent is None else parent, [])


def descendants(root: int) -> set[int]:
    """Every live process below `root` in the process tree, whatever its group or session:
    a sandboxed command runs in a session of its own inside bwrap's PID namespace."""
    children = _children_map()
    found: set[int] = set()
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def _any_alive(pids: set[int]) -> bool:
    for pid in pids:
        fields = _stat_fields(str(pid))
        if fields is not None and fields[0] not in (b"Z", b"X"):
            return True
    return False


async def _finish_kill(proc: asyncio.subprocess.Process, pgid: int, grace: float, members: set[int]) -> None:
    # Signal only a group that still has members: once it is empty its number may be reused.
    if not await _wait_gone(pgid, grace):
        _signal_group(pgid, signal.SIGKILL)
    await proc.wait()
    # SIGKILL cannot be ignored, but delivery is asynchronous: wait until the kernel is done.
    await _wait_gone(pgid, KILL_GRACE_S, step=0.005)
    # Processes in other sessions below it (inside a sandbox's PID namespace) die with the
    # namespace's init, also asynchronously: the command is over only when they are gone.
    for _ in range(int(KILL_GRACE_S / 0.005)):
        if not _any_alive(members):
            break
        await asyncio.sleep(0.005)


async def stop_group(proc: asyncio.subprocess.Process, grace: float = KILL_GRACE_S) -> bool:
    """Stop `proc`'s process group (its pid, as started with `start_new_session=True`).

    Returns whether anything was still running. The SIGTERM is sent before the first await,
    and the rest runs as a shielded task, so a second cancellation of the caller cannot leave
    the group half-stopped.
    """
    pgid = proc.pid
    alive = group_alive(pgid)
    members = descendants(pgid) if alive else set()
    if alive:
        _signal_group(pgid, signal.SIGTERM)
    task = asyncio.ensure_future(_finish_kill(proc, pgid, grace if alive else 0.0, members))
    try:
        await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({task})
        raise
    return alive


def _carries(environ: bytes, tag: str) -> bool:
    for entry in environ.split(b"\0"):
        name, _, value = entry.partition(b"=")
        if name == RUN_TAG_VAR.encode() and value == tag.encode():
            return True
        if name == ANCESTOR_TAGS_VAR.encode() and tag.encode() in value.split(b":"):
            return True
    return False


def kill_tagged() -> int:
    """SIGKILL every process carrying this run's tag (its own or as an ancestor's), orphans
    included.

    The last net on the way out after a signal: a command whose start the abort overtook
    (bwrap forked but not yet holding its parent-death signal, reparented once we exit) is
    no child of ours any more and in no group we know, but it still carries the tag in the
    environment it was started with.
    """
    tag = os.environ.get(RUN_TAG_VAR)
    if not tag or not _PROC.is_dir():
        return 0
    own = os.getpid()
    count = 0
    with os.scandir(_PROC) as entries:
        for entry in entries:
            if not entry.name.isdigit() or int(entry.name) == own:
                continue
            try:
                environ = Path(entry.path, "environ").read_bytes()
            except OSError:
                continue
            if _carries(environ, tag):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(int(entry.name), signal.SIGKILL)
                    count += 1
    return count
