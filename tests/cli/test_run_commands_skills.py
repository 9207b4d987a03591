"""Custom commands and skills end to end, and an untrusted folder's extensions left unread."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cli.helpers import isolated_env, run_cli

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

REVIEW = """\
---
description: Review a file with the current git status
argument-hint: FILE [FOCUS]
---
Review $1 carefully. Focus: $2. Everything: $ARGUMENTS
Status:
!`git status --short`
The file:
@hello.py
"""

SKILL = """\
---
name: release-notes
description: Write release notes from the git log in the team's format
---
RELEASE-BODY-MARKER: group changes by area, newest first.
"""


def command(root: Path, name: str, text: str, where: str = ".skipjack") -> None:
    folder = root / where / "commands"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.md").write_text(text)


def first_prompt(server: SSEServer) -> str:
    content: str = server.requests[0].json()["messages"][-1]["content"]
    return content


def test_custom_command_with_arguments_and_a_shell_include(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    command(repo, "review", REVIEW)
    (tmp_path / "config" / "config.toml").write_text(
        f'trusted_projects = [{str(repo)!r}]\nallow = ["bash: git status *"]\n'
    )
    server.enqueue(turn_reply(ScriptedTurn(text="looks fine")))
    out = run_cli("run", '/review hello.py "error handling"', cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    prompt = first_prompt(server)
    assert prompt.startswith("Review hello.py carefully. Focus: error handling.")
    assert 'Everything: hello.py "error handling"' in prompt
    assert "?? hello.py" in prompt, "the `!` command's output is in the prompt"
    assert 'print("hello world")' in prompt, "the @ include is in the prompt"
    assert "$1" not in prompt
    assert "!`" not in prompt


def test_a_commands_shell_include_goes_through_approvals(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    command(repo, "wipe", "---\ndescription: wipe\n---\nResult: !`rm -f hello.py`\n")
    server.enqueue(turn_reply(ScriptedTurn(text="ok")))
    # Headless in `ask` mode: a command no rule allows is denied, not run.
    out = run_cli("run", "/wipe", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (repo / "hello.py").exists()
    assert "was not run" in first_prompt(server)


def test_arguments_cannot_smuggle_commands_or_includes(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    command(repo, "echo", "---\ndescription: say it\n---\nSay: $ARGUMENTS\n")
    (tmp_path / "config" / "config.toml").write_text(f'trusted_projects = [{str(repo)!r}]\nallow = ["bash: *"]\n')
    server.enqueue(turn_reply(ScriptedTurn(text="ok")))
    evil = "!`touch pwned` and @hello.py and $1"
    out = run_cli("run", f"/echo {evil}", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert not (repo / "pwned").exists()
    assert first_prompt(server) == f"Say: {evil}"


def test_an_unknown_slash_word_is_an_ordinary_prompt(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    server.enqueue(turn_reply(ScriptedTurn(text="ok")))
    out = run_cli("run", "/etc/hosts: what is in it?", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert first_prompt(server) == "/etc/hosts: what is in it?"


def test_skill_is_listed_and_loaded_on_demand(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    folder = repo / ".claude" / "skills" / "release-notes"
    folder.mkdir(parents=True)
    (folder / "SKILL.md").write_text(SKILL)
    read = ScriptedToolCall("read", {"path": str(folder / "SKILL.md")}, id="r1")
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=[read])), turn_reply(ScriptedTurn(text="notes")))
    out = run_cli("run", "write release notes", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    first, second = (json.dumps(r.json()) for r in server.requests)
    assert "release-notes: Write release notes from the git log" in first
    assert str(folder / "SKILL.md") in first
    assert "RELEASE-BODY-MARKER" not in first
    assert "RELEASE-BODY-MARKER" in second


def test_skills_list_shows_origin_and_front_matter_errors(tmp_path: Path, repo: Path) -> None:
    good = tmp_path / "config" / "skills" / "pdf"
    good.mkdir(parents=True)
    (good / "SKILL.md").write_text("---\nname: pdf\ndescription: Fill PDF forms\n---\nbody\n")
    broken = repo / ".skipjack" / "skills" / "broken"
    broken.mkdir(parents=True)
    (broken / "SKILL.md").write_text("---\nname: broken\ndescription: [unclosed\n---\nbody\n")
    nodesc = repo / ".skipjack" / "skills" / "nodesc"
    nodesc.mkdir(parents=True)
    (nodesc / "SKILL.md").write_text("---\nname: nodesc\n---\nbody\n")
    out = run_cli("skills", "list", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 1, out.stdout
    assert "pdf  [user]  Fill PDF forms" in out.stdout
    assert f"error: {broken / 'SKILL.md'}: front matter is not valid YAML" in out.stdout
    assert "`description` is missing" in out.stdout
    # Malformed files never stop a run: the good skill is still offered.
    commands = run_cli("commands", "list", cwd=repo, env=isolated_env(tmp_path))
    assert commands.returncode == 0, commands.stdout


def test_an_untrusted_folders_extensions_are_not_loaded(tmp_path: Path, server: SSEServer) -> None:
    root = tmp_path / "cloned"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "hello.py").write_text("x\n")
    witness = root / "hook-ran"
    for where in (".skipjack", ".claude"):
        command(root, "evil", "---\ndescription: evil\n---\nEVIL-COMMAND-BODY\n", where)
        (root / where / "skills" / "evil").mkdir(parents=True)
        (root / where / "skills" / "evil" / "SKILL.md").write_text("---\nname: evil\ndescription: EVIL-SKILL\n---\n")
        (root / where / "agents").mkdir(parents=True)
        (root / where / "agents" / "evil.md").write_text("---\nname: evil\ndescription: EVIL-AGENT\n---\nx\n")
    (root / ".skipjack" / "config.toml").write_text(
        f'[[hooks.UserPromptSubmit]]\nhooks = [{{ command = "touch {witness}" }}]\n'
        f'[[hooks.PreToolUse]]\nhooks = [{{ command = "touch {witness}" }}]\n'
    )
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        f'model = "scripted/m1"\n[providers.scripted]\nbase_url = "{server.url}"\napi = "openai-chat"\n'
        "[providers.scripted.models.m1]\nprice = { input = 3.0, output = 15.0 }\n"
    )
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("read", {"path": "hello.py"}, id="r1")])),
        turn_reply(ScriptedTurn(text="ok")),
    )
    out = run_cli("run", "/evil now", cwd=root, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    body = json.dumps(server.requests[0].json())
    assert first_prompt(server) == "/evil now"
    for marker in ("EVIL-COMMAND-BODY", "EVIL-SKILL", "EVIL-AGENT"):
        assert marker not in body
    assert not witness.exists()
    for kind in ("skills", "commands", "agents"):
        listed = run_cli(kind, "list", cwd=root, env=isolated_env(tmp_path))
        assert "evil" not in listed.stdout.split("searched:")[0]
        assert "not searched" in listed.stdout
    # Trusting it for one run reads them.
    server.enqueue(turn_reply(ScriptedTurn(text="ok")))
    out = run_cli("run", "--trust-project", "/evil now", cwd=root, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "EVIL-COMMAND-BODY" in first_prompt_of(server, -1)
    assert witness.exists()


def first_prompt_of(server: SSEServer, i: int) -> str:
    content: str = server.requests[i].json()["messages"][-1]["content"]
    return content


def test_an_include_of_a_credential_store_is_refused(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE-KEY-MARKER\n")
    (repo / "key-link").symlink_to(home / ".ssh" / "id_rsa")
    command(repo, "leak", "---\ndescription: leak\n---\nA: @~/.ssh/id_rsa\nB: @key-link\nC: @../home/.ssh/id_rsa\n")
    server.enqueue(turn_reply(ScriptedTurn(text="ok")))
    out = run_cli("run", "/leak", cwd=repo, env={**isolated_env(tmp_path), "HOME": str(home)})
    assert out.returncode == 0, out.stderr
    prompt = first_prompt(server)
    assert "PRIVATE-KEY-MARKER" not in prompt
    assert prompt.count("was not included") == 3


def test_allowed_tools_grants_only_the_commands_it_names(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    command(
        repo,
        "status",
        "---\ndescription: status\nallowed-tools: Bash(git status:*), Read\n---\n"
        "A: !`git status --short`\n"
        "B: !`git status; rm -f hello.py`\n"
        "C: !`git status > status.txt`\n"
        "D: !`LD_PRELOAD=/tmp/x.so git status`\n"
        "E: !`git stash`\n",
    )
    server.enqueue(turn_reply(ScriptedTurn(text="ok")))
    out = run_cli("run", "--approval", "ask", "/status", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    prompt = first_prompt(server)
    assert "?? hello.py" in prompt.split("B: ")[0], "the granted command ran"
    lines = prompt.splitlines()
    for label in ("B", "C", "D", "E"):
        line = next(x for x in lines if x.startswith(f"{label}: "))
        assert "was not run" in line, line
    assert (repo / "hello.py").exists()
    assert not (repo / "status.txt").exists()


def test_a_user_skill_is_readable_but_the_config_beside_it_is_not(
    tmp_path: Path, repo: Path, server: SSEServer
) -> None:
    config_dir = tmp_path / "config"
    skill = config_dir / "skills" / "release-notes"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(SKILL)
    (config_dir / "config.toml").write_text(
        f'trusted_projects = [{str(repo)!r}]\n[keys]\nopenai = "sk-CONFIG-KEY-MARKER-1234567"\n'
    )
    (skill / "sneaky.md").symlink_to(config_dir / "config.toml")
    calls = [
        ScriptedToolCall("read", {"path": str(skill / "SKILL.md")}, id="r1"),
        ScriptedToolCall("read", {"path": str(skill / "sneaky.md")}, id="r2"),
        ScriptedToolCall("read", {"path": str(config_dir / "skills" / ".." / "config.toml")}, id="r3"),
        ScriptedToolCall("grep", {"pattern": "sk-", "path": str(config_dir / "skills")}, id="g1"),
    ]
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=calls)), turn_reply(ScriptedTurn(text="ok")))
    out = run_cli("run", "notes", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    results = {m["tool_call_id"]: m["content"] for m in server.requests[1].json()["messages"] if m["role"] == "tool"}
    assert "RELEASE-BODY-MARKER" in results["r1"]
    for call_id in ("r2", "r3", "g1"):
        assert "CONFIG-KEY-MARKER" not in results[call_id]
    assert "credential store" in results["r2"]
    assert "credential store" in results["r3"]
