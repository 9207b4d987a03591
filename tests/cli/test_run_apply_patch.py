"""`skipjack run` end to end with a GPT-5 model id: the model is offered apply_patch, not edit."""

from __future__ import annotations

from pathlib import Path

from tests.cli.helpers import isolated_env, run_cli

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

PATCH = """Let me apply this.
*** Begin Patch
*** Update File: hello.py
@@
-print("hello world")
+print("hello skipjack")
*** Add File: docs/NOTES.md
+greets skipjack now
*** End Patch
"""


def use_model(repo: Path, model_id: str, edit_format: str | None = None) -> None:
    config = repo / ".skipjack" / "config.toml"
    text = (
        config.read_text()
        .replace("scripted/m1", f"scripted/{model_id}")
        .replace(".models.m1]", f'.models."{model_id}"]')
    )
    if edit_format is not None:
        text = text.replace(
            "[providers.scripted]", f'[tools]\nedit_format = "{edit_format}"\n\n[providers.scripted]', 1
        )
    config.write_text(text)


def offered_tools(server: SSEServer) -> list[str]:
    return [t["function"]["name"] for t in server.requests[0].json()["tools"]]


def test_gpt5_model_patches_two_files(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    use_model(repo, "gpt-5.3-codex")
    server.enqueue(
        turn_reply(
            ScriptedTurn(text="Patching.", tool_calls=[ScriptedToolCall("apply_patch", {"input": PATCH}, id="p1")])
        ),
        turn_reply(ScriptedTurn(text="Done.")),
    )
    out = run_cli("run", "--approval", "auto-edit", "make it greet skipjack", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (repo / "hello.py").read_text() == 'print("hello skipjack")\n'
    assert (repo / "docs" / "NOTES.md").read_text() == "greets skipjack now\n"
    tools = offered_tools(server)
    assert "apply_patch" in tools
    assert "edit" not in tools
    result = server.requests[1].json()["messages"][-1]
    assert result["role"] == "tool"
    assert result["tool_call_id"] == "p1"
    assert '+print("hello skipjack")' in str(result["content"])
    assert "apply_patch" in server.requests[0].json()["messages"][0]["content"]


def test_patch_outside_project_is_not_run_without_approval(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    use_model(repo, "gpt-5")
    escape = "*** Begin Patch\n*** Add File: ../outside.txt\n+x\n*** End Patch"
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("apply_patch", {"input": escape}, id="p1")])),
        turn_reply(ScriptedTurn(text="ok")),
    )
    run_cli("run", "--approval", "auto-edit", "go", cwd=repo, env=isolated_env(tmp_path))
    assert not (repo.parent / "outside.txt").exists()
    result = str(server.requests[1].json()["messages"][-1]["content"])
    assert "outside the project" in result


def test_other_models_keep_edit_and_the_setting_overrides(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    server.enqueue(turn_reply(ScriptedTurn(text="hi")), turn_reply(ScriptedTurn(text="hi")))
    out = run_cli("run", "hi", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    tools = offered_tools(server)
    assert "edit" in tools
    assert "apply_patch" not in tools
    use_model(repo, "m1", edit_format="apply_patch")
    out = run_cli("run", "hi", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    tools = [t["function"]["name"] for t in server.requests[1].json()["tools"]]
    assert "apply_patch" in tools
    assert "edit" not in tools


def test_headless_progress_line_names_the_patched_files(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    use_model(repo, "gpt-5")
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("apply_patch", {"input": PATCH}, id="p1")])),
        turn_reply(ScriptedTurn(text="ok")),
    )
    out = run_cli("run", "--approval", "auto-edit", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "→ apply_patch hello.py, docs/NOTES.md" in out.stderr
