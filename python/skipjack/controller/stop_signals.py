"""SIGINT, SIGTERM and SIGHUP while the agent runs: abort cleanly, and force on the second.

The first of these signals aborts the run the way Ctrl-C always did: the model request is
cancelled, the tools' process groups are stopped (SIGTERM, a grace period, SIGKILL), and every
open tool call gets its result recorded, so the session can be resumed. Without this, SIGTERM
and SIGHUP (closing the terminal) killed skipjack at once and left the commands it started
running, and the session with tool calls that no result answers.

A second signal while the abort is under way means "now": the process groups of every child
are killed with SIGKILL, `before_exit` gets a last chance to record what is missing, and the
process exits with 128 + the first signal's number (130 SIGINT, 143 SIGTERM, 129 SIGHUP), as a
shell reports a process killed by that signal.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import signal
import sys
from collections.abc import Callable

from skipjack.tools._procgroup import child_pids, kill_tagged

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def exit_code_for(sig: int) -> int:
    return 128 + sig


class StopSignals:
    """`with StopSignals(loop, agent.abort, before_exit=...) as stop: ...`; afterwards
    `stop.received` is the first signal (or None)."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        abort: Callable[[], None],
        *,
        before_exit: Callable[[], None] | None = None,
        on_first: Callable[[int], None] | None = None,
        ignore_after: bool = False,
    ) -> None:
        self._loop = loop
        self._ignore_after = ignore_after
        """Ignore these signals once removed (a one-shot run winding down: giving them back to
        the default action would turn its finished run's exit status into a signal death
        while the loop shuts its threads down)."""
        self._abort = abort
        self._before_exit = before_exit
        self._on_first = on_first
        self.received: int | None = None
        self._installed: list[int] = []

    @property
    def exit_code(self) -> int | None:
        return None if self.received is None else exit_code_for(self.received)

    def install(self) -> None:
        for sig in STOP_SIGNALS:
            self._loop.add_signal_handler(sig, self._on_signal, sig)
            self._installed.append(sig)

    def remove(self) -> None:
        for sig in self._installed:
            self._loop.remove_signal_handler(sig)  # back to SIG_DFL...
            if self._ignore_after:
                signal.signal(sig, signal.SIG_IGN)  # ...for as short a time as two calls take
        self._installed.clear()

    def __enter__(self) -> StopSignals:
        self.install()
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
        if self.received is not None:
            # The run was stopped by a signal: whatever it started must not outlive it, even a
            # command whose start the abort overtook (the tool never held it to stop it), and
            # one forked while the process winds down (swept again at exit).
            kill_child_groups()
            atexit.register(kill_tagged)

    def _on_signal(self, sig: int) -> None:
        if self.received is None:
            self.received = sig
            if self._on_first is not None:
                with contextlib.suppress(Exception):
                    self._on_first(sig)
            self._abort()
            return
        force_exit(exit_code_for(self.received), self._before_exit)


def force_exit(code: int, before_exit: Callable[[], None] | None = None) -> None:
    """Kill the children's process groups, run `before_exit`, and leave without unwinding
    (the event loop may be stuck in whatever the abort was waiting for)."""
    kill_child_groups()
    if before_exit is not None:
        with contextlib.suppress(BaseException):
            before_exit()
    with contextlib.suppress(BaseException):
        sys.stdout.flush()
    with contextlib.suppress(BaseException):
        sys.stderr.flush()
    os._exit(code)


def kill_child_groups() -> int:
    """SIGKILL every child's process group (the tools start each command as a group leader,
    `start_new_session=True`); a child still in our own group is killed alone. Returns how
    many were signalled."""
    own_group = os.getpgrp()
    count = 0
    for pid in child_pids():
        try:
            pgid = os.getpgid(pid)
            if pgid != own_group:
                os.killpg(pgid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
            count += 1
        except (ProcessLookupError, PermissionError):
            continue
    return count + kill_tagged()
