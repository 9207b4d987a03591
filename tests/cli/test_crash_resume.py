"""Killing and signalling `skipjack run` while its tools run: nothing left running, and the
session always resumable against a server that checks requests like OpenAI does."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.helpers import SKIPJACK, isolated_env, run_cli
from tests.cli.procs import MARKER_VAR, kill_marked, marked_pids, new_marker, wait_marked_gone

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer, check_openai_chat_request
from skipjack.testing.scripted import turn_reply


@pytest.fixture
def server() -> Iterator[SSEServer]:
    with SSEServer(validate=check_openai_chat_request) as s:
        yield s


def script_tools(server: SSEServer, command: str) -> None:
    server.enqueue(
        turn_reply(
            ScriptedTurn(
                text="Running it.",
                tool_calls=[
                    ScriptedToolCall("read", {"path": "hello.py"}, id="r1"),
                    ScriptedToolCall("bash", {"command": command}, id="b1"),
                    ScriptedToolCall("read", {"path": "hello.py"}, id="r2"),
                ],
            )
        ),
        turn_reply(ScriptedTurn(text="finished")),
    )


def start_run(repo: Path, tmp: Path, marker: str, *, unsandboxed: bool = False) -> subprocess.Popen[str]:
    env = {**os.environ, **isolated_env(tmp), MARKER_VAR: marker}
    if unsandboxed:
        # yolo without bubblewrap on PATH runs commands plainly, in their own process group,
        # so a command that ignores SIGTERM holds the clean abort for the kill grace period
        # (inside the sandbox, SIGTERM to bwrap ends the whole PID namespace at once).
        bin_dir = tmp / "bin-without-bwrap"
        bin_dir.mkdir(exist_ok=True)
        for tool in ("bash", "sleep"):
            found = shutil.which(tool)
            assert found is not None
            (bin_dir / tool).symlink_to(found)
        env["PATH"] = str(bin_dir)
    return subprocess.Popen(
        [str(SKIPJACK), "run", "--json", "--approval", "yolo", "go"],
        cwd=repo,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_bash(proc: subprocess.Popen[str], marker: str) -> None:
    """Until the bash call's command is running."""
    assert proc.stdout is not None
    for line in proc.stdout:
        event = json.loads(line)
        if event.get("type") == "tool_execution_start" and event.get("tool_name") == "bash":
            break
    deadline = time.monotonic() + 10
    while not any(_is_sleep(pid) for pid in marked_pids(marker)):
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.02)


def _is_sleep(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "sleep"
    except OSError:
        return False


def assert_resumes(repo: Path, tmp: Path, server: SSEServer) -> dict[str, object]:
    """`--continue` succeeds and the request it sent is valid; returns the bash call's tool message."""
    server.clear()
    server.enqueue(turn_reply(ScriptedTurn(text="resumed fine")))
    before = len(server.requests)
    out = run_cli("run", "--json", "--continue", "go on", cwd=repo, env=isolated_env(tmp), timeout=60)
    assert server.rejected == [], server.rejected[0][1]
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.splitlines()[-1])["text"] == "resumed fine"
    messages = server.requests[before].json()["messages"]
    tool_messages = [m for m in messages if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["r1", "b1", "r2"]
    assert messages[-1] == {"role": "user", "content": "go on"}
    result: dict[str, object] = tool_messages[1]
    return result


def test_kill_9_during_a_tool_call_leaves_a_resumable_session(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    marker = new_marker()
    script_tools(server, "sleep 30")
    proc = start_run(repo, tmp_path, marker)
    try:
        wait_for_bash(proc, marker)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(10) == -signal.SIGKILL
        result = assert_resumes(repo, tmp_path, server)
        assert "interrupted" in str(result["content"])
    finally:
        proc.kill()
        proc.communicate()
        kill_marked(marker)


def test_a_session_killed_twice_in_a_row_still_resumes(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    """The resumed run is killed during its own tool call: two interrupted turns in one file."""
    marker = new_marker()
    script_tools(server, "sleep 30")
    proc = start_run(repo, tmp_path, marker)
    try:
        wait_for_bash(proc, marker)
        proc.kill()
        proc.wait(10)
        server.clear()
        script_tools(server, "sleep 31")
        env = {**os.environ, **isolated_env(tmp_path), MARKER_VAR: marker}
        again = subprocess.Popen(
            [str(SKIPJACK), "run", "--json", "--continue", "--approval", "yolo", "again"],
            cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            wait_for_bash(again, marker)
            again.kill()
            again.wait(10)
        finally:
            again.kill()
            again.communicate()
        assert server.rejected == []
        server.clear()
        server.enqueue(turn_reply(ScriptedTurn(text="third time")))
        out = run_cli("run", "--json", "--continue", "go on", cwd=repo, env=isolated_env(tmp_path))
        assert server.rejected == [], server.rejected[0][1]
        assert out.returncode == 0, out.stderr
    finally:
        proc.kill()
        proc.communicate()
        kill_marked(marker)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_stop_signal_kills_the_commands_and_leaves_the_session_resumable(
    tmp_path: Path, repo: Path, server: SSEServer, sig: signal.Signals, code: int
) -> None:
    marker = new_marker()
    # A background child and a grandchild in the command's group, not just the command.
    script_tools(server, "sleep 30 & (sleep 32; echo x) & sleep 31; wait")
    proc = start_run(repo, tmp_path, marker)
    try:
        wait_for_bash(proc, marker)
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=15)
        assert proc.returncode == code, err
        assert "Traceback" not in err
        assert json.loads(out.splitlines()[-1])["stop_reason"] == "aborted"
        left = wait_marked_gone(marker, 0.5)
        assert left == [], f"still running after {sig.name}: {left}"
        result = assert_resumes(repo, tmp_path, server)
        assert "aborted" in str(result["content"])
    finally:
        proc.kill()
        proc.communicate()
        kill_marked(marker)


@pytest.mark.parametrize("second", [signal.SIGINT, signal.SIGTERM])
def test_a_second_signal_while_aborting_forces_the_exit(
    tmp_path: Path, repo: Path, server: SSEServer, second: signal.Signals
) -> None:
    """The command ignores SIGTERM, so the clean abort waits out the kill grace period; the
    second signal does not wait: the groups get SIGKILL and skipjack exits at once."""
    marker = new_marker()
    script_tools(server, "trap '' TERM; sleep 30")
    proc = start_run(repo, tmp_path, marker, unsandboxed=True)
    try:
        wait_for_bash(proc, marker)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        time.sleep(0.15)
        proc.send_signal(second)
        _, err = proc.communicate(timeout=15)
        elapsed = time.monotonic() - started
        assert proc.returncode == 130, err
        assert "forced exit" in err
        assert elapsed < 0.9, f"took {elapsed:.2f} s: the second signal waited for the grace period"
        assert wait_marked_gone(marker, 0.5) == []
        assert_resumes(repo, tmp_path, server)
    finally:
        proc.kill()
        proc.communicate()
        kill_marked(marker)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_as_the_command_starts_leaves_nothing_running(
    tmp_path: Path, repo: Path, server: SSEServer, sig: signal.Signals
) -> None:
    """The signal lands while the command is being started, before the tool holds a process
    to stop it with: the run's exit still ends the command and its sandbox."""
    for round_ in range(6):
        marker = new_marker()
        server.clear()
        script_tools(server, "sleep 300")
        proc = start_run(repo, tmp_path, marker)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                event = json.loads(line)
                if event.get("type") == "tool_execution_start" and event.get("tool_name") == "bash":
                    break
            time.sleep(0.002 * round_)  # from "as it starts" to a few ms in
            proc.send_signal(sig)
            proc.communicate(timeout=20)
            left = wait_marked_gone(marker, 3.0)
            assert left == [], f"round {round_}: {sig.name} left {left}"
        finally:
            proc.kill()
            proc.communicate()
            kill_marked(marker)


def test_each_run_tags_its_processes_afresh(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    """The tag a signal exit sweeps by is new in every skipjack process: a skipjack started by
    the agent's shell (which inherits its parent's tag) never sweeps its parent's processes."""
    script_tools(server, 'echo "tag=$SKIPJACK_RUN_TAG"')
    env = {**os.environ, **isolated_env(tmp_path), "SKIPJACK_RUN_TAG": "the-parents-tag"}
    out = subprocess.run(
        [str(SKIPJACK), "run", "--approval", "yolo", "go"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    results = [m for m in server.requests[1].json()["messages"] if m["role"] == "tool"]
    shown = next(m["content"] for m in results if "tag=" in m["content"])
    tag = shown.split("tag=", 1)[1].split()[0]
    assert len(tag) == 32
    assert tag != "the-parents-tag"
