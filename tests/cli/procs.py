"""Finding what a skipjack run left running: processes carrying a marker in their environment.

Every process the agent starts inherits skipjack's environment, so a unique variable set on
the `skipjack run` process tags them all, whatever they do to their group or session.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from pathlib import Path

MARKER_VAR = "SKIPJACK_TEST_MARKER"


def new_marker() -> str:
    return uuid.uuid4().hex


def marked_pids(marker: str) -> list[int]:
    """Live (non-zombie) processes whose environment holds `marker`."""
    needle = f"{MARKER_VAR}={marker}".encode()
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle not in (entry / "environ").read_bytes().split(b"\0"):
                continue
            stat = (entry / "stat").read_bytes()
        except OSError:
            continue
        if stat[stat.rfind(b")") + 2 :].split()[0] not in (b"Z", b"X"):
            found.append(int(entry.name))
    return found


def wait_marked_gone(marker: str, within: float) -> list[int]:
    """The marked processes still alive after up to `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        left = marked_pids(marker)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.02)


def kill_marked(marker: str) -> None:
    """Clean up after a test (a kill -9 leaves orphans nothing in skipjack can stop)."""
    for pid in marked_pids(marker):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
