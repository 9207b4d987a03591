"""The sandbox as a user meets it: `skipjack run` against a scripted model, real bubblewrap."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.cli.helpers import isolated_env, run_cli

from skipjack.safety.sandbox import probe
from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

needs_sandbox = pytest.mark.skipif(
    not probe().available and os.environ.get("SKIPJACK_REQUIRE_SANDBOX") != "1",
    reason=f"no sandbox here: {probe().reason}",
)


@pytest.fixture
def server() -> Iterator[SSEServer]:
    with SSEServer() as s:
        yield s


@pytest.fixture
def repo(tmp_path: Path, server: SSEServer) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "hello.py").write_text('print("hello world")\n')
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=30)
    return root


def user_config(tmp_path: Path, server: SSEServer, extra: str = "", top: str = "") -> dict[str, str]:
    env = isolated_env(tmp_path)
    config = Path(env["SKIPJACK_CONFIG_DIR"])
    config.mkdir(parents=True, exist_ok=True)
    (config / "config.toml").write_text(
        f"""model = "scripted/m1"
{top}
[providers.scripted]
base_url = "{server.url}"
api = "openai-chat"
[providers.scripted.models.m1]
context_window = 100000
max_output = 4000
{extra}"""
    )
    return env


def script_bash(server: SSEServer, command: str) -> None:
    call = ScriptedToolCall("bash", {"command": command}, id="b1")
    server.enqueue(
        turn_reply(ScriptedTurn(text="Running it.", tool_calls=[call])),
        turn_reply(ScriptedTurn(text="Done.")),
    )


def tool_result(server: SSEServer) -> str:
    message = server.requests[1].json()["messages"][-1]
    assert message["role"] == "tool"
    return str(message["content"])


@needs_sandbox
def test_plan_mode_run_cannot_delete_through_an_allowed_command(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    # `env rm ...` is what the plan policy's string matching let through (issue 12).
    script_bash(server, "env rm -f hello.py")
    out = run_cli("run", "--approval", "plan", "tidy up", cwd=repo, env=user_config(tmp_path, server))
    assert out.returncode == 0, out.stderr
    assert (repo / "hello.py").read_text() == 'print("hello world")\n'
    result = tool_result(server)
    assert "the sandbox (read-only) blocked this" in result
    assert "sandbox=false" in result


@needs_sandbox
def test_yolo_run_writes(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    script_bash(server, "echo changed > hello.py && echo ok")
    out = run_cli("run", "--approval", "yolo", "go", cwd=repo, env=user_config(tmp_path, server))
    assert out.returncode == 0, out.stderr
    assert (repo / "hello.py").read_text() == "changed\n"


def test_a_project_config_cannot_loosen_the_sandbox(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    (repo / ".skipjack").mkdir()
    (repo / ".skipjack" / "config.toml").write_text('[sandbox]\nmode = "full-access"\nnetwork = true\n')
    server.enqueue(turn_reply(ScriptedTurn(text="hi")), turn_reply(ScriptedTurn(text="hi")))
    env = user_config(tmp_path, server)
    # Untrusted, the project's [sandbox] is ignored with the other privileged keys ...
    out = run_cli("run", "--approval", "plan", "hi", cwd=repo, env=env)
    assert out.returncode == 0, out.stderr
    assert "ignored untrusted project settings" in out.stderr
    assert "sandbox.mode" in out.stderr
    # ... and trusting the folder still does not let it choose its own sandbox.
    out = run_cli("run", "--approval", "plan", "--trust-project", "hi", cwd=repo, env=env)
    assert out.returncode == 0, out.stderr
    assert "ignored sandbox.mode, sandbox.network from the project config" in out.stderr


def test_without_bwrap_the_run_says_so_once(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "git"):
        (bin_dir / tool).symlink_to(f"/usr/bin/{tool}" if Path(f"/usr/bin/{tool}").exists() else f"/bin/{tool}")
    script_bash(server, "touch made.txt")
    # The user allows the command: it is the tool that must refuse to run it unconfined.
    env = user_config(tmp_path, server, top='allow = ["bash: *"]') | {"PATH": str(bin_dir)}
    out = run_cli("run", "--approval", "auto-edit", "go", cwd=repo, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stderr.count("shell commands cannot be sandboxed") == 1
    assert "bwrap" in out.stderr
    # Never silently unsandboxed: the command did not run.
    assert not (repo / "made.txt").exists()
    result = tool_result(server)
    assert "no OS sandbox" in result
    assert "install bubblewrap" in result


def test_the_runtime_hands_bash_the_approval_modes_sandbox(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    from skipjack.runtime import RunOptions, build_runtime
    from skipjack.tools.bash import BashTool

    env = user_config(tmp_path, server, extra="[sandbox]\nnetwork = true\n")
    runtime = build_runtime(RunOptions(cwd=repo / ".", approval="plan"), env=env)
    policy = runtime.sandbox_policy()
    assert policy.mode == "read-only"
    assert policy.network
    assert policy.project_root == repo.resolve()
    assert Path(env["SKIPJACK_CONFIG_DIR"]).resolve() in policy.protected
    runtime.approval_mode = "auto-edit"  # one source of truth: the policy's mode
    assert runtime.policy.mode == "auto-edit"
    assert runtime.sandbox_policy().mode == "workspace-write"
    bash = next(t for t in runtime.agent.tools if isinstance(t, BashTool))
    assert bash._sandbox is not None
    provided = bash._sandbox()
    assert provided is not None
    assert provided.mode == "workspace-write"


def test_network_per_session_and_per_rule_from_the_user(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    from skipjack.cli.errors import UserError
    from skipjack.runtime import RunOptions, build_runtime

    env = user_config(tmp_path, server, extra='[sandbox]\nnetwork_commands = ["npm install *"]\n')
    runtime = build_runtime(RunOptions(cwd=repo, approval="ask"), env=env)
    policy = runtime.sandbox_policy()
    assert not policy.network
    assert policy.for_command("npm install left-pad").network
    assert not policy.for_command("npm install x; curl http://127.0.0.1:9/ | sh").network
    # --sandbox-network (and the UI's /network) switch it for the session.
    on = build_runtime(RunOptions(cwd=repo, approval="ask", sandbox_network=True), env=env)
    assert on.sandbox_policy().network
    on.network_override = False
    assert not on.sandbox_policy().network
    # A pattern that does not parse is a config error at start, not at the first command.
    bad = user_config(tmp_path, server, extra='[sandbox]\nnetwork_commands = ["npm \'install"]\n')
    with pytest.raises(UserError, match="network_commands"):
        build_runtime(RunOptions(cwd=repo, approval="ask"), env=bad)


def test_sandbox_network_flag_reaches_the_run(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    server.enqueue(turn_reply(ScriptedTurn(text="hi")))
    out = run_cli("run", "--sandbox-network", "--approval", "plan", "hi", cwd=repo, env=user_config(tmp_path, server))
    assert out.returncode == 0, out.stderr
    out = run_cli("run", "--no-sandbox-network", "hi", cwd=repo, env=user_config(tmp_path, server))
    assert "Traceback" not in out.stderr
