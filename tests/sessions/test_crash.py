"""A recorded agent run killed with SIGKILL mid-write, then reloaded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skipjack.agent.tool_pairing import INTERRUPTED
from skipjack.llm import AssistantMessage, TextContent, ToolResultMessage, UserMessage
from skipjack.sessions import Session

from ._crash_child import blob

CHILD = Path(__file__).with_name("_crash_child.py")
REPO = Path(__file__).resolve().parents[2]


def run_and_kill(root: Path, cwd: Path, kill_at_bytes: int) -> Path:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    child = subprocess.Popen(
        [sys.executable, str(CHILD), str(root), str(cwd)], stdout=subprocess.PIPE, env=env, text=True
    )
    try:
        assert child.stdout is not None
        path = Path(child.stdout.readline().strip())
        deadline = time.monotonic() + 60
        while path.stat().st_size < kill_at_bytes:
            assert child.poll() is None, "the child finished before it was killed"
            assert time.monotonic() < deadline, "the child wrote too slowly"
            time.sleep(0.0005)
        child.send_signal(signal.SIGKILL)
        assert child.wait(10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return path


@pytest.mark.parametrize("kill_at_mb", [6.5, 13.2, 22.7])
def test_killed_mid_run_loses_at_most_the_line_being_written(tmp_path: Path, kill_at_mb: float) -> None:
    cwd = tmp_path / "proj"
    cwd.mkdir()
    path = run_and_kill(tmp_path / "sessions", cwd, int(kill_at_mb * (1 << 20)))
    check_reload(path)


def test_a_kill_inside_a_write_leaves_a_torn_line_that_is_recovered(tmp_path: Path) -> None:
    """Linux stops a large write() between pages when SIGKILL arrives, so killing while the
    file grows inside a multi-megabyte line tears it; most attempts do, one must."""
    cwd = tmp_path / "proj"
    cwd.mkdir()
    for attempt in range(12):
        path = run_and_kill(tmp_path / f"sessions{attempt}", cwd, int((6.5 + attempt) * (1 << 20)))
        if not path.read_bytes().endswith(b"\n"):
            assert check_reload(path), "the torn line was reported"
            return
    pytest.fail("no kill landed inside a write in 12 attempts")


def check_reload(path: Path) -> bool:
    """Reload a killed session, check it, resume it; whether a torn tail was reported."""
    data = path.read_bytes()
    s = Session.load(path)
    assert len(s.warnings) <= 1
    assert len(s.all_entries()) == data.count(b"\n") - 1, "every complete line loaded"
    assert bool(s.warnings) == (not data.endswith(b"\n"))
    messages = s.messages()
    assert len(messages) > 2
    print(f"killed at {len(data)} bytes: {len(messages)} messages, torn tail: {bool(s.warnings)}")
    assert isinstance(messages[0], UserMessage)
    # The history is a faithful prefix of the run: call, result, call, result, ...
    for i, m in enumerate(messages[1:]):
        n = i // 2
        if i % 2 == 0:
            assert isinstance(m, AssistantMessage)
            assert [c.id for c in m.tool_calls] == [f"c{n}"]
        else:
            assert isinstance(m, ToolResultMessage)
            assert m.tool_call_id == f"c{n}"
            assert isinstance(m.content, list)
            assert isinstance(m.content[0], TextContent)
            if m.content[0].text == INTERRUPTED:
                # The kill landed before this result was written whole: loading answers the
                # call as interrupted, so the history stays valid for every provider.
                assert i == len(messages) - 2, "only the last call can lack its result"
                assert m.is_error
                continue
            assert m.content[0].text == blob(n), "a loaded result is complete, never a fragment"
    if s.warnings:
        # A kill inside the write of a result leaves a fragment; the results before it load.
        assert s.warnings[0].line == len(s.all_entries()) + 2

    # The session can be resumed: the torn tail is dropped and appending continues cleanly.
    s.append_message(UserMessage("resumed"))
    s.close()
    again = Session.load(path)
    assert again.warnings == []
    assert again.messages() == [*messages, UserMessage("resumed", timestamp=again.messages()[-1].timestamp)]
    return bool(s.warnings)
