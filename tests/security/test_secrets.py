"""The model's shell sees no credentials, and known key values never reach the conversation,
the session file or `--json` output (issue 12, "The model's shell sees the API keys")."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from tests.cli.helpers import isolated_env, run_cli
from tests.security.conftest import openai_at, user_config

from skipjack.agent.tool import ToolContext
from skipjack.safety.secrets import Redactor, secret_values, shell_env
from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply
from skipjack.tools.bash import BashArgs, BashTool

OPENAI = "sk-openai-live-0123456789abcdefghij"
ANTHROPIC = "sk-ant-api03-zyxwvutsrqponmlkjihg"
GITHUB = "ghp_1234567890abcdefghijklmnopqrstuv"
AWS_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
AWS_SESSION = "FwoGZXIvYXdzEBYaDH7session0token"
DB_URL = "postgres://app:hunter2hunter2@db.internal/app"
SECRETS = {
    "OPENAI_API_KEY": OPENAI,
    "ANTHROPIC_API_KEY": ANTHROPIC,
    "GITHUB_TOKEN": GITHUB,
    "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
    "AWS_SESSION_TOKEN": AWS_SESSION,
    "DATABASE_URL": DB_URL,
    "MY_SERVICE_PASSWD": "correct-horse-battery",
    "GOOGLE_APPLICATION_CREDENTIALS": "/home/u/.config/gcloud/adc.json",
}


def _leaked(text: str) -> list[str]:
    return [name for name, value in SECRETS.items() if value in text]


def _run_bash(tool: BashTool, command: str, cwd: Path) -> str:
    out = asyncio.run(tool.execute(BashArgs(command), ToolContext(cwd=cwd)))
    return "".join(getattr(b, "text", "") for b in out.content)


# -- the shell's environment ------------------------------------------------------------------


def test_shell_env_drops_key_variables_by_name_and_pattern() -> None:
    env = {
        **SECRETS,
        "openai_api_key": "lower-case-spelling-123",
        "Gh_Token": "mixed-case-spelling-123",
        "LOCAL_LLM_PW": "a key var with an unusual name",
        "SNOWFLAKE_CORTEX_PAT": "pat-0123456789",
        "SSH_AUTH_SOCK": "/tmp/ssh-agent.sock",
        "NPM_CONFIG__AUTH": "bnBtOnNlY3JldA==",
        "HTTP_AUTHORIZATION": "Bearer abcdefghijk",
        "db_pass": "hunter22",
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/u",
        "LANG": "C.UTF-8",
        "AWS_REGION": "eu-west-1",
        "HTTP_PROXY": "http://proxy.local:3128",
        "PATHOLOGY": "not a PAT",
        "GIT_AUTHOR_NAME": "Jane Doe",
        "GOPRIVATE": "github.com/acme/*",
        "TOKENIZERS_PARALLELISM": "false",
        "GIT_ASKPASS": "/usr/bin/true",
    }
    out = shell_env(env, key_vars={"LOCAL_LLM_PW"}, passthrough=())
    assert out == {
        "PATH": "/usr/bin:/bin",
        "HOME": "/home/u",
        "LANG": "C.UTF-8",
        "AWS_REGION": "eu-west-1",
        "HTTP_PROXY": "http://proxy.local:3128",
        "PATHOLOGY": "not a PAT",
        "GIT_AUTHOR_NAME": "Jane Doe",
        "GOPRIVATE": "github.com/acme/*",
        "TOKENIZERS_PARALLELISM": "false",
        "GIT_ASKPASS": "/usr/bin/true",
    }


def test_passthrough_keeps_only_what_the_user_listed() -> None:
    env = {**SECRETS, "PATH": "/bin"}
    out = shell_env(env, key_vars={"OPENAI_API_KEY"}, passthrough=["GITHUB_TOKEN", "AWS_*"])
    assert set(out) == {"PATH", "GITHUB_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
    # Exact names and globs are case-sensitive: `github_token` does not pass GITHUB_TOKEN.
    assert "GITHUB_TOKEN" not in shell_env(env, key_vars=(), passthrough=["github_token"])


def test_bash_tool_command_sees_no_key_variable(tmp_path: Path) -> None:
    env = {**os.environ, **SECRETS}
    tool = BashTool(shell_env(env, key_vars={"OPENAI_API_KEY", "ANTHROPIC_API_KEY"}, passthrough=()))
    text = _run_bash(tool, "env; printenv OPENAI_API_KEY; echo \"[$ANTHROPIC_API_KEY]\"; bash -c 'env'", tmp_path)
    assert "[]" in text
    assert _leaked(text) == []
    for name in SECRETS:
        assert f"{name}=" not in text
    assert "PATH=" in text, "the rest of the environment is kept"


def test_bash_tool_default_env_drops_secret_names(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    text = _run_bash(BashTool(), "env", tmp_path)
    assert _leaked(text) == []


def test_passthrough_reaches_the_command(tmp_path: Path) -> None:
    env = {**os.environ, **SECRETS}
    tool = BashTool(shell_env(env, key_vars={"OPENAI_API_KEY"}, passthrough=["GITHUB_TOKEN"]))
    text = _run_bash(tool, 'echo "gh=$GITHUB_TOKEN openai=$OPENAI_API_KEY"', tmp_path)
    assert f"gh={GITHUB} openai=\n" in text


# -- redaction ----------------------------------------------------------------------------------


def test_redactor_replaces_known_values_and_ignores_short_ones() -> None:
    values = secret_values(
        {**SECRETS, "SHORT_TOKEN": "abc1234", "PATH": "/bin"},
        key_vars={"OPENAI_API_KEY"},
        config_keys={"deepseek": "sk-config-deepseek-987654"},
    )
    r = Redactor(values)
    text = f"a {OPENAI} b {GITHUB}{ANTHROPIC} c sk-config-deepseek-987654 d abc1234 /bin"
    assert r.redact(text) == (
        "a [redacted: OPENAI_API_KEY] b [redacted: GITHUB_TOKEN][redacted: ANTHROPIC_API_KEY] "
        "c [redacted: keys.deepseek] d abc1234 /bin"
    )
    assert Redactor({"A_KEY": "1234567"}).redact("1234567") == "1234567"
    assert not Redactor({})


def test_a_secret_that_contains_another_is_replaced_whole() -> None:
    r = Redactor({"SHORT_KEY": "abcdefgh", "LONG_KEY": "abcdefgh-and-more"})
    assert r.redact("x abcdefgh-and-more y abcdefgh") == "x [redacted: LONG_KEY] y [redacted: SHORT_KEY]"


def test_a_value_split_across_stream_chunks_never_leaks() -> None:
    r = Redactor({"OPENAI_API_KEY": OPENAI, "GITHUB_TOKEN": GITHUB})
    text = f"start {OPENAI} middle {GITHUB}{OPENAI[:5]} end {OPENAI}"
    for i in range(len(text) + 1):
        for j in range(i, len(text) + 1, 7):
            stream = r.stream()
            chunks = [stream.feed(text[:i]), stream.feed(text[i:j]), stream.feed(text[j:]), stream.flush()]
            joined = "".join(chunks)
            assert joined == r.redact(text), (i, j)
            assert all(OPENAI not in c and GITHUB not in c for c in chunks)
    # One character at a time.
    stream = r.stream()
    joined = "".join([stream.feed(ch) for ch in text] + [stream.flush()])
    assert joined == r.redact(text)


def _script_leak(server: SSEServer, command: str) -> None:
    server.enqueue(
        turn_reply(ScriptedTurn(text="Looking.", tool_calls=[ScriptedToolCall("bash", {"command": command}, id="b1")])),
        turn_reply(ScriptedTurn(text="Nothing to see.")),
    )


def _everything_written(tmp_path: Path, stdout: str, stderr: str, server: SSEServer) -> str:
    data = Path(isolated_env(tmp_path)["SKIPJACK_DATA_DIR"])
    sessions = "".join(p.read_text() for p in data.rglob("*.jsonl"))
    assert sessions, "a session file was written"
    requests = "".join(r.body.decode() for r in server.requests)
    return stdout + stderr + sessions + requests


def test_env_grep_key_prints_no_key_anywhere(tmp_path: Path) -> None:
    """The issue's reproduction: `env | grep KEY` via a scripted model in `--json --approval yolo`;
    the same values printed from a file the command can read come back redacted; and skipjack's
    own `/proc/<pid>/environ` is out of reach (the command runs in its own PID namespace)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "leaked.env").write_text("".join(f"{k}={v}\n" for k, v in SECRETS.items()))
    with SSEServer() as server:
        user_config(tmp_path, openai_at(server.url))
        command = (
            "env | grep -i -e key -e token -e secret -e passw -e credential -e postgres; echo ---; "
            "grep -e _KEY= -e _TOKEN= -e DATABASE_URL= leaked.env; echo ---; "
            "tr '\\0' '\\n' < /proc/$PPID/environ | grep -e _KEY= -e _TOKEN= -e DATABASE_URL="
        )
        _script_leak(server, command)
        out = run_cli("run", "--json", "--approval", "yolo", "go", cwd=repo, env={**isolated_env(tmp_path), **SECRETS})
        assert out.returncode == 0, out.stderr
        everything = _everything_written(tmp_path, out.stdout, out.stderr, server)
        assert _leaked(everything) == []
        tool_text = server.requests[1].json()["messages"][-1]["content"]
    shell_part, file_part, proc_part = tool_text.split("---")
    assert "OPENAI_API_KEY" not in shell_part, "the variable is not in the shell's environment"
    # Values that reach the output another way come back in their redacted form only.
    assert "OPENAI_API_KEY=[redacted: OPENAI_API_KEY]" in file_part
    assert "GITHUB_TOKEN=[redacted: GITHUB_TOKEN]" in file_part
    assert "DATABASE_URL=[redacted: DATABASE_URL]" in file_part
    # The command's parent is the sandbox's init, not skipjack: its environment holds no key.
    assert "OPENAI_API_KEY" not in proc_part
    events = [json.loads(line) for line in out.stdout.splitlines()]
    end = next(e for e in events if e["type"] == "tool_execution_end")
    assert "[redacted: OPENAI_API_KEY]" in json.dumps(end)


def test_a_key_split_across_output_chunks_is_redacted_in_updates_and_result(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "notes.txt").write_text(OPENAI)
    half = len(OPENAI) // 2
    with SSEServer() as server:
        user_config(tmp_path, openai_at(server.url))
        # Two writes with a pause between them: the value arrives in two reads of the pipe.
        _script_leak(server, f"head -c {half} notes.txt; sleep 0.3; tail -c +{half + 1} notes.txt; echo")
        out = run_cli("run", "--json", "--approval", "yolo", "go", cwd=repo, env={**isolated_env(tmp_path), **SECRETS})
        assert out.returncode == 0, out.stderr
        everything = _everything_written(tmp_path, out.stdout, out.stderr, server)
    assert _leaked(everything) == []
    events = [json.loads(line) for line in out.stdout.splitlines()]
    updates = [e for e in events if e["type"] == "tool_execution_update"]
    assert updates, "the command's output streamed"
    streamed = "".join(json.dumps(e) for e in updates)
    assert OPENAI[:half] not in streamed, "the first half was held back until the rest arrived"
    assert "[redacted: OPENAI_API_KEY]" in streamed
    end = next(e for e in events if e["type"] == "tool_execution_end")
    assert "[redacted: OPENAI_API_KEY]" in json.dumps(end)


def test_config_keys_are_redacted_from_a_file_the_model_reads(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    config_key = "sk-from-config-keys-55555555"
    with SSEServer() as server:
        user_config(tmp_path, openai_at(server.url) + f'[keys]\nopenai = "{config_key}"\n')
        cfg = tmp_path / "config" / "config.toml"
        server.enqueue(
            turn_reply(ScriptedTurn(text="", tool_calls=[ScriptedToolCall("read", {"path": str(cfg)}, id="r1")])),
            turn_reply(ScriptedTurn(text="ok")),
        )
        out = run_cli("run", "--json", "--approval", "yolo", "go", cwd=repo, env=isolated_env(tmp_path))
        assert out.returncode == 0, out.stderr
        everything = _everything_written(tmp_path, out.stdout, out.stderr, server)
    assert config_key not in everything
    assert "[redacted: keys.openai]" in server.requests[1].json()["messages"][-1]["content"]
