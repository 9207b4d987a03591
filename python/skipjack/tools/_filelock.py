"""One writer per file at a time, across tasks and across processes, and proof of what was read.

Within a process an `asyncio.Lock` per path queues the tasks; across processes (two skipjacks
in one project) an `fcntl.flock` on the file itself does. A writer replaces the file by a
rename, so the inode a waiter locked may no longer be the file: after the lock is granted
the path is stat'ed again and, if it now names another inode, the lock is taken anew on that
one. The lock file is the target itself so that no lock files appear in the user's tree and
every process agrees on it whatever its config or data directory.

Programs that do not take the lock (an editor, `sed -i`) can still change the file while an
edit is prepared; `LockedFile.check_unchanged` compares the file's identity (inode, size,
mtime) with what was read just before the new version replaces it, and refuses on a mismatch.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import stat
import weakref
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec

from skipjack.tools._atomic import create_new, needs_in_place, replace_file, write_in_place
from skipjack.tools._files import MAX_EDIT_BYTES

_POLL_FIRST = 0.002
_POLL_MAX = 0.05

# One lock per resolved path and event loop. An asyncio.Lock binds to the loop it is first
# contended on, so a process running several loops (tests, subagents in threads) keeps one
# registry per loop; weak values let a lock go once no call holds or awaits it.
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakValueDictionary[str, asyncio.Lock]]
_locks = weakref.WeakKeyDictionary()


class NotRegularError(OSError):
    """The path is a FIFO, device, socket or directory: the file tools never open those."""

    def __init__(self, kind: str) -> None:
        super().__init__(f"it is {kind}, not a regular file")
        self.kind = kind


class ChangedMeanwhileError(Exception):
    """Another program changed the file between our read and our write; nothing was written."""


def describe_kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: Path) -> int:
    """A read-only descriptor of regular file `path`; never blocks on a FIFO or device.

    Raises `NotRegularError` for anything else (checked before opening, so a device with side
    effects on open is never opened, and again on the descriptor, in case of a swap between).
    """
    st = os.stat(path)
    if not stat.S_ISREG(st.st_mode):
        raise NotRegularError(describe_kind(st.st_mode))
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise NotRegularError("a socket") from exc
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegularError(describe_kind(mode))
    os.set_blocking(fd, True)
    return fd


def read_fd(fd: int, size: int, limit: int) -> bytes:
    """The content of regular file `fd` from its start (`size` is the expected length), cut
    after `limit` bytes so a file that keeps growing cannot exhaust memory."""
    chunks: list[bytes] = []
    at = 0
    while at <= limit:
        chunk = os.pread(fd, min(max(size - at, 0) + 65536, limit + 1 - at), at)
        if not chunk:
            break
        chunks.append(chunk)
        at += len(chunk)
    return b"".join(chunks)


class LockedFile(msgspec.Struct):
    """A file held under the cross-process lock; `fd` is None if it did not exist."""

    path: Path
    fd: int | None
    st: os.stat_result | None

    def read(self) -> bytes:
        assert self.fd is not None
        assert self.st is not None
        return read_fd(self.fd, self.st.st_size, MAX_EDIT_BYTES)

    def check_unchanged(self) -> None:
        """Raise `ChangedMeanwhileError` if the file is not the version locked and read."""
        if self.fd is None or self.st is None:
            if os.path.lexists(self.path):
                raise ChangedMeanwhileError("it was created by another program meanwhile")
            return
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            raise ChangedMeanwhileError("it was deleted by another program meanwhile") from None
        held = os.fstat(self.fd)
        if (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
            raise ChangedMeanwhileError("it was replaced by another program meanwhile")
        if (held.st_size, held.st_mtime_ns) != (self.st.st_size, self.st.st_mtime_ns):
            raise ChangedMeanwhileError("it was modified by another program meanwhile")

    def write(self, data: bytes) -> None:
        """Put `data` in place of the file: a rename, or in place where a rename loses links.

        Blocking; run it to completion (`run_to_completion`) so no write outlives the lock.
        """
        if self.st is None:
            try:
                create_new(self.path, data)
            except FileExistsError:
                raise ChangedMeanwhileError("it was created by another program meanwhile") from None
            return
        if needs_in_place(self.st) is None:
            try:
                replace_file(self.path, data, self.st, before_rename=self.check_unchanged)
                return
            except PermissionError:
                pass  # a writable file in a directory we may not add to: write it in place
        self.check_unchanged()
        fd = os.open(self.path, os.O_WRONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        try:
            if os.fstat(fd).st_ino != self.st.st_ino:
                raise ChangedMeanwhileError("it was replaced by another program meanwhile")
            os.set_blocking(fd, True)
            write_in_place(fd, data)
        finally:
            os.close(fd)


async def _flock(fd: int) -> None:
    """Take an exclusive flock, polling so that cancellation (the user's abort) acts at once."""
    delay = _POLL_FIRST
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            await asyncio.sleep(delay)
            delay = min(delay * 2, _POLL_MAX)


@contextlib.asynccontextmanager
async def _process_lock(path: Path) -> AsyncIterator[None]:
    per_loop = _locks.setdefault(asyncio.get_running_loop(), weakref.WeakValueDictionary())
    lock = per_loop.get(str(path))
    if lock is None:
        lock = asyncio.Lock()
        per_loop[str(path)] = lock
    async with lock:
        yield


@contextlib.asynccontextmanager
async def locked_file(path: Path) -> AsyncIterator[LockedFile]:
    """Hold `path` (already resolved) against every other skipjack task and process.

    Raises `NotRegularError` for a FIFO, device, socket or directory, without blocking.
    """
    async with _process_lock(path):
        while True:
            try:
                fd = open_regular(path)
            except FileNotFoundError:
                # Creation needs no lock: `create_new` refuses if the name got taken meanwhile.
                yield LockedFile(path, None, None)
                return
            try:
                await _flock(fd)
                try:
                    now = os.stat(path)
                except FileNotFoundError:
                    continue
                held = os.fstat(fd)
                if (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
                    continue  # replaced while we waited: lock the file that is there now
                yield LockedFile(path, fd, held)
                return
            finally:
                os.close(fd)  # also releases the flock


def refuse_rewrite(path: Path, st: os.stat_result, shown: str) -> str | None:
    """Why the file at `path` must not be rewritten, or None.

    A file without any write permission is refused rather than replaced: a rename needs only
    the directory's permission, so replacing it would silently defeat the mode the user (or a
    tool such as a package manager) set to keep it unchanged. The refusal says how to proceed.
    """
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o222 == 0:
        return (
            f"{shown} is read-only (mode {mode:04o}); it was not changed. If it should be changed, "
            f"make it writable first (chmod u+w {shown})."
        )
    if not os.access(path, os.W_OK):
        return f"{shown} is not writable by this user (mode {mode:04o}, owner uid {st.st_uid}); it was not changed."
    return None
