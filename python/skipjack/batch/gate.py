"""When the pool may start its next task: a rate limit seen by any task slows them all."""

from __future__ import annotations

import threading
import time

MIN_SPACING_S = 0.0
MAX_SPACING_S = 30.0


class StartGate:
    """Spacing between task starts: doubled (from 0.5 s) by each rate-limit retry a task
    reports, with a pause of at least the server's own delay; halved again by each task that
    finishes without one. So a 429 storm turns into a trickle of starts, not N tasks all
    retrying at once, and the pool speeds up again once the provider recovers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.spacing = MIN_SPACING_S
        self._next = 0.0
        self.rate_limits = 0

    def wait_s(self) -> float:
        with self._lock:
            return max(0.0, self._next - time.monotonic())

    def started(self) -> None:
        with self._lock:
            self._next = max(self._next, time.monotonic() + self.spacing)

    def rate_limited(self, delay_s: float) -> None:
        with self._lock:
            self.rate_limits += 1
            self.spacing = min(MAX_SPACING_S, max(0.5, self.spacing * 2))
            self._next = max(self._next, time.monotonic() + max(delay_s, self.spacing))

    def recovered(self) -> None:
        with self._lock:
            self.spacing = self.spacing / 2 if self.spacing > 0.25 else MIN_SPACING_S
