"""Writing a file so that a crash at any moment leaves the old or the new version whole.

The new bytes go to a temporary file next to the target (same filesystem, so the rename is
atomic), named `.NAME.skipjack-PID-XXXXXXXX.tmp` so that anyone finding one knows whose it is;
a temporary file whose writer has died (a `kill -9` mid-edit) is deleted on the next write to
its directory. A file that cannot be replaced by a rename without losing something (it has
other hard links, or an owner this process cannot give the new inode) is written in place.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from pathlib import Path

_TEMP_RE = re.compile(r"^\..*\.skipjack-(\d+)-[0-9a-f]{8}\.tmp$", re.DOTALL)
_NAME_KEEP = 100
"""Characters of the target's name kept in a temp name, so the name stays under NAME_MAX."""


def temp_name(target: Path) -> Path:
    return target.with_name(f".{target.name[:_NAME_KEEP]}.skipjack-{os.getpid()}-{os.urandom(4).hex()}.tmp")


def is_temp_name(name: str) -> bool:
    return _TEMP_RE.match(name) is not None


def _process_start(pid: int) -> float | None:
    """When `pid` started (seconds since the epoch), on Linux; None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        with open("/proc/stat", "rb") as f:
            btime = next(int(line.split()[1]) for line in f if line.startswith(b"btime "))
        return btime + int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _writer_gone(pid: int, mtime: float) -> bool:
    if pid == os.getpid():
        return False  # ours, and perhaps being written by another task right now
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # alive, someone else's process
    started = _process_start(pid)
    # The pid was reused: the live process started after the file was last written (with a
    # second's slack for the clock tick the start time is rounded to).
    return started is not None and started > mtime + 1.0


def remove_stale_temps(directory: Path) -> list[str]:
    """Delete this user's skipjack temp files in `directory` whose writer has died."""
    removed: list[str] = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    uid = os.geteuid()
    for entry in entries:
        match = _TEMP_RE.match(entry.name)
        if match is None:
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if not stat.S_ISREG(st.st_mode) or st.st_uid != uid:
                continue
            if _writer_gone(int(match.group(1)), st.st_mtime):
                os.unlink(entry.path)
                removed.append(entry.name)
        except OSError:
            continue
    return removed


def _fsync_dir(directory: Path) -> None:
    try:
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass  # some filesystems refuse fsync on a directory; the rename already happened
    finally:
        os.close(dir_fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _write_temp(target: Path, data: bytes, old: os.stat_result | None) -> Path:
    """A fsynced temp file holding `data`, with the old file's mode (and owner, if allowed)."""
    tmp = temp_name(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        try:
            _write_all(fd, data)
            if old is not None:
                os.fchmod(fd, stat.S_IMODE(old.st_mode))
                if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                    with contextlib.suppress(OSError):
                        os.fchown(fd, old.st_uid, old.st_gid)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def create_new(target: Path, data: bytes) -> None:
    """Create `target` with `data`; `FileExistsError` if anything appeared there meanwhile.

    `os.link` creates the name only if it is free, so two writers creating one file cannot
    both succeed; where hard links are unsupported, a rename is the fallback.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(target.parent)
    tmp = _write_temp(target, data, None)
    try:
        try:
            os.link(tmp, target, follow_symlinks=False)
        except FileExistsError:
            raise
        except OSError:
            if os.path.lexists(target):
                raise FileExistsError(target) from None
            os.replace(tmp, target)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    _fsync_dir(target.parent)


def needs_in_place(old: os.stat_result) -> str | None:
    """Why a rename would lose something of the old file (so it must be written in place)."""
    if old.st_nlink > 1:
        return "it has other hard links"
    if old.st_uid != os.geteuid() and os.geteuid() != 0:
        return "it belongs to another user"
    return None


def replace_file(target: Path, data: bytes, old: os.stat_result, before_rename: object = None) -> None:
    """Replace existing `target` with `data` by an atomic rename; mode and owner are kept.

    `before_rename`, if callable, runs right before the rename and may raise to abandon it
    (the caller's last check that nobody changed the file meanwhile).
    """
    remove_stale_temps(target.parent)
    tmp = _write_temp(target, data, old)
    try:
        if callable(before_rename):
            before_rename()
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(target.parent)


def write_in_place(fd: int, data: bytes) -> None:
    """Overwrite the open file `fd` with `data` (same inode: hard links and owner stay).

    Not atomic: a crash during the write can leave a mix. It is used only where a rename would
    split a hard link or change the owner, as editors do (vim's `backupcopy=auto`).
    """
    os.lseek(fd, 0, os.SEEK_SET)
    _write_all(fd, data)
    os.ftruncate(fd, len(data))
    os.fsync(fd)
