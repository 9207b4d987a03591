"""A session that cannot be written (a full disk) ends the run with one sentence and exit 1.

The data dir is a real 64 KiB tmpfs, so the kernel's ENOSPC is what the recorder meets.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.helpers import isolated_env, run_cli

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

BIG = "x" * (200 * 1024)  # an assistant reply larger than the whole filesystem


@pytest.fixture
def full_data_dir(tmp_path: Path) -> Iterator[Path]:
    data = tmp_path / "data"
    data.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(data)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield data
    finally:
        subprocess.run(["umount", "-l", str(data)], check=False)


@pytest.mark.parametrize("mode", ["text", "json"])
def test_a_reply_that_does_not_fit_fails_the_run(
    tmp_path: Path, repo: Path, server: SSEServer, full_data_dir: Path, mode: str
) -> None:
    server.enqueue(turn_reply(ScriptedTurn(text=BIG)))
    flags = ["--json"] if mode == "json" else []
    out = run_cli("run", *flags, "write a lot", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("skipjack: error:")]
    assert len(errors) == 1, out.stderr
    assert "an assistant message could not be written" in errors[0]
    assert "No space left on device" in errors[0]
    assert str(full_data_dir) in errors[0]
    if mode == "json":
        result = json.loads(out.stdout.splitlines()[-1])
        assert "not fully saved" in result["session_error"]


def test_a_failed_write_stops_the_run_before_its_tools_run(
    tmp_path: Path, repo: Path, server: SSEServer, full_data_dir: Path
) -> None:
    touch = ScriptedToolCall("bash", {"command": "touch ran.txt"}, id="t1")
    server.enqueue(turn_reply(ScriptedTurn(text=BIG, tool_calls=[touch])), turn_reply(ScriptedTurn(text="done")))
    out = run_cli("run", "--approval", "yolo", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 1, out.stderr
    assert not (repo / "ran.txt").exists(), "a tool ran although its call could not be recorded"
    assert len(server.requests) == 1, "the run went on to another model call"
    assert "an assistant message with tool calls could not be written" in out.stderr
    assert "Traceback" not in out.stderr
