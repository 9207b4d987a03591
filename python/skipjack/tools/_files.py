"""What the file tools share: the size limit, the agent's read records, and running blocking work."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")

MAX_EDIT_BYTES = 64 * 1024 * 1024
"""The largest file edit and write change (and write creates): a rewrite holds the file in
memory several times over (bytes, text, lines), so a bigger one is refused, not attempted."""

READS_KEY = "skipjack.tools.reads"
"""Key in `ToolContext.state` of the `{resolved path: ReadRecord}` map."""


class ReadRecord(msgspec.Struct, frozen=True):
    """The version of a file this agent last saw (read, or wrote itself).

    `lines` holds every line's digest (`_text.line_digests`) of that version, so an edit can
    check each line it replaces against what the model saw, and follow lines that others moved;
    None when the file was too large to edit anyway.
    """

    sha256: str
    mtime_ns: int
    size: int
    lines: bytes | None = None


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def reads(state: dict[str, Any]) -> dict[str, ReadRecord]:
    records: dict[str, ReadRecord] = state.setdefault(READS_KEY, {})
    return records


def record_read(state: dict[str, Any], path: Path, sha256: str, lines: bytes | None = None) -> None:
    try:
        st = path.stat()
    except OSError:
        return
    reads(state)[str(path)] = ReadRecord(sha256, st.st_mtime_ns, st.st_size, lines)


def too_large(size: int, what: str) -> str:
    return (
        f"{what} is {size:,} bytes, over the {MAX_EDIT_BYTES:,}-byte limit for edit and write; "
        "change it with a command (sed, a script) instead."
    )


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


class Cancelled(Exception):
    """Raised inside a worker by `check()` once its caller was cancelled."""


class CancelFlag:
    """Set when the awaiting task is cancelled; long loops in the worker call `check()`."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled


class _NotSmall(Exception):
    """Raised by `_InlineFlag` when work run inline turned out longer than expected."""


class _InlineFlag(CancelFlag):
    """The flag of work run on the event loop's thread: its first `checks` checks pass, the
    next one stops the work (to be redone in a thread)."""

    def __init__(self, checks: int) -> None:
        super().__init__()
        self._left = checks

    def check(self) -> None:
        self._left -= 1
        if self._left < 0:
            raise _NotSmall


async def run_cancellable(fn: Callable[[CancelFlag], T], *, inline_checks: int = 0) -> T:
    """Run side-effect-free `fn` in a thread; cancelling returns at once and tells `fn` to stop.

    Unlike `run_to_completion` the caller does not wait for the thread: `fn` only computes or
    reads, so nothing it does can land after the caller gave up.

    With `inline_checks`, for work the caller knows to be small (a small regular file), `fn`
    first runs right here: the hop to a thread and back costs more than reading a few
    kilobytes (~0.2 ms of every `read` call). If it calls `check()` more than that many times
    (the file grew meanwhile) it is stopped and run in a thread from the start, which its
    having no side effects allows.
    """
    if inline_checks > 0:
        try:
            return fn(_InlineFlag(inline_checks))
        except _NotSmall:
            pass
    flag = CancelFlag()
    try:
        return await asyncio.to_thread(fn, flag)
    except asyncio.CancelledError:
        flag.set()
        raise


def file_hash(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
