"""The `skipjack` command with timing probes, for `bench/tui_bench.py` (run inside tmux).

Wraps, without changing them, the points a user sees: every frame the app writes to the
terminal (`App._display`), every render of streamed markdown (`StreamingMarkdown._flush`,
with how much of the answer is on screen after it) and every prompt sent. At exit the
records go, as JSON, to the file named by `SKIPJACK_PROBE_OUT`.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
import time
from typing import Any

frames: list[tuple[float, float]] = []
"""(monotonic, process CPU seconds) of each frame written to the terminal."""
flushes: list[tuple[float, int]] = []
"""(monotonic, characters of the streamed message rendered) of each markdown render."""
submits: list[float] = []
profiler: Any = None
"""With `SKIPJACK_PROFILE_OUT` set: a cProfile of the UI thread from the first prompt sent."""


def install() -> None:
    from textual.app import App

    from skipjack.tui.app import SkipjackApp
    from skipjack.tui.messages import StreamingMarkdown

    display = App._display

    def probed_display(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = display(self, *args, **kwargs)
        frames.append((time.monotonic(), time.process_time()))
        return out

    flush = StreamingMarkdown._flush

    def probed_flush(self: Any, *args: Any, **kwargs: Any) -> Any:
        out = flush(self, *args, **kwargs)
        flushes.append((time.monotonic(), len(self.source)))
        return out

    submitted = SkipjackApp.on_prompt_input_submitted

    def probed_submit(self: Any, event: Any) -> Any:
        submits.append(time.monotonic())
        global profiler
        if os.environ.get("SKIPJACK_PROFILE_OUT") and profiler is None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        return submitted(self, event)

    App._display = probed_display  # type: ignore[method-assign]
    StreamingMarkdown._flush = probed_flush  # type: ignore[method-assign]
    SkipjackApp.on_prompt_input_submitted = probed_submit  # type: ignore[method-assign]


def dump() -> None:
    global profiler
    if profiler is not None:
        # Once (dump runs again at exit), and before the records: the bench stops the
        # process as soon as their file exists.
        profiler.disable()
        profiler.dump_stats(os.environ["SKIPJACK_PROFILE_OUT"])
        profiler = None
    path = os.environ.get("SKIPJACK_PROBE_OUT")
    if path:
        # Whole or not at all: the bench reads it as soon as it exists.
        with open(path + ".tmp", "w") as f:
            json.dump({"frames": frames, "flushes": flushes, "submits": submits}, f)
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    install()
    atexit.register(dump)
    from skipjack.cli.main import main

    code = main(sys.argv[1:])
    dump()
    sys.exit(code)
