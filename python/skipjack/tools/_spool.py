"""Where long command output is kept: `<data dir>/spool/<pid>-<random>/`, one folder per process.

Each file is capped (`FILE_CAP`) by its writer, the folder as a whole (`TOTAL_CAP`) by deleting
its oldest finished files before a new one starts, and the folder is deleted when the process
exits. A process that could not clean up (kill -9, a crash, power loss) leaves its folder
behind; the next process to spool removes it. A folder is known to be abandoned because its
owner holds an `flock` on `<folder>/.lock` for its whole life and the kernel drops that lock
when the process dies, however it dies; a pid alone could have been reused.

The data dir is the one sessions use (`$SKIPJACK_DATA_DIR`, else the platform's user data dir).
It is looked up here rather than imported from `skipjack.sessions`, which sits above the tools.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import secrets
import shutil
import threading
import time
from pathlib import Path

from skipjack.user_dirs import user_data_dir

FILE_CAP = 64 * 1024 * 1024
"""Bytes kept of one command's output; what follows is counted but not written."""
TOTAL_CAP = 256 * 1024 * 1024
"""Bytes of finished spool files one process keeps; the oldest go first."""
LOCK_NAME = ".lock"
ABANDONED_UNLOCKED_S = 60.0
"""A folder without a lock file is being created, unless it is older than this."""
DIR_MODE = 0o700


def spool_root() -> Path:
    override = os.environ.get("SKIPJACK_DATA_DIR")
    base = Path(override) if override else user_data_dir()
    return base / "spool"


class ProcessSpool:
    """This process's spool folder; created on first use, removed at exit."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pid = os.getpid()
        root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        remove_abandoned(root)
        self.dir = root / f"{self.pid}-{secrets.token_hex(4)}"
        self.dir.mkdir(mode=DIR_MODE)
        self._lock_fd = os.open(self.dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        self._open: set[Path] = set()
        self._guard = threading.Lock()

    def new_file(self, prefix: str) -> tuple[int, Path]:
        """A new empty file (fd open for writing) after making room under `TOTAL_CAP`."""
        with self._guard:
            self._make_room()
            path = self.dir / f"{prefix}{time.strftime('%H%M%S')}-{secrets.token_hex(4)}.log"
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            self._open.add(path)
            return fd, path

    def finished(self, path: Path) -> None:
        with self._guard:
            self._open.discard(path)

    def _make_room(self) -> None:
        done: list[tuple[int, int, Path]] = []
        for entry in os.scandir(self.dir):
            path = Path(entry.path)
            if entry.name == LOCK_NAME or path in self._open:
                continue
            with contextlib.suppress(FileNotFoundError):
                st = entry.stat(follow_symlinks=False)
                done.append((st.st_mtime_ns, st.st_size, path))
        done.sort()
        total = sum(size for _, size, _ in done)
        while done and total + FILE_CAP > TOTAL_CAP:
            _, size, oldest = done.pop(0)
            with contextlib.suppress(FileNotFoundError):
                oldest.unlink()
            total -= size

    def remove(self) -> None:
        """Delete the folder (at exit); only the process that made it may."""
        if os.getpid() != self.pid:
            return
        shutil.rmtree(self.dir, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)


def remove_abandoned(root: Path) -> int:
    """Delete the folders of processes that are gone; returns how many were removed."""
    removed = 0
    try:
        entries = list(os.scandir(root))
    except OSError:
        return 0
    for entry in entries:
        if not entry.is_dir(follow_symlinks=False):
            continue
        folder = Path(entry.path)
        try:
            fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CLOEXEC)
        except FileNotFoundError:
            with contextlib.suppress(OSError):
                if time.time() - entry.stat(follow_symlinks=False).st_mtime > ABANDONED_UNLOCKED_S:
                    shutil.rmtree(folder, ignore_errors=True)
                    removed += 1
            continue
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # its process is alive
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
        finally:
            os.close(fd)
    return removed


_spools: dict[tuple[Path, int], ProcessSpool] = {}
_spools_guard = threading.Lock()


def process_spool() -> ProcessSpool:
    """The spool folder of this process under the current data dir (created on first use)."""
    root = spool_root()
    key = (root, os.getpid())
    with _spools_guard:
        spool = _spools.get(key)
        if spool is None:
            spool = _spools[key] = ProcessSpool(root)
        return spool


@atexit.register
def _remove_at_exit() -> None:
    for spool in list(_spools.values()):
        spool.remove()
