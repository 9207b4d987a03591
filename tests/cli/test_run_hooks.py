"""Hooks end to end through `skipjack run`: Claude Code's contract, run in the sandbox."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from tests.cli.helpers import isolated_env, run_cli

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

GUARD = """\
import json, sys
call = json.load(sys.stdin)
command = call["tool_input"].get("command", "")
words = command.replace(";", " ").replace("&", " ").replace("|", " ").split()
if call["tool_name"] == "Bash" and "rm" in words:
    print("rm is not allowed in this repository; move files to trash/ instead", file=sys.stderr)
    sys.exit(2)
"""

FORMATTER = """\
import json, sys, pathlib
call = json.load(sys.stdin)
path = pathlib.Path(call["tool_input"]["file_path"])
lines = path.read_text().splitlines()
path.write_text("".join(line.rstrip() + "\\n" for line in lines))
print(json.dumps({"decision": "block", "reason": f"formatted {path.name}"}))
"""


def user_config(tmp_path: Path, repo: Path, hooks: str) -> None:
    (tmp_path / "config" / "config.toml").write_text(f"trusted_projects = [{str(repo)!r}]\n{hooks}")


def script(repo: Path, name: str, text: str) -> str:
    """A hook script kept in the project (what the sandbox lets a hook read)."""
    folder = repo / "hooks"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return f"{sys.executable} hooks/{name}"


def tool_results(server: SSEServer, i: int) -> dict[str, str]:
    return {m["tool_call_id"]: m["content"] for m in server.requests[i].json()["messages"] if m["role"] == "tool"}


def json_lines(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def test_pre_tool_use_hook_denies_rm_and_the_model_sees_why(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    guard = script(repo, "guard.py", GUARD)
    user_config(tmp_path, repo, f'[[hooks.PreToolUse]]\nmatcher = "Bash"\nhooks = [{{ command = "{guard}" }}]\n')
    calls = [
        ScriptedToolCall("bash", {"command": "rm hello.py"}, id="b1"),
        ScriptedToolCall("bash", {"command": "echo hi; rm -f hello.py"}, id="b2"),
        ScriptedToolCall("bash", {"command": "echo kept > note.txt"}, id="b3"),
    ]
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=calls)), turn_reply(ScriptedTurn(text="ok")))
    # yolo: the approval policy would run anything; the hook alone stands in the way.
    out = run_cli("run", "--approval", "yolo", "clean up", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (repo / "hello.py").exists()
    results = tool_results(server, 1)
    for call_id in ("b1", "b2"):
        assert "PreToolUse hook" in results[call_id]
        assert "rm is not allowed in this repository" in results[call_id]
    assert (repo / "note.txt").read_text() == "kept\n", "a command the hook allows runs"


def test_pre_tool_use_matchers_and_json_decisions(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    deny = """import json; print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse",
 "permissionDecision": "deny", "permissionDecisionReason": "no reading secrets.txt"}}))"""
    (repo / "secrets.txt").write_text("s3cret\n")
    guard = script(repo, "deny_read.py", f"import json,sys\nif 'secrets' in sys.stdin.read():\n    {deny}\n")
    # `Read` is Claude Code's name for the read tool, `read` skipjack's: both match.
    user_config(
        tmp_path,
        repo,
        f'[[hooks.PreToolUse]]\nmatcher = "Read|Grep"\nhooks = [{{ command = "{guard}" }}]\n'
        f'[[hooks.PreToolUse]]\nmatcher = "grep"\nhooks = [{{ command = "{guard}" }}]\n',
    )
    calls = [
        ScriptedToolCall("read", {"path": "secrets.txt"}, id="r1"),
        ScriptedToolCall("read", {"path": "./secrets.txt"}, id="r2"),
        ScriptedToolCall("grep", {"pattern": "s3cret", "path": "secrets.txt"}, id="g1"),
        ScriptedToolCall("read", {"path": "hello.py"}, id="r3"),
    ]
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=calls)), turn_reply(ScriptedTurn(text="ok")))
    out = run_cli("run", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    results = tool_results(server, 1)
    for call_id in ("r1", "r2", "g1"):
        assert "no reading secrets.txt" in results[call_id], results[call_id]
        assert "s3cret" not in results[call_id]
    assert "hello world" in results["r3"]


def test_a_hook_that_allows_cannot_overrule_plan_mode(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    allow = script(repo, "allow.py", 'import json\nprint(json.dumps({"decision": "approve"}))\n')
    user_config(tmp_path, repo, f'[[hooks.PreToolUse]]\nhooks = [{{ command = "{allow}" }}]\n')
    write = ScriptedToolCall("write", {"path": "new.txt", "content": "x"}, id="w1")
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=[write])), turn_reply(ScriptedTurn(text="ok")))
    out = run_cli("run", "--approval", "plan", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert not (repo / "new.txt").exists()
    assert "plan mode" in tool_results(server, 1)["w1"]
    # Where the mode would ask, the hook's allow spares the question (headless: runs it).
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=[write])), turn_reply(ScriptedTurn(text="ok")))
    out = run_cli("run", "--approval", "ask", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (repo / "new.txt").read_text() == "x"


def test_post_tool_use_hook_formats_an_edited_file(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    formatter = script(repo, "fmt.py", FORMATTER)
    user_config(
        tmp_path, repo, f'[[hooks.PostToolUse]]\nmatcher = "Edit|Write"\nhooks = [{{ command = "{formatter}" }}]\n'
    )
    write = ScriptedToolCall("write", {"path": "messy.py", "content": "x = 1    \ny = 2\t\n"}, id="w1")
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=[write])), turn_reply(ScriptedTurn(text="ok")))
    out = run_cli("run", "--approval", "auto-edit", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (repo / "messy.py").read_text() == "x = 1\ny = 2\n"
    # `decision: block` feeds the reason back to the model, as in Claude Code.
    assert "formatted messy.py" in tool_results(server, 1)["w1"]


def test_failing_and_slow_hooks_are_reported_and_do_not_block(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    user_config(
        tmp_path,
        repo,
        '[[hooks.PreToolUse]]\nhooks = [{ command = "echo broken >&2; exit 1" }, '
        '{ command = "sleep 30", timeout = 0.5 }, { command = "/nonexistent/hook" }]\n',
    )
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("read", {"path": "hello.py"}, id="r1")])),
        turn_reply(ScriptedTurn(text="ok")),
    )
    out = run_cli("run", "--json", "go", cwd=repo, env=isolated_env(tmp_path), timeout=60)
    assert out.returncode == 0, out.stderr
    failures = [e for e in json_lines(out.stdout) if e["type"] == "hook_failed"]
    assert [f["event"] for f in failures] == ["PreToolUse"] * 3
    assert "exit code 1: broken" in failures[0]["message"]
    assert "timed out after 0.5 s" in failures[1]["message"]
    assert "exit code 127" in failures[2]["message"]
    assert "hello world" in tool_results(server, 1)["r1"]
    # In text mode each failure is a line on stderr.
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("read", {"path": "hello.py"}, id="r1")])),
        turn_reply(ScriptedTurn(text="ok")),
    )
    out = run_cli("run", "go", cwd=repo, env=isolated_env(tmp_path), timeout=60)
    assert "hook failed (PreToolUse: echo broken >&2; exit 1): exit code 1: broken" in out.stderr


def test_hooks_run_in_the_sandbox_unless_the_user_says_otherwise(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    outside = tmp_path / "outside.txt"
    hook = f"echo {{}} > {outside}"
    user_config(tmp_path, repo, f'[[hooks.UserPromptSubmit]]\nhooks = [{{ command = "{hook}" }}]\n')
    server.enqueue(turn_reply(ScriptedTurn(text="ok")))
    out = run_cli("run", "--json", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert not outside.exists(), "a sandboxed hook wrote outside the project"
    user_config(tmp_path, repo, f'[[hooks.UserPromptSubmit]]\nhooks = [{{ command = "{hook}", sandbox = false }}]\n')
    server.enqueue(turn_reply(ScriptedTurn(text="ok")))
    out = run_cli("run", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert outside.exists()


def test_a_projects_hook_cannot_leave_the_sandbox(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    outside = tmp_path / "escaped.txt"
    with (repo / ".skipjack" / "config.toml").open("a") as f:
        f.write(f'[[hooks.UserPromptSubmit]]\nhooks = [{{ command = "echo x > {outside}", sandbox = false }}]\n')
    server.enqueue(turn_reply(ScriptedTurn(text="ok")))
    out = run_cli("run", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert not outside.exists()


def test_prompt_hooks_block_add_context_and_stop_continues(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    blocker = script(repo, "block.py", "import sys, json\nif 'password' in json.load(sys.stdin)['prompt']:\n"
                     "    print('prompts must not contain passwords', file=sys.stderr); sys.exit(2)\n")  # fmt: skip
    once = repo / "stopped-once"
    stop_script = (
        f"import json, sys, pathlib\np = pathlib.Path({str(once)!r})\nif not p.exists():\n"
        "    p.write_text('x')\n    print('run the tests first', file=sys.stderr)\n    sys.exit(2)\n"
    )
    stop = script(repo, "stop.py", stop_script)
    user_config(
        tmp_path,
        repo,
        f'[[hooks.UserPromptSubmit]]\nhooks = [{{ command = "{blocker}" }}, {{ command = "echo branch is main" }}]\n'
        f'[[hooks.SessionStart]]\nhooks = [{{ command = "echo today is release day" }}]\n'
        f'[[hooks.Stop]]\nhooks = [{{ command = "{stop}" }}]\n',
    )
    out = run_cli("run", "my password is hunter2", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 2
    assert "prompts must not contain passwords" in out.stderr
    assert server.requests == []

    server.enqueue(turn_reply(ScriptedTurn(text="first answer")), turn_reply(ScriptedTurn(text="tests pass")))
    out = run_cli("run", "--json", "fix it", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    first = server.requests[0].json()["messages"][-1]["content"]
    assert first.startswith("fix it")
    assert "branch is main" in first
    assert "today is release day" in first
    # The Stop hook sent the model back once with its reason, then let it stop.
    assert len(server.requests) == 2
    assert "run the tests first" in server.requests[1].json()["messages"][-1]["content"]
    result = json_lines(out.stdout)[-1]
    assert result["text"] == "tests pass"
    assert result["turns"] == 2
