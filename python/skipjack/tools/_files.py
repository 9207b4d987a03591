"""What the file tools share: per-file locks, atomic writes and the agent's read records."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import secrets
import stat
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

READS_KEY = "skipjack.tools.reads"
"""Key in `ToolContext.state` of the `{resolved path: ReadRecord}` map."""

# One lock per resolved path and event loop. An asyncio.Lock binds to the loop it is first
# contended on, so a process running several loops (tests, subagents in threads) keeps one
# registry per loop; weak values let a lock go once no call holds or awaits it.
_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, weakref.WeakValueDictionary[str, asyncio.Lock]]
_locks = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def file_lock(path: Path) -> AsyncIterator[None]:
    """Serialise every read-modify-write of `path` (already resolved) in this process."""
    per_loop = _locks.setdefault(asyncio.get_running_loop(), weakref.WeakValueDictionary())
    lock = per_loop.get(str(path))
    if lock is None:
        lock = asyncio.Lock()
        per_loop[str(path)] = lock
    async with lock:
        yield


@dataclass(frozen=True)
class ReadRecord:
    """The version of a file this agent last saw (read, or wrote itself)."""

    sha256: str
    mtime_ns: int
    size: int


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def file_hash(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def reads(state: dict[str, Any]) -> dict[str, ReadRecord]:
    records: dict[str, ReadRecord] = state.setdefault(READS_KEY, {})
    return records


def record_read(state: dict[str, Any], path: Path, sha256: str) -> None:
    try:
        st = path.stat()
    except OSError:
        return
    reads(state)[str(path)] = ReadRecord(sha256, st.st_mtime_ns, st.st_size)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so readers see the old or the new file, never a mix.

    The temporary file is created next to the target (same filesystem, so `os.replace` is an
    atomic rename), fsynced before the rename and the directory fsynced after, and given the
    old file's permission bits; a new file gets 0o666 less the umask, as `open` would.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        old_mode: int | None = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        old_mode = None
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if old_mode is not None:
            os.chmod(tmp, old_mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the rename already happened
    finally:
        os.close(dir_fd)


async def run_to_completion(fn: Callable[[], T]) -> T:
    """Run blocking `fn` in a thread; if cancelled meanwhile, wait for it before re-raising.

    A write must not still be running in its thread after the caller has released the file
    lock, or the next edit could read the file before the write lands and lose it.
    """
    task = asyncio.ensure_future(asyncio.to_thread(fn))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        while not task.done():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait({task})
        raise
