"""Approval regressions of issue 12, end to end: `skipjack run` against a scripted model,
with real files and real shell commands."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.cli.helpers import isolated_env, run_cli

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

DENY_BYPASSES = [
    "true && rm -rf victim1",
    "echo | rm -rf victim2",
    "rm -fr victim3",
    "rm -r -f victim4",
    "/bin/rm -rf victim5",
    " rm -rf victim6",
    "echo $(rm -rf victim7)",
    "echo `rm -rf victim8`",
    "bash -c 'rm -rf victim9'",
    "env rm -rf victim10",
    "echo victim11 | xargs rm -rf",
    "find . -name victim12 -exec rm -rf {} +",
    "timeout 5 rm -rf victim13",
    "nice rm -rf victim14",
    "cat <<EOF\n$(rm -rf victim15)\nEOF",
    "echo hi\nrm -rf victim16",
    "echo hi; rm --recursive --force victim17",
]


@pytest.fixture
def server() -> SSEServer:
    with SSEServer() as s:
        yield s  # type: ignore[misc]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def user_config(tmp_path: Path, server: SSEServer, extra: str = "") -> dict[str, str]:
    """The scripted provider and the rules in the *user's* config (not the project's)."""
    env = isolated_env(tmp_path)
    config_dir = Path(env["SKIPJACK_CONFIG_DIR"])
    config_dir.mkdir(parents=True, exist_ok=True)
    (config_dir / "config.toml").write_text(
        f"""model = "scripted/m1"
{extra}
[providers.scripted]
base_url = "{server.url}"
api = "openai-chat"
[providers.scripted.models.m1]
context_window = 100000
max_output = 4000
"""
    )
    return env


def tool_results(server: SSEServer) -> list[str]:
    messages = server.requests[-1].json()["messages"]
    return [m["content"] for m in messages if m["role"] == "tool"]


def test_deny_rule_bypasses_do_not_run(tmp_path: Path, project: Path, server: SSEServer) -> None:
    for i in range(1, len(DENY_BYPASSES) + 1):
        (project / f"victim{i}").mkdir()
        (project / f"victim{i}" / "data").write_text("keep")
    calls = [ScriptedToolCall("bash", {"command": line}, id=f"b{i}") for i, line in enumerate(DENY_BYPASSES)]
    control = ScriptedToolCall("bash", {"command": "touch control-ran"}, id="control")
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=[*calls, control])), turn_reply(ScriptedTurn(text="done")))
    env = user_config(tmp_path, server, 'deny = ["bash: rm -rf *"]')
    out = run_cli("run", "--approval", "yolo", "--json", "clean up", cwd=project, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (project / "control-ran").exists(), "yolo runs commands no rule denies"
    survivors = [i for i in range(1, len(DENY_BYPASSES) + 1) if (project / f"victim{i}" / "data").exists()]
    assert survivors == list(range(1, len(DENY_BYPASSES) + 1))
    results = tool_results(server)
    assert sum("deny rule" in r for r in results) == len(DENY_BYPASSES)


def test_git_config_fsmonitor_attack_is_stopped_in_auto_edit(tmp_path: Path, project: Path, server: SSEServer) -> None:
    config = project / ".git" / "config"
    before = config.read_text()
    marker = tmp_path / "pwned"
    edit = ScriptedToolCall(
        "edit",
        {"path": ".git/config", "old_text": "[core]", "new_text": f"[core]\n\tfsmonitor = touch {marker}"},
        id="e1",
    )
    hooks = ScriptedToolCall(
        "write", {"path": " .git/hooks/pre-commit", "content": f"#!/bin/sh\ntouch {marker}\n"}, id="w1"
    )
    status = ScriptedToolCall("bash", {"command": "git status"}, id="b1")
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[edit, hooks])),
        turn_reply(ScriptedTurn(tool_calls=[status])),
        turn_reply(ScriptedTurn(text="done")),
    )
    env = user_config(tmp_path, server, 'allow = ["bash: git status *"]')
    out = run_cli("run", "--approval", "auto-edit", "--json", "speed up git", cwd=project, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert config.read_text() == before
    assert not (project / ".git" / "hooks" / "pre-commit").exists()
    assert not marker.exists()
    first = server.requests[1].json()["messages"]
    denials = [m["content"] for m in first if m["role"] == "tool"]
    assert all("denied" in d and ".git" in d for d in denials), denials


def test_cwd_outside_the_project_is_not_approved_by_a_rule(tmp_path: Path, project: Path, server: SSEServer) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f").write_text("keep")
    (project / "f").write_text("inside")
    call = ScriptedToolCall("bash", {"command": "rm -f f", "cwd": "../outside"}, id="b1")
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=[call])), turn_reply(ScriptedTurn(text="done")))
    env = user_config(tmp_path, server, 'allow = ["bash: rm -f *"]')
    out = run_cli("run", "--approval", "auto-edit", "--json", "tidy", cwd=project, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (outside / "f").read_text() == "keep"
    assert (project / "f").exists()
    (result,) = tool_results(server)
    assert "outside the project" in result
    events = [json.loads(line) for line in out.stdout.splitlines()]
    assert events[-1]["stop_reason"] == "completed"


def test_writes_to_home_in_any_spelling_are_refused_headless(tmp_path: Path, project: Path, server: SSEServer) -> None:
    home = tmp_path / "home"
    home.mkdir()
    spellings = ["~/.bashrc", " ~/.bashrc", "\t~/.bashrc", "../home/.bashrc", f"~{_user()}/.bashrc"]
    calls = [ScriptedToolCall("write", {"path": s, "content": "evil\n"}, id=f"w{i}") for i, s in enumerate(spellings)]
    redirect = ScriptedToolCall("bash", {"command": "echo evil >> ~/.bashrc"}, id="b1")
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=[*calls, redirect])), turn_reply(ScriptedTurn(text="done")))
    env = {**user_config(tmp_path, server, 'allow = ["bash: echo *"]'), "HOME": str(home)}
    out = run_cli("run", "--approval", "auto-edit", "--json", "configure", cwd=project, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert not (home / ".bashrc").exists()
    assert all("denied" in r for r in tool_results(server))


def _user() -> str:
    import getpass

    return getpass.getuser()
