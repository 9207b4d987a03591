"""A one-shot run's stop signals after the run: ignored while the process winds down, never
the default action that would turn a finished run's exit status into a signal death."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

WINDING_DOWN = textwrap.dedent(
    """
    import asyncio, sys, time
    from skipjack.controller.stop_signals import StopSignals

    async def main(ignore_after):
        with StopSignals(asyncio.get_running_loop(), lambda: None, ignore_after=ignore_after):
            await asyncio.sleep(0)
        print("run over", flush=True)
        time.sleep(1.5)  # the loop's threads shutting down, say

    asyncio.run(main(sys.argv[1] == "ignore"))
    """
)


def _signal_while_winding_down(mode: str) -> int:
    proc = subprocess.Popen([sys.executable, "-c", WINDING_DOWN, mode], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "run over"
    time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    proc.send_signal(signal.SIGHUP)
    return proc.wait(timeout=10)


def test_a_one_shot_run_ignores_stop_signals_once_its_handlers_are_removed() -> None:
    assert _signal_while_winding_down("ignore") == 0


def test_a_long_lived_front_end_gets_the_default_action_back() -> None:
    # What the TUI relies on between runs: SIGTERM still ends it.
    assert _signal_while_winding_down("default") == -signal.SIGTERM
