"""A session that cannot be written (a full disk) ends the run with one sentence and exit 1.

The data dir is a real 64 KiB tmpfs, so the kernel's ENOSPC is what the recorder meets. Where
mounting is refused (not root), the run gets a 64 KiB RLIMIT_FSIZE instead, and the kernel's
EFBIG ("File too large").
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.cli.helpers import SKIPJACK, isolated_env

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

BIG = "x" * (200 * 1024)  # an assistant reply larger than the whole filesystem


LIMIT = 64 * 1024


@dataclass
class FullDisk:
    data: Path
    reason: str
    """The strerror the sentence names."""
    preexec: Callable[[], None] | None


def _file_size_limit() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))
    # Beyond the limit a write fails with EFBIG once SIGXFSZ (default: kill) is ignored.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[FullDisk]:
    data = tmp_path / "data"
    data.mkdir()
    if os.environ.get("SKIPJACK_TEST_NO_MOUNT") != "1":
        mounted = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={LIMIT},mode=0700", "tmpfs", str(data)],
            capture_output=True,
            check=False,
        )
        if mounted.returncode == 0:
            try:
                yield FullDisk(data, "No space left on device", None)
            finally:
                subprocess.run(["umount", "-l", str(data)], check=False)
            return
    yield FullDisk(data, "File too large", _file_size_limit)


def run_full(disk: FullDisk, *args: str, cwd: Path, tmp: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")} | isolated_env(tmp)
    return subprocess.run(
        [str(SKIPJACK), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=disk.preexec,  # only a resource limit and a signal disposition
    )


@pytest.mark.parametrize("mode", ["text", "json"])
def test_a_reply_that_does_not_fit_fails_the_run(
    tmp_path: Path, repo: Path, server: SSEServer, full_disk: FullDisk, mode: str
) -> None:
    server.enqueue(turn_reply(ScriptedTurn(text=BIG)))
    flags = ["--json"] if mode == "json" else []
    out = run_full(full_disk, "run", *flags, "write a lot", cwd=repo, tmp=tmp_path)
    assert out.returncode == 1, out.stderr
    assert "Traceback" not in out.stderr
    errors = [line for line in out.stderr.splitlines() if line.startswith("skipjack: error:")]
    assert len(errors) == 1, out.stderr
    assert "an assistant message could not be written" in errors[0]
    assert full_disk.reason in errors[0]
    assert str(full_disk.data) in errors[0]
    if mode == "json":
        lines = [json.loads(line) for line in out.stdout.splitlines()]
        result = lines[-1]
        assert "not fully saved" in result["session_error"]
        # The controller's event says it as it happens, with the system's reason.
        failed = [line for line in lines if line["type"] == "persistence_failed"]
        assert len(failed) == 1
        assert failed[0]["session_id"] == result["session_id"]
        assert full_disk.reason in failed[0]["message"]


def test_a_failed_write_stops_the_run_before_its_tools_run(
    tmp_path: Path, repo: Path, server: SSEServer, full_disk: FullDisk
) -> None:
    touch = ScriptedToolCall("bash", {"command": "touch ran.txt"}, id="t1")
    server.enqueue(turn_reply(ScriptedTurn(text=BIG, tool_calls=[touch])), turn_reply(ScriptedTurn(text="done")))
    out = run_full(full_disk, "run", "--approval", "yolo", "go", cwd=repo, tmp=tmp_path)
    assert out.returncode == 1, out.stderr
    assert not (repo / "ran.txt").exists(), "a tool ran although its call could not be recorded"
    assert len(server.requests) == 1, "the run went on to another model call"
    assert "an assistant message with tool calls could not be written" in out.stderr
    assert "Traceback" not in out.stderr
