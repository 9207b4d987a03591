"""End to end in a real terminal: tmux runs the installed command, we type and read the screen."""

from __future__ import annotations

import inspect
import os
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn
from skipjack.tui.approval import ARM_DELAY_S

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

BIN = Path(sys.executable).parent


def launcher() -> list[str]:
    """The installed `skipjack` once the CLI opens the UI; until then the UI's own module."""
    from skipjack.cli import interactive

    if "run_tui" in inspect.getsource(interactive) and (BIN / "skipjack").exists():
        return [str(BIN / "skipjack")]
    return [sys.executable, "-m", "skipjack.tui"]


class Terminal:
    """A session on a tmux server of the test's own (`-S` socket), never the user's."""

    def __init__(self, name: str, socket: Path) -> None:
        self.name = name
        self.socket = socket

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-S", str(self.socket), *args], capture_output=True, text=True, timeout=10, check=True
        )
        return done.stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def send(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", self.name, *keys)

    def type(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.name, "-l", text)

    def wait_for(self, check: Callable[[str], bool], what: str, limit: float = 15.0) -> str:
        deadline = time.monotonic() + limit
        while True:
            screen = self.screen()
            if check(screen):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{screen}")
            time.sleep(0.1)


@pytest.fixture
def terminal(project: Path, env: dict[str, str], scripted: ScriptedModel, tmp_path: Path) -> Iterator[Terminal]:
    name = f"skipjack-e2e-{os.getpid()}-{time.monotonic_ns()}"
    command = [*launcher(), "--base-url", scripted.server.url, "--model", "scripted/e2e-model", "--approval", "ask"]
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    # After the app exits the pane stays a moment, so the test can read what it left behind.
    shell = f"env {exports} {shlex.join(command)}; echo EXITED $?; sleep 30"
    term = Terminal(name, tmp_path / "tmux.sock")
    term.tmux("new-session", "-d", "-s", name, "-x", "80", "-y", "24", "-c", str(project), shell)
    try:
        yield term
    finally:
        subprocess.run(["tmux", "-S", str(term.socket), "kill-server"], capture_output=True, timeout=10)


def test_a_session_in_a_real_terminal(terminal: Terminal, scripted: ScriptedModel, project: Path) -> None:
    scripted.enqueue(
        ScriptedTurn(
            text="Writing the proof file.",
            tool_calls=[ScriptedToolCall("bash", {"command": "echo e2e-ok > proof.txt"})],
        ),
        ScriptedTurn(text="All **done**: proof.txt exists.", prompt_tokens=4000, completion_tokens=50),
    )
    terminal.wait_for(lambda s: "scripted/e2e-model" in s and "ready" in s, "the status line")
    terminal.type("make a proof file")
    terminal.send("Enter")
    screen = terminal.wait_for(lambda s: "needs approval" in s, "the approval prompt")
    assert "echo e2e-ok > proof.txt" in screen
    assert not (project / "proof.txt").exists()
    time.sleep(ARM_DELAY_S + 0.1)  # keys sooner than a person could read the box do not answer it
    terminal.send("y")
    screen = terminal.wait_for(lambda s: "All done: proof.txt exists." in s and "ready" in s, "the answer")
    assert (project / "proof.txt").read_text() == "e2e-ok\n"
    assert "› make a proof file" in screen  # noqa: RUF001
    assert "✓ bash" in screen
    assert "ctx 4k" in screen  # 4050 tokens; no window is known for a bare --base-url model
    lines = screen.rstrip("\n").splitlines()
    assert len(lines) <= 24
    assert max(len(line) for line in lines) <= 80
    terminal.send("C-c")
    terminal.send("C-c")
    screen = terminal.wait_for(lambda s: "EXITED" in s, "the exit")
    assert "EXITED 0" in screen
    # The terminal is back to the shell's screen: no UI left on it.
    assert "scripted/e2e-model" not in screen
