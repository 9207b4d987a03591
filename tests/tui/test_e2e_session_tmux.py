"""A whole coding session in a real 80x24 tty: read → edit → pytest → markdown answer,
and hostile `!` output, checking the screen after each step (the installed command in tmux)."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn

from .test_e2e_tmux import Terminal, launcher, pytestmark  # noqa: F401  (pytestmark: skip without tmux)


@pytest.fixture
def tty(project: Path, env: dict[str, str], scripted: ScriptedModel, tmp_path: Path) -> Iterator[Terminal]:
    """The installed command in an 80x24 tmux window of the test's own tmux server."""
    name = f"skipjack-session-{os.getpid()}-{time.monotonic_ns()}"
    command = [*launcher(), "--base-url", scripted.server.url, "--model", "scripted/e2e-model", "--approval", "ask"]
    exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
    term = Terminal(name, tmp_path / "tmux.sock")
    term.tmux(
        "new-session",
        "-d",
        "-s",
        name,
        "-x",
        "80",
        "-y",
        "24",
        "-c",
        str(project),
        f"env {exports} {shlex.join(command)}; sleep 30",
    )
    try:
        yield term
    finally:
        subprocess.run(["tmux", "-S", str(term.socket), "kill-server"], capture_output=True, timeout=10)


CALC = "def add(a, b):\n    return a - b\n"
TEST = "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
ANSWER = (
    "## Fixed\n\n"
    "- `add` returned `a - b`; it now returns `a + b`\n"
    "- the test passes\n\n"
    "```python\ndef add(a, b):\n    return a + b\n```\n\n"
    "Run **pytest** again after any change."
)


def approve(tty: Terminal, what: str) -> str:
    tty.wait_for(lambda s: "needs approval" in s and what in s, f"the approval for {what}")
    time.sleep(0.5)  # keys typed as a box appears may be held back from it on purpose
    screen = tty.screen()  # what the user reads when answering: the chat scrolled to its end
    tty.send("y")
    return screen


def fits(screen: str) -> None:
    lines = screen.rstrip("\n").splitlines()
    assert len(lines) <= 24
    assert max(len(line) for line in lines) <= 80


def test_read_edit_pytest_answer_at_80x24(tty: Terminal, scripted: ScriptedModel, project: Path) -> None:
    (project / "calc.py").write_text(CALC)
    (project / "test_calc.py").write_text(TEST)
    pytest_cmd = f"{shlex.quote(sys.executable)} -m pytest -q -p no:cacheprovider test_calc.py"
    scripted.enqueue(
        ScriptedTurn(text="Reading calc.py.", tool_calls=[ScriptedToolCall("read", {"path": "calc.py"})]),
        ScriptedTurn(
            text="The sign is wrong.",
            tool_calls=[ScriptedToolCall("edit", {"path": "calc.py", "old_text": "a - b", "new_text": "a + b"})],
        ),
        ScriptedTurn(text="Running the tests.", tool_calls=[ScriptedToolCall("bash", {"command": pytest_cmd})]),
        ScriptedTurn(text=ANSWER, prompt_tokens=3000, completion_tokens=80),
    )
    tty.wait_for(lambda s: "scripted/e2e-model" in s and "ready" in s, "the status line")
    tty.type("fix the bug in calc.py")
    tty.send("Enter")

    # read: no question asked (the file was read and sent back before the edit asked); at
    # 80x24 the docked approval box may leave the read's panel just above the visible rows.
    screen = approve(tty, "edit calc.py")
    fits(screen)
    assert len(scripted.requests) == 2
    assert any(m.get("role") == "tool" and "a - b" in str(m.get("content")) for m in scripted.request_messages(1))
    assert "The sign is wrong." in screen or "✓ read  calc.py" in screen
    assert (project / "calc.py").read_text() == CALC  # nothing changed before the answer

    # edit → the file changes; then pytest asks.
    screen = approve(tty, "-m pytest -q")
    fits(screen)
    assert (project / "calc.py").read_text() == "def add(a, b):\n    return a + b\n"
    assert "The sign is wrong." in screen or "✓ edit" in screen

    # pytest runs for real and passes; the markdown answer follows.
    screen = tty.wait_for(lambda s: "Run pytest again" in s and "ready" in s, "the answer", limit=30)
    fits(screen)
    assert "Fixed" in screen
    assert "## Fixed" not in screen
    assert "• add returned a - b; it now returns a + b" in screen
    assert "```" not in screen
    assert "return a + b" in screen
    assert "**" not in screen
    assert len(scripted.requests) == 4
    tool_results = [m for m in scripted.request_messages(3) if m.get("role") == "tool"]
    assert "1 passed" in tool_results[-1]["content"]

    # Scroll back over the session: the pytest panel shows its result line on one of the pages
    # (how many rows a page is depends on the answer's layout: page up, then down, to find it).
    tty.send("PageUp")
    time.sleep(0.3)
    for key in ("PageDown", "PageUp", "PageUp", "PageDown"):
        if "1 passed" in tty.screen():
            break
        tty.send(key)
        time.sleep(0.3)
    screen = tty.wait_for(lambda s: "1 passed" in s, "the pytest output above")
    fits(screen)


def test_hostile_shell_output_does_not_drive_the_real_terminal(tty: Terminal, project: Path) -> None:
    tty.wait_for(lambda s: "scripted/e2e-model" in s and "ready" in s, "the status line")
    title_before = tty.tmux("display", "-p", "-t", tty.name, "#{pane_title}")
    hostile = r"printf 'alpha\n\033[2J\033[H\033]0;pwned-title\007\033]2;pwned2\033\\beta\n\033[?1049lgamma\n'"
    tty.type(f"!{hostile}")
    tty.send("Enter")
    screen = tty.wait_for(lambda s: "gamma" in s and "ready" in s, "the command's output")
    fits(screen)
    # The UI is intact (status line, the command's own lines); nothing cleared it.
    assert "scripted/e2e-model" in screen
    assert "alpha" in screen
    assert "beta" in screen
    title = tty.tmux("display", "-p", "-t", tty.name, "#{pane_title}")
    assert "pwned" not in title
    assert title == title_before
    time.sleep(0.5)
    assert "scripted/e2e-model" in tty.screen()
