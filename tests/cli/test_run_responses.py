"""`skipjack run` end to end against a loopback OpenAI Responses server: a two-tool task
(read, then apply_patch: a codex model is given the edit tool it was trained on), with
reasoning replayed and tool outputs sent back as Responses items."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.cli.helpers import isolated_env, run_cli

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer, encrypted_reasoning
from skipjack.testing.scripted import turn_reply

READ = ScriptedToolCall("read", {"path": "hello.py"}, id="call_read")
PATCH = (
    '*** Begin Patch\n*** Update File: hello.py\n@@\n-print("hello world")\n+print("hello skipjack")\n*** End Patch\n'
)
EDIT = ScriptedToolCall("apply_patch", {"input": PATCH}, id="call_edit")


@pytest.fixture
def responses_repo(tmp_path: Path, server: SSEServer) -> Path:
    root = tmp_path / "repo"
    (root / ".skipjack").mkdir(parents=True)
    (root / "hello.py").write_text('print("hello world")\n')
    (root / ".skipjack" / "config.toml").write_text(
        f"""model = "scripted/codex-1"
[providers.scripted]
base_url = "{server.url}"
api = "openai-responses"
[providers.scripted.models.codex-1]
context_window = 400000
max_output = 128000
reasoning = true
price = {{ input = 1.75, output = 14.0, cache_read = 0.175 }}
"""
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    # A project config may define a provider only when the user trusts the folder.
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text(f"trusted_projects = [{str(root)!r}]\n")
    return root


def script(server: SSEServer) -> None:
    api = "openai-responses"
    server.enqueue(
        turn_reply(
            ScriptedTurn(thinking="Read it first.", tool_calls=[READ], prompt_tokens=1000, completion_tokens=30),
            api=api,
            turn_index=0,
            chunk_size=9,
        ),
        turn_reply(
            ScriptedTurn(
                thinking="Now edit.",
                text="Editing.",
                tool_calls=[EDIT],
                prompt_tokens=1300,
                cached_tokens=1000,
                completion_tokens=40,
            ),
            api=api,
            turn_index=1,
        ),
        turn_reply(
            ScriptedTurn(text="Done: it greets skipjack.", prompt_tokens=1500, cached_tokens=1200, completion_tokens=9),
            api=api,
            turn_index=2,
        ),
    )


def test_two_tool_task_over_the_responses_api(tmp_path: Path, responses_repo: Path, server: SSEServer) -> None:
    script(server)
    out = run_cli(
        "run",
        "--json",
        "--approval",
        "auto-edit",
        "make it greet skipjack",
        cwd=responses_repo,
        env=isolated_env(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    assert (responses_repo / "hello.py").read_text() == 'print("hello skipjack")\n'
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["stop_reason"] == "completed"
    assert result["turns"] == 3
    assert result["text"] == "Done: it greets skipjack."
    # Non-overlapping usage: cached tokens come out of the input and are priced as cache reads.
    assert result["usage"]["input"] == 1000 + 300 + 300
    assert result["usage"]["cache_read"] == 1000 + 1200
    expected = (1600 * 1.75 + 2200 * 0.175 + 79 * 14.0) / 1e6
    assert result["cost"] == pytest.approx(expected)

    assert [r.path for r in server.requests] == ["/v1/responses"] * 3
    first, second, third = (r.json() for r in server.requests)
    for body in (first, second, third):
        assert (body["stream"], body["store"]) == (True, False)
        assert body["include"] == ["reasoning.encrypted_content"]
        assert body["model"] == "codex-1"
        assert body["instructions"]
        assert {t["name"] for t in body["tools"]} >= {"read", "apply_patch"}
        assert "edit" not in {t["name"] for t in body["tools"]}
        assert all(t["type"] == "function" and t["strict"] is False for t in body["tools"])
        # The session id is not sent to a server that is not OpenAI's.
        assert "prompt_cache_key" not in body
    # Turn 2 replays turn 1's reasoning, its call and the read's output.
    kinds = [item["type"] for item in second["input"]]
    assert kinds == ["message", "reasoning", "function_call", "function_call_output"], kinds
    reasoning = second["input"][1]
    assert reasoning["id"] == "rs_0"
    assert reasoning["encrypted_content"] == encrypted_reasoning(0)
    output = second["input"][3]
    assert output["call_id"] == "call_read"
    assert "hello world" in output["output"]
    # Turn 3 carries both turns' reasoning, each ahead of the items it led to.
    kinds = [item["type"] for item in third["input"]]
    assert kinds == [
        "message",
        "reasoning",
        "function_call",
        "function_call_output",
        "reasoning",
        "message",
        "function_call",
        "function_call_output",
    ], kinds
    assert third["input"][4]["encrypted_content"] == encrypted_reasoning(1)
    assert third["input"][5]["content"] == [{"type": "output_text", "text": "Editing.", "annotations": []}]
    assert third["input"][7]["call_id"] == "call_edit"
