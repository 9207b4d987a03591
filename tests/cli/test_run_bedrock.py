"""`skipjack run` end to end against a loopback Bedrock Converse server: the registry's Bedrock
model pointed at 127.0.0.1 by the user config, completing a read-then-edit task, once with a
Bedrock API key (bearer) and once with SigV4 from AWS credentials in the environment, every
request's signature checked by an independent verifier."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tests.cli.helpers import isolated_env, run_cli

from skipjack.models import Registry
from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.bedrock_script import bedrock_reply, sigv4_problem

REF = "amazon-bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0"
PATH = "/model/anthropic.claude-sonnet-4-5-20250929-v1%3A0/converse-stream"
ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
READ = ScriptedToolCall("read", {"path": "hello.py"}, id="tooluse_read1")
EDIT = ScriptedToolCall("edit", {"path": "hello.py", "old_text": "world", "new_text": "bedrock"}, id="tooluse_edit1")


def script_task(server: SSEServer) -> None:
    server.enqueue(
        bedrock_reply(ScriptedTurn(text="Reading it.", tool_calls=[READ], prompt_tokens=1000, completion_tokens=20)),
        bedrock_reply(
            ScriptedTurn(text="Editing it.", tool_calls=[EDIT], prompt_tokens=1100, completion_tokens=30),
            turn_index=1,
            chunk_size=5,
        ),
        bedrock_reply(
            ScriptedTurn(text="Done: it greets bedrock.", prompt_tokens=1200, completion_tokens=10), turn_index=2
        ),
    )


def project(tmp_path: Path, server: SSEServer) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "hello.py").write_text('print("hello world")\n')
    env = isolated_env(tmp_path)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        f'model = "{REF}"\n[providers.amazon-bedrock]\nbase_url = "{server.root_url}"\n'
    )
    # Nothing of the machine's own AWS set-up may leak in.
    env |= {
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "AWS_ACCESS_KEY_ID": "",
        "AWS_SECRET_ACCESS_KEY": "",
        "AWS_SESSION_TOKEN": "",
        "AWS_BEARER_TOKEN_BEDROCK": "",
        "AWS_PROFILE": "",
    }
    return root, env


def assert_task_done(out: object, root: Path, server: SSEServer) -> None:
    assert out.returncode == 0, out.stderr  # type: ignore[attr-defined]
    assert (root / "hello.py").read_text() == 'print("hello bedrock")\n'
    assert "Done: it greets bedrock." in out.stdout  # type: ignore[attr-defined]
    assert "[completed · 3 turns" in out.stderr  # type: ignore[attr-defined]
    price = Registry.bundled().get_model(REF).price
    assert price is not None
    cost = (1000 + 1100 + 1200) * price.input / 1e6 + (20 + 30 + 10) * price.output / 1e6
    assert f"${cost:.4f}" in out.stderr  # type: ignore[attr-defined]
    assert [r.path for r in server.requests] == [PATH] * 3
    # Each tool result went back as a toolResult block for the call it answers.
    for i, call_id in ((1, "tooluse_read1"), (2, "tooluse_edit1")):
        last = server.requests[i].json()["messages"][-1]
        assert last["role"] == "user"
        assert last["content"][0]["toolResult"]["toolUseId"] == call_id
    assert "hello world" in str(server.requests[1].json()["messages"][-1])
    tools = [t["toolSpec"]["name"] for t in server.requests[0].json()["toolConfig"]["tools"] if "toolSpec" in t]
    assert {"read", "edit", "bash"} <= set(tools)


def test_two_tool_task_with_a_bedrock_api_key(tmp_path: Path) -> None:
    with SSEServer() as server:
        script_task(server)
        root, env = project(tmp_path, server)
        env["AWS_BEARER_TOKEN_BEDROCK"] = "bedrock-key-123"
        out = run_cli("run", "--approval", "auto-edit", "make it greet bedrock", cwd=root, env=env)
        assert_task_done(out, root, server)
        assert {r.headers["authorization"] for r in server.requests} == {"Bearer bedrock-key-123"}


def test_two_tool_task_signed_with_sigv4(tmp_path: Path) -> None:
    def check(request: object) -> str | None:
        return sigv4_problem(request, access_key=ACCESS_KEY, secret=SECRET, region="us-west-2")  # type: ignore[arg-type]

    with SSEServer(validate=check) as server:
        script_task(server)
        root, env = project(tmp_path, server)
        env |= {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_REGION": "us-west-2"}
        out = run_cli("run", "--approval", "auto-edit", "make it greet bedrock", cwd=root, env=env)
        assert not server.rejected, server.rejected[0][1]
        assert_task_done(out, root, server)


def test_a_wrong_secret_fails_the_run_with_the_servers_reason(tmp_path: Path) -> None:
    def check(request: object) -> str | None:
        return sigv4_problem(request, access_key=ACCESS_KEY, secret=SECRET, region="us-west-2")  # type: ignore[arg-type]

    with SSEServer(validate=check) as server:
        script_task(server)
        root, env = project(tmp_path, server)
        env |= {"AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": "not-the-secret", "AWS_REGION": "us-west-2"}
        out = run_cli("run", "--approval", "auto-edit", "go", cwd=root, env=env)
        assert out.returncode != 0
        assert "signature we calculated does not match" in out.stderr
        assert (root / "hello.py").read_text() == 'print("hello world")\n'


def test_the_model_shell_never_sees_aws_credentials(tmp_path: Path) -> None:
    # Their names look like secrets (KEY, SECRET, TOKEN), which the shell environment drops.
    bash = ScriptedToolCall("bash", {"command": "env | grep ^AWS_ ; echo ran-ok"}, id="tooluse_bash1")
    with SSEServer() as server:
        server.enqueue(
            bedrock_reply(ScriptedTurn(tool_calls=[bash])),
            bedrock_reply(ScriptedTurn(text="ok"), turn_index=1),
        )
        root, env = project(tmp_path, server)
        env |= {"AWS_BEARER_TOKEN_BEDROCK": "bedrock-key-123", "AWS_SECRET_ACCESS_KEY": "s3cr3t-value"}
        out = run_cli("run", "--approval", "yolo", "go", cwd=root, env=env)
        assert out.returncode == 0, out.stderr
        result = str(server.requests[1].json()["messages"][-1])
        assert "ran-ok" in result
        assert "s3cr3t-value" not in result
        assert "bedrock-key-123" not in result
        assert "AWS_SECRET_ACCESS_KEY" not in result


@pytest.mark.skipif(
    not (os.environ.get("AWS_BEARER_TOKEN_BEDROCK") or os.environ.get("AWS_ACCESS_KEY_ID")),
    reason="live Bedrock test: needs AWS_BEARER_TOKEN_BEDROCK or AWS credentials",
)
@pytest.mark.parametrize("auth", ["bearer", "sigv4"])
def test_live_bedrock(tmp_path: Path, auth: str) -> None:
    if auth == "bearer" and not os.environ.get("AWS_BEARER_TOKEN_BEDROCK"):
        pytest.skip("needs AWS_BEARER_TOKEN_BEDROCK")
    if auth == "sigv4" and not os.environ.get("AWS_ACCESS_KEY_ID"):
        pytest.skip("needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    env = isolated_env(tmp_path)
    if auth == "sigv4":
        env["AWS_BEARER_TOKEN_BEDROCK"] = ""
    model = os.environ.get("SKIPJACK_LIVE_BEDROCK_MODEL", "amazon-bedrock/us.anthropic.claude-haiku-4-5-20251001-v1:0")
    out = run_cli("run", "--model", model, "Reply with the single word: pong", cwd=tmp_path, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pong" in out.stdout.lower()
