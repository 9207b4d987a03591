"""Read every session file under the sessions root once, with progress for long reads."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from skipjack.reports.records import InputPrice, ScanResult, scan_file, session_files

Progress = Callable[[int, int], None]
"""Called with (bytes read so far, bytes in all) after each file."""


def scan(root: Path, *, input_price: InputPrice | None = None, progress: Progress | None = None) -> ScanResult:
    files = list(session_files(root))
    sizes = {}
    for f in files:
        try:
            sizes[f] = f.stat().st_size
        except OSError:
            sizes[f] = 0
    total = sum(sizes.values())
    result = ScanResult()
    price = input_price or registry_input_price()
    done = 0
    for f in files:
        scan_file(f, price, result)
        done += sizes[f]
        if progress is not None:
            progress(done, total)
    return result


def registry_input_price() -> InputPrice:
    """Today's input price of a model, from the registry, for requests that carry no rate."""
    cache: dict[tuple[str, str], float | None] = {}

    def lookup(provider: str, model: str) -> float | None:
        key = (provider, model)
        if key not in cache:
            cache[key] = _lookup(provider, model)
        return cache[key]

    return lookup


def _lookup(provider: str, model: str) -> float | None:
    from skipjack import models

    try:
        price = models.get_model(f"{provider}/{model}").price
    except Exception:
        return None
    return None if price is None else price.input


class DelayedProgress:
    """A progress callback that shows a bar only once a read has taken more than `after` s."""

    def __init__(self, show: Callable[[int, int], None], after: float = 1.0) -> None:
        self._show = show
        self._start = time.monotonic()
        self._after = after

    def __call__(self, done: int, total: int) -> None:
        if time.monotonic() - self._start >= self._after:
            self._show(done, total)
