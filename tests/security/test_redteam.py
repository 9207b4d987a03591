"""Holes found by red-teaming the merged safety layer (issue 12), each end to end: a hostile
repository or a hostile model against `skipjack run`, the real sandbox and real git."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.cli.helpers import isolated_env, run_cli
from tests.security.test_policy_e2e import tool_results, user_config

from skipjack.safety.sandbox import probe
from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply
from skipjack.testing.sse_server import Reply

needs_sandbox = pytest.mark.skipif(not probe().available, reason=f"no sandbox here: {probe().reason}")


@pytest.fixture
def server() -> SSEServer:
    with SSEServer() as s:
        yield s  # type: ignore[misc]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "a.txt").write_text("a\n")
    return root


def _fsmonitor_config(marker: Path, *, worktree: bool) -> str:
    core = "[core]\n\trepositoryformatversion = 0\n\tbare = false\n"
    if worktree:
        core += "\tworktree = ..\n"
    # fsmonitor runs the command through the shell; `false` makes git carry on as if none.
    return core + f'\tfsmonitor = "touch {marker}; false"\n'


def _write(path: str, content: str, n: int) -> ScriptedToolCall:
    return ScriptedToolCall("write", {"path": path, "content": content}, id=f"w{n}")


@needs_sandbox
def test_embedded_bare_repository_does_not_run_its_fsmonitor(tmp_path: Path, project: Path, server: SSEServer) -> None:
    """A directory that merely looks like a bare repository (HEAD, objects/, refs/, config) is
    no `.git/`, so auto-edit writes it without asking (a hostile repo can simply ship it); a
    `git status` allowed by a rule and run there (`cwd`) must not run its `core.fsmonitor`."""
    marker = project / "pwned"
    writes = [
        _write("cache/HEAD", "ref: refs/heads/main\n", 1),
        _write("cache/config", _fsmonitor_config(marker, worktree=True), 2),
        _write("cache/objects/.keep", "", 3),
        _write("cache/refs/.keep", "", 4),
    ]
    status = [
        ScriptedToolCall("bash", {"command": "git status", "cwd": "cache"}, id="b1"),
        ScriptedToolCall("bash", {"command": "git status", "cwd": " ./cache/ "}, id="b2"),
        ScriptedToolCall("bash", {"command": "timeout 20 git status --short", "cwd": "cache"}, id="b3"),
        # Taking the protection back off must not be allowed by the same rule.
        ScriptedToolCall("bash", {"command": "env -u GIT_CONFIG_COUNT git status", "cwd": "cache"}, id="b4"),
        ScriptedToolCall("bash", {"command": "env -i git status", "cwd": "cache"}, id="b5"),
        ScriptedToolCall("bash", {"command": "env - git status", "cwd": "cache"}, id="b6"),
        ScriptedToolCall("bash", {"command": "env --unset=GIT_CONFIG_COUNT git status", "cwd": "cache"}, id="b7"),
        ScriptedToolCall("bash", {"command": "GIT_CONFIG_COUNT=0 git status", "cwd": "cache"}, id="b8"),
    ]
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=writes)),
        turn_reply(ScriptedTurn(tool_calls=status)),
        turn_reply(ScriptedTurn(text="done")),
    )
    env = user_config(tmp_path, server, 'allow = ["bash: git status *", "bash: timeout *"]')
    out = run_cli("run", "--approval", "auto-edit", "--json", "look around", cwd=project, env=env, timeout=150)
    assert out.returncode == 0, out.stderr
    assert (project / "cache" / "config").exists(), "the writes themselves are allowed in auto-edit"
    assert not marker.exists(), "an allowed git status ran the planted fsmonitor"
    results = tool_results(server)
    assert len(results) == 12
    # The first three ran (allowed) and git refused the implicit bare repository.
    assert all("safe.bareRepository" in r or "cannot use bare repository" in r for r in results[4:7]), results[4:7]
    assert all("denied" in r for r in results[7:]), results[7:]


@needs_sandbox
def test_a_config_home_the_model_writes_is_not_read_by_an_allowed_git(
    tmp_path: Path, project: Path, server: SSEServer
) -> None:
    """`HOME=. git status` reads `./.gitconfig`, `XDG_CONFIG_HOME=. git status` reads
    `./git/config`: files auto-edit writes without asking. A rule for `git status` must not
    cover them (nor `RIPGREP_CONFIG_PATH=… rg`, whose config can name a `--pre` program)."""
    marker = project / "pwned"
    config = _fsmonitor_config(marker, worktree=False).replace("\trepositoryformatversion = 0\n\tbare = false\n", "")
    writes = [
        _write(".gitconfig", config, 1),
        _write("git/config", config, 2),
        _write("rgconfig", "--pre=./pre.sh\n", 3),
        _write("pre.sh", f'#!/bin/sh\ntouch {marker}\ncat "$1"\n', 4),
    ]
    calls = [
        ScriptedToolCall("bash", {"command": "chmod +x pre.sh"}, id="c0"),
        ScriptedToolCall("bash", {"command": "HOME=. git status"}, id="b1"),
        ScriptedToolCall("bash", {"command": "env HOME=$PWD git status"}, id="b2"),
        ScriptedToolCall("bash", {"command": "XDG_CONFIG_HOME=. git status"}, id="b3"),
        ScriptedToolCall("bash", {"command": "RIPGREP_CONFIG_PATH=rgconfig rg -l a"}, id="b4"),
        ScriptedToolCall("bash", {"command": "git status"}, id="control"),
    ]
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=writes)),
        turn_reply(ScriptedTurn(tool_calls=calls)),
        turn_reply(ScriptedTurn(text="done")),
    )
    env = user_config(tmp_path, server, 'allow = ["bash: git status *", "bash: rg *", "bash: chmod +x *"]')
    out = run_cli("run", "--approval", "auto-edit", "--json", "look around", cwd=project, env=env, timeout=150)
    assert out.returncode == 0, out.stderr
    assert (project / ".gitconfig").exists()
    assert not marker.exists(), "a rule-allowed command read config the model planted"
    results = tool_results(server)
    assert all("denied" in r for r in results[5:9]), results[5:9]
    assert "denied" not in results[9], "plain git status is still allowed"


def test_a_backslashed_command_after_a_line_break_meets_the_deny_rule(
    tmp_path: Path, project: Path, server: SSEServer
) -> None:
    """tree-sitter-bash reads `true<newline>\\rm -rf x` as `true` with an argument; bash runs
    `rm -rf x`. Found by the deny fuzz test (hypothesis)."""
    lines = ["true\n\\rm -rf victim", "echo hi\n\\rm -r -f victim", "ls\n\\\\rm -rf victim"]
    (project / "victim").mkdir()
    (project / "victim" / "data").write_text("keep")
    calls = [ScriptedToolCall("bash", {"command": line}, id=f"b{i}") for i, line in enumerate(lines)]
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=calls)), turn_reply(ScriptedTurn(text="done")))
    env = user_config(tmp_path, server, 'deny = ["bash: rm -rf *"]')
    out = run_cli("run", "--approval", "yolo", "--json", "clean up", cwd=project, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (project / "victim" / "data").read_text() == "keep"
    assert all("denied" in r for r in tool_results(server))


def test_a_provider_error_echoing_the_key_is_scrubbed(tmp_path: Path, project: Path, server: SSEServer) -> None:
    """A provider (or a proxy in front of it) that echoes the request's Authorization header in
    its error body: the key must reach neither the session file nor `--json` (nor, through
    them, a resumed conversation or a compaction summary), on a retry or on the final error."""
    key = "sk-proj-" + "Zq8" * 12
    env = isolated_env(tmp_path)
    env["OPENAI_API_KEY"] = key
    config_dir = Path(env["SKIPJACK_CONFIG_DIR"])
    config_dir.mkdir(parents=True)
    (config_dir / "config.toml").write_text(
        f'model = "openai/gpt-4o"\n[providers.openai]\nbase_url = "{server.url}"\n[retry]\nbase_delay_ms = 1\n'
    )
    echo = {"error": {"message": f"header Authorization: Bearer {key} rejected", "type": "invalid_request_error"}}
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": "echo hi"}, id="b1")])),
        Reply.error(503, echo),
        Reply.error(400, echo),
    )
    out = run_cli("run", "--json", "--approval", "yolo", "go", cwd=project, env=env, timeout=120)
    assert out.returncode == 1
    assert len(server.requests) == 3, "the 503 was retried"
    assert server.requests[0].headers.get("authorization") == f"Bearer {key}"
    assert key not in out.stdout
    assert key not in out.stderr
    assert "[redacted: OPENAI_API_KEY]" in out.stdout
    sessions = [p for p in Path(env["SKIPJACK_DATA_DIR"]).rglob("*.jsonl")]
    assert sessions
    for path in sessions:
        assert key not in path.read_text()


def _home_with_secrets(tmp_path: Path, secret: str) -> Path:
    home = tmp_path / "home"
    for rel in (
        ".ssh/id_ed25519",
        ".aws/credentials",
        ".config/git/credentials",
        ".docker/config.json",
        ".kube/config",
        ".pypirc",
        ".bash_history",
        ".config/pip/pip.conf",
        ".cache/huggingface/token",
    ):
        path = home / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"credential {secret}\n")
    return home


def test_the_read_tools_ask_before_reading_a_credential_store(tmp_path: Path, project: Path, server: SSEServer) -> None:
    """The sandbox hides `~/.ssh`, `~/.aws`, … from commands, but read, grep and find run in
    skipjack itself: they read them in every mode without asking, straight into the request to
    the model. A repository can also ship a symlink into them under an innocent name."""
    secret = "cred-" + "Q7" * 16
    home = _home_with_secrets(tmp_path, secret)
    (project / "docs").mkdir()
    (project / "docs" / "setup.md").symlink_to(home / ".ssh" / "id_ed25519")
    calls = [
        ScriptedToolCall("read", {"path": "~/.ssh/id_ed25519"}, id="r1"),
        ScriptedToolCall("read", {"path": "docs/setup.md"}, id="r2"),
        ScriptedToolCall("read", {"path": f" {home}/.aws/../.aws/credentials"}, id="r3"),
        ScriptedToolCall("read", {"path": "~/.config/git/credentials"}, id="r4"),
        ScriptedToolCall("grep", {"pattern": "credential", "path": "~"}, id="g1"),
        ScriptedToolCall("grep", {"pattern": "credential", "path": "~/.aws"}, id="g2"),
        ScriptedToolCall("find", {"pattern": "*", "path": "~/.ssh"}, id="f1"),
        ScriptedToolCall("read", {"path": "/proc/self/environ"}, id="p1"),
        ScriptedToolCall("read", {"path": "a.txt"}, id="control"),
    ]
    for mode in ("plan", "auto-edit"):
        server.clear()
        server.enqueue(turn_reply(ScriptedTurn(tool_calls=calls)), turn_reply(ScriptedTurn(text="done")))
        env = user_config(tmp_path, server) | {"HOME": str(home), "MY_SERVICE_CREDS": "x" * 3}
        out = run_cli("run", "--approval", mode, "--json", "set up", cwd=project, env=env, timeout=120)
        assert out.returncode == 0, out.stderr
        sent = server.requests[-1].body.decode()
        assert secret not in sent, mode
        assert secret not in out.stdout, mode
        results = tool_results(server)
        assert all("denied" in r for r in results[:-1]), (mode, results)
        assert "denied" not in results[-1]


@needs_sandbox
def test_more_credential_stores_are_hidden_from_sandboxed_commands(
    tmp_path: Path, project: Path, server: SSEServer
) -> None:
    """git's XDG credential store, pip's config (index tokens), shell history, the Hugging Face
    token: hidden in the sandbox like `~/.ssh` already was."""
    secret = "cred-" + "W3" * 16
    home = _home_with_secrets(tmp_path, secret)
    paths = [
        "~/.config/git/credentials",
        "~/.config/pip/pip.conf",
        "~/.bash_history",
        "~/.cache/huggingface/token",
        "~/.ssh/id_ed25519",
    ]
    command = "; ".join(f"cat {p}" for p in paths) + "; echo control-ran"
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("bash", {"command": command}, id="b1")])),
        turn_reply(ScriptedTurn(text="done")),
    )
    env = user_config(tmp_path, server) | {"HOME": str(home)}
    out = run_cli("run", "--approval", "plan", "--json", "look", cwd=project, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    (result,) = tool_results(server)
    assert "control-ran" in result
    assert secret not in result


@needs_sandbox
def test_a_nested_repository_the_model_assembles_does_not_run_its_fsmonitor(
    tmp_path: Path, project: Path, server: SSEServer
) -> None:
    """The sandbox protects the project's own `.git/config`, not a `sub/.git` the model makes:
    auto-edit writes `sub/dotgit/config` (no `.git` in the path), an allowed `mv` renames it to
    `sub/.git`, and an allowed `git status` run in `sub` would use its `core.fsmonitor`."""
    marker = project / "pwned"
    writes = [
        _write("sub/dotgit/HEAD", "ref: refs/heads/main\n", 1),
        _write("sub/dotgit/config", _fsmonitor_config(marker, worktree=False), 2),
        _write("sub/dotgit/objects/.keep", "", 3),
        _write("sub/dotgit/refs/.keep", "", 4),
        _write("sub/dotgit2/HEAD", "ref: refs/heads/main\n", 5),
        _write("sub/dotgit2/config", _fsmonitor_config(marker, worktree=False), 6),
    ]
    moves = [
        ScriptedToolCall("bash", {"command": "mv sub/dotgit sub/.git"}, id="m1"),
        ScriptedToolCall("bash", {"command": "cp -r sub/dotgit2 other/.git/"}, id="m2"),
        ScriptedToolCall("bash", {"command": "mkdir -p other/.git"}, id="m3"),
    ]
    setup = [ScriptedToolCall("bash", {"command": "git init -q sub"}, id="i1")]
    status = [
        ScriptedToolCall("bash", {"command": "git status", "cwd": "sub"}, id="s1"),
        ScriptedToolCall("bash", {"command": "cd sub && git status"}, id="s2"),
        ScriptedToolCall("bash", {"command": "git status"}, id="control"),
    ]
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=writes)),
        turn_reply(ScriptedTurn(tool_calls=moves)),
        turn_reply(ScriptedTurn(tool_calls=setup)),
        turn_reply(ScriptedTurn(tool_calls=status)),
        turn_reply(ScriptedTurn(text="done")),
    )
    env = user_config(
        tmp_path, server, 'allow = ["bash: git status *", "bash: git init *", "bash: mv *", "bash: cp *", "bash: cd *"]'
    )
    out = run_cli("run", "--approval", "auto-edit", "--json", "tidy up", cwd=project, env=env, timeout=150)
    assert out.returncode == 0, out.stderr
    assert not marker.exists(), "an allowed git status ran a nested repository's fsmonitor"
    results = tool_results(server)
    assert all("denied" in r for r in results[6:9]), results[6:9]
    # `git init sub` is allowed (a fresh repository runs nothing), but git inside it then asks.
    assert "denied" not in results[9]
    assert all("denied" in r for r in results[10:12]), results[10:12]
    assert "denied" not in results[12]


def test_an_untrusted_project_cannot_make_a_run_wait_or_retry_longer(tmp_path: Path, project: Path) -> None:
    """`[retry]` and `[timeouts]` are "harmless" project keys, but raised they keep a run
    against a stalled or failing provider going for ever. An untrusted project may only lower
    them; `config show`'s ignored list and the warning name the rest."""
    import time

    with SSEServer() as stalled:
        stalled.enqueue(*[Reply(stall_before_headers=True) for _ in range(5)])
        env = user_config(tmp_path, stalled, "[timeouts]\nfirst_byte_ms = 1000\ntotal_ms = 4000\n")
        env["OPENAI_API_KEY"] = "sk-unused-0000000000"
        (project / ".skipjack").mkdir()
        (project / ".skipjack" / "config.toml").write_text(
            "[timeouts]\nfirst_byte_ms = 100000000\ntotal_ms = 100000000\nidle_ms = 10\n"
            "[retry]\nmax_retries = 1000\nbase_delay_ms = 1\n"
        )
        started = time.monotonic()
        out = run_cli("run", "--json", "hi", cwd=project, env=env, timeout=60)
        elapsed = time.monotonic() - started
    assert out.returncode != 0
    assert elapsed < 30, f"the project's timeouts applied: {elapsed:.1f} s"
    assert "timeouts.first_byte_ms" in out.stderr
    assert "timeouts.total_ms" in out.stderr
    assert "retry.max_retries" in out.stderr
    assert "idle_ms" not in out.stderr.split("ignored untrusted project settings", 1)[-1].split("(trust")[0]
    shown = run_cli("config", "show", cwd=project, env=env, timeout=60)
    assert "first_byte_ms = 1000" in shown.stdout, shown.stdout
    assert "idle_ms = 10" in shown.stdout


@needs_sandbox
def test_keys_are_scrubbed_when_encoded_and_more_secret_names_stay_out_of_the_shell(
    tmp_path: Path, project: Path, server: SSEServer
) -> None:
    """A key in a project's `.env` reaches output plainly, but also base64-encoded (`curl -v`'s
    Basic auth, `base64 .env`), URL-encoded or in hex; and credentials whose variable names do
    not say KEY/TOKEN/SECRET (MYSQL_PWD, SENTRY_DSN, a webhook URL, an Azure connection string)
    reached the shell's environment."""
    key = "sk-proj-" + "Rk9" * 12 + "_/+"
    (project / ".env").write_text(f"OPENAI_API_KEY={key}\n")
    others = {
        "MYSQL_PWD": "hunter2-" + "m" * 12,
        "SENTRY_DSN": "https://" + "d" * 24 + "@o1.ingest.sentry.io/1",
        "SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T0/B0/" + "w" * 24,
        "AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=" + "z" * 30,
    }
    commands = [
        "base64 -w0 .env",
        "printf 'user:%s' \"$(cut -d= -f2 .env)\" | base64 -w0",
        "python3 -c \"import urllib.parse;print(urllib.parse.quote(open('.env').read().split('=')[1]))\"",
        "od -An -tx1 -v .env | tr -d ' \\n'",
        "env",
    ]
    calls = [ScriptedToolCall("bash", {"command": c}, id=f"b{i}") for i, c in enumerate(commands)]
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=calls)), turn_reply(ScriptedTurn(text="done")))
    env = user_config(tmp_path, server) | {"OPENAI_API_KEY": key} | others
    out = run_cli("run", "--approval", "plan", "--json", "look", cwd=project, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    results = tool_results(server)
    assert len(results) == len(commands)
    assert all("[redacted: OPENAI_API_KEY]" in r for r in results[:4]), results[:4]
    sent = server.requests[-1].body.decode()
    for value in (key, *others.values()):
        assert value not in sent
        assert value not in out.stdout
    assert "PWD=" in results[4], "PWD itself is no secret"
    for name in others:
        assert f"{name}=" not in results[4]


@needs_sandbox
def test_run_in_the_home_directory_the_dot_files_stay_the_users(tmp_path: Path, server: SSEServer) -> None:
    """skipjack started in `~` outside any repository makes the home directory the project:
    workspace-write then let any allowed command rewrite `~/.bashrc` (run by the user's next
    shell, outside any sandbox), create `~/.zshrc`, or drop a unit into `~/.config`."""
    home = tmp_path / "home"
    (home / ".config" / "systemd").mkdir(parents=True)
    (home / ".bashrc").write_text("# mine\n")
    (home / "payload").write_text("touch pwned\n")
    calls = [
        ScriptedToolCall("bash", {"command": "cp payload .bashrc"}, id="b1"),
        ScriptedToolCall("bash", {"command": "cp payload .zshrc"}, id="b2"),
        ScriptedToolCall("bash", {"command": "cp payload .config/systemd/evil.service"}, id="b3"),
        ScriptedToolCall("bash", {"command": "cp payload ~/.profile"}, id="b4"),
        ScriptedToolCall("bash", {"command": "echo 'touch pwned' >> ~/.bashrc"}, id="b5"),
        ScriptedToolCall("write", {"path": "~/.bash_profile", "content": "touch pwned\n"}, id="w1"),
        ScriptedToolCall("bash", {"command": "cp payload notes.txt"}, id="control"),
    ]
    server.enqueue(turn_reply(ScriptedTurn(tool_calls=calls)), turn_reply(ScriptedTurn(text="done")))
    env = user_config(tmp_path, server, 'allow = ["bash: cp *"]') | {"HOME": str(home)}
    out = run_cli("run", "--approval", "auto-edit", "--json", "tidy", cwd=home, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (home / "notes.txt").read_text() == "touch pwned\n", "the home directory is still the workspace"
    assert (home / ".bashrc").read_text() == "# mine\n"
    for name in (".zshrc", ".profile", ".bash_profile", ".config/systemd/evil.service"):
        assert not (home / name).exists(), name
    # The read-only placeholders mounted over missing startup files are gone again.
    assert sorted(p.name for p in home.iterdir()) == [".bashrc", ".config", "notes.txt", "payload"]
    results = tool_results(server)
    assert all("exit code 0" not in r for r in results[:6]), results[:6]


@needs_sandbox
def test_concurrent_commands_in_a_folder_without_git_leave_no_git_dir(tmp_path: Path) -> None:
    """A command started while another's `.git` placeholder existed took it for a repository
    and mounted its own placeholders inside it; the `.git` dir was then left behind, and the
    folder looked like a repository (another project root) to the next skipjack."""
    import asyncio

    from skipjack.agent.tool import ToolContext
    from skipjack.safety.sandbox import sandbox_for
    from skipjack.tools.bash import BashArgs, BashTool

    root = tmp_path / "plain"
    root.mkdir()
    policy = sandbox_for("auto-edit", root)
    tool = BashTool(sandbox=lambda: policy)

    async def together() -> None:
        calls = [
            tool.execute(BashArgs(command=f"sleep 0.{i}; echo {i} > f{i}", timeout=30), ToolContext(cwd=root))
            for i in range(4)
        ]
        await asyncio.wait_for(asyncio.gather(*calls), 60)

    asyncio.run(together())
    assert sorted(p.name for p in root.iterdir()) == ["f0", "f1", "f2", "f3"]


def test_a_line_with_astral_characters_cannot_crash_the_parser() -> None:
    """tree-sitter-bash's scanner segfaulted (the whole skipjack process) on some lines with
    characters beyond U+FFFF, now and then: this one within a few hundred parses. Found by the
    deny fuzz test. Such a line is opaque instead, so a deny rule still asks."""
    import sys

    from skipjack.safety.policy import ApprovalPolicy, Decision

    crasher = "°{\U000d8237\x06\U0010edb4Ê\x95íG\U00089256\U000e65cfõm"
    code = (
        "from skipjack.safety.commands import parse_command_line\n"
        f"for _ in range(3000): parse_command_line({crasher!r})\n"
        "print('survived')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-500:]
    assert "survived" in done.stdout
    policy = ApprovalPolicy("yolo", Path("/"), sandboxed=True, deny=["bash: rm -rf *"])
    verdict = policy.check("bash", {"command": "echo 🐛; rm -rf x"})
    assert verdict.decision is Decision.ASK, verdict
