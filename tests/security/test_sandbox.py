"""The OS sandbox, for real: every command runs through `BashTool` inside bubblewrap.

Read-only mode must hold against each writer that got past the plan policy's string matching
(issue 12); workspace-write must keep `.git/config`, hooks and `.skipjack/` out of reach while
git itself still works; and nothing a command starts may outlive it, in any mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from skipjack.agent.tool import ToolContext, ToolOutput
from skipjack.config.schema import ApprovalMode
from skipjack.llm.types import TextContent
from skipjack.safety.policy import ApprovalPolicy, Decision
from skipjack.safety.sandbox import SandboxPolicy, check_support, probe, sandbox_for, wrap
from skipjack.tools._rg import rg_binary
from skipjack.tools.bash import BashArgs, BashTool

# CI sets SKIPJACK_REQUIRE_SANDBOX=1 so that a machine without a working bubblewrap fails
# these tests instead of skipping them.
REQUIRED = os.environ.get("SKIPJACK_REQUIRE_SANDBOX") == "1"
pytestmark = pytest.mark.skipif(not probe().available and not REQUIRED, reason=f"no sandbox here: {probe().reason}")

SECRET = "s3cr3t-" + uuid.uuid4().hex


def text_of(out: ToolOutput) -> str:
    return "\n".join(b.text for b in out.content if isinstance(b, TextContent))


async def run(policy: SandboxPolicy | None, command: str, cwd: Path, **kw: object) -> ToolOutput:
    tool = BashTool(sandbox=lambda: policy)
    args = BashArgs(command=command, timeout=30, **kw)  # type: ignore[arg-type]
    return await asyncio.wait_for(tool.execute(args, ToolContext(cwd=cwd)), 60)


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=30).stdout


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME of our own (under /tmp, which the sandbox replaces: it must still be readable)."""
    home = tmp_path / "home user"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text(SECRET)
    (home / ".aws").mkdir()
    (home / ".aws" / "credentials").write_text(f"aws_secret_access_key = {SECRET}\n")
    (home / ".netrc").write_text(f"machine x password {SECRET}\n")
    (home / ".config" / "skipjack").mkdir(parents=True)
    (home / ".config" / "skipjack" / "config.toml").write_text(f'[keys]\nopenai = "{SECRET}"\n')
    (home / "notes.txt").write_text("readable\n")
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture
def outside(home: Path) -> Path:
    """A directory outside the project that the sandbox shows (read-only)."""
    out = home / "outside"
    out.mkdir()
    (out / "keep.txt").write_text("outside\n")
    return out


@pytest.fixture
def project(tmp_path: Path, outside: Path) -> Path:
    proj = tmp_path / "proj ect"
    (proj / "sub").mkdir(parents=True)
    (proj / "a.txt").write_text("a\nb\na\n")
    (proj / "sub" / "c.txt").write_text("c\n")
    (proj / ".skipjack").mkdir()
    (proj / ".skipjack" / "config.toml").write_text('model = "x/y"\n')
    (proj / "out").symlink_to(outside)
    git(proj, "init", "-q", "-b", "main")
    git(proj, "config", "user.email", "t@example.invalid")
    git(proj, "config", "user.name", "t")
    git(proj, "add", "-A")
    git(proj, "commit", "-qm", "init")
    git(proj, "branch", "side")
    return proj


def user_config_dir(home: Path) -> Path:
    return home / ".config" / "skipjack"


def read_only(project: Path, home: Path) -> SandboxPolicy:
    return sandbox_for("plan", project, user_config_dir=user_config_dir(home))


def workspace(project: Path, home: Path, **kw: bool) -> SandboxPolicy:
    return sandbox_for("ask", project, user_config_dir=user_config_dir(home), **kw)


def snapshot(*roots: Path) -> dict[str, tuple[str, int]]:
    """Every path under `roots` (not following symlinks) with a hash of its content and its mode."""
    seen: dict[str, tuple[str, int]] = {}
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            for name in dirnames + filenames:
                path = Path(dirpath, name)
                st = path.lstat()
                if stat.S_ISLNK(st.st_mode):
                    digest = "link:" + os.readlink(path)
                elif stat.S_ISREG(st.st_mode):
                    digest = hashlib.sha256(path.read_bytes()).hexdigest()
                else:
                    digest = "dir"
                seen[str(path)] = (digest, st.st_mode)
    return seen


# -- read-only (plan) ----------------------------------------------------------------------

WRITERS = [
    "env rm -f a.txt",
    "env -i /bin/sh -c 'rm a.txt'",
    "{rg} --pre rm a .",
    "git status 2>err.txt",
    "echo x 1>x.txt",
    "echo x 9>x.txt",
    "echo x >> a.txt",
    "echo x >| ' spaced.txt'",
    "sed -i.bak s/a/b/ a.txt",
    "sed -n '1e touch made.txt' a.txt",
    "sed 's/a/b/w w.txt' a.txt",
    "sort -o a.txt a.txt",
    "uniq a.txt out.txt",
    "find . -fprint0 found.txt",
    "git branch -D side",
    "git remote add evil https://example.invalid/x.git",
    "git config core.fsmonitor 'touch pwned'",
    "git rm -q a.txt",
    "git gc --prune=now",
    "rm -rf ./* .git .skipjack",
    "mv a.txt b.txt",
    "chmod 000 a.txt",
    "truncate -s 0 a.txt",
    "ln a.txt hard.txt",
    "mkdir newdir",
    "touch ~/x",
    "touch ~/.ssh/authorized_keys",
    "echo x > ~/.config/skipjack/config.toml",
    "echo x >/tmp/../x-{tag}",
    "echo x > out/keep.txt",
    "rm -f out/keep.txt",
    "cd sub && echo x > ../../escape-{tag}",
    "echo x > ~/outside/new.txt",
    "cp a.txt ~/outside/keep.txt",
    "python3 -c \"open('a.txt', 'w').write('gone')\"",
    "bash -c 'exec 3>a.txt'",
    "nohup rm -f a.txt",
    "setsid rm -f a.txt",
    "xargs rm -f <<< a.txt",
    "timeout 5 rm -f a.txt",
]


@pytest.mark.parametrize("command", WRITERS)
async def test_read_only_mode_writes_nothing(command: str, project: Path, home: Path, outside: Path) -> None:
    tag = uuid.uuid4().hex
    command = command.format(rg=rg_binary(), tag=tag)
    before = snapshot(project, home, outside)
    out = await run(read_only(project, home), command, project)
    assert snapshot(project, home, outside) == before, text_of(out)
    assert not Path(f"/x-{tag}").exists()
    assert not (project.parent / f"escape-{tag}").exists()


@pytest.mark.parametrize("command", WRITERS)
async def test_each_writer_does_write_outside_the_sandbox(
    command: str, project: Path, home: Path, outside: Path
) -> None:
    """The control for the test above: each command line really writes when not confined."""
    tag = uuid.uuid4().hex
    command = command.format(rg=rg_binary(), tag=tag)
    before = snapshot(project, home, outside)
    out = await run(sandbox_for("yolo", project), command, project)
    stray = [Path(f"/x-{tag}"), project.parent / f"escape-{tag}"]
    try:
        assert snapshot(project, home, outside) != before or any(p.exists() for p in stray), text_of(out)
    finally:
        for path in stray:
            path.unlink(missing_ok=True)


async def test_read_only_mode_cannot_set_the_clock(project: Path, home: Path) -> None:
    before = time.time()
    out = await run(read_only(project, home), "date -s '2001-01-01 00:00:00'", project)
    assert out.is_error
    assert abs(time.time() - before) < 60


async def test_read_only_mode_still_reads_and_has_a_private_tmp(project: Path, home: Path) -> None:
    tag = uuid.uuid4().hex
    command = (
        f"pwd; cat ../a.txt ~/notes.txt; echo $TMPDIR; echo t > /tmp/{tag} && cat /tmp/{tag}; git log --oneline | wc -l"
    )
    out = await run(read_only(project, home), command, project / "sub")
    assert not out.is_error, text_of(out)
    lines = text_of(out).splitlines()
    assert lines[0] == str(project / "sub")
    assert lines[1:5] == ["a", "b", "a", "readable"]
    assert lines[5] == "/tmp"
    assert lines[6] == "t"
    assert lines[7] == "1"
    assert not Path("/tmp", tag).exists()  # the sandbox's /tmp is its own


@pytest.mark.parametrize("mode", ["plan", "ask"])
async def test_secrets_are_hidden(mode: str, project: Path, home: Path) -> None:
    policy = sandbox_for(mode, project, user_config_dir=user_config_dir(home))
    host_shadow = Path("/etc/shadow").read_text() if os.access("/etc/shadow", os.R_OK) else ""
    command = (
        "cat /etc/shadow ~/.ssh/id_ed25519 ~/.aws/credentials ~/.netrc ~/.config/skipjack/config.toml; ls -a ~/.ssh"
    )
    out = await run(policy, command, project)
    text = text_of(out)
    assert SECRET not in text
    if host_shadow:
        assert host_shadow.splitlines()[0] not in text
    assert "id_ed25519" not in text.splitlines()  # `ls -a ~/.ssh` lists nothing


async def test_secrets_stay_hidden_when_the_project_is_home(home: Path) -> None:
    git(home, "init", "-q")
    policy = sandbox_for("ask", home, user_config_dir=user_config_dir(home))
    command = (
        "cat ~/.ssh/id_ed25519 ~/.config/skipjack/config.toml; echo k > ~/.ssh/authorized_keys; "
        "echo x > ~/.config/skipjack/config.toml; echo ok > ~/notes.txt"
    )
    out = await run(policy, command, home)
    assert SECRET not in text_of(out)
    assert (home / "notes.txt").read_text() == "ok\n"  # the project itself is writable
    assert not (home / ".ssh" / "authorized_keys").exists()
    assert SECRET in (home / ".config" / "skipjack" / "config.toml").read_text()


# -- workspace-write -----------------------------------------------------------------------


async def test_workspace_write_edits_the_project_and_commits(project: Path, home: Path) -> None:
    command = "echo new > a.txt && echo n > sub/new.txt && git add -A && git commit -qm 'from the sandbox' && echo ok"
    out = await run(workspace(project, home), command, project)
    assert not out.is_error, text_of(out)
    assert (project / "a.txt").read_text() == "new\n"
    assert (project / "sub" / "new.txt").read_text() == "n\n"
    assert git(project, "log", "--format=%s", "-1").strip() == "from the sandbox"
    assert git(project, "status", "--porcelain") == ""


# Prints a git config whose fsmonitor runs a command on the next `git status`.
PLANT_FSMONITOR = "printf '[core]\\n\\tfsmonitor = \"touch pwned; false\"\\n'"

PROTECTED_WRITES = [
    "echo '[core]' >> .git/config",
    "git config core.fsmonitor 'touch pwned'",
    "git config --local core.hooksPath /tmp",
    "sed -i 's/bare/evil/' .git/config",
    "cp .git/config c && echo '[core] fsmonitor = x' >> c && mv -f c .git/config",
    "rm -f .git/config",
    "ln -sf /tmp/x .git/config",
    "cd .git && echo x >> ./config",
    "echo x >> .git/../.git/config",
    "ln -s .git/config c && echo x >> c",
    "echo 'touch pwned' > .git/hooks/pre-commit && chmod +x .git/hooks/pre-commit",
    "rm -rf .git/hooks",
    "mv .git/hooks .git/hooks2 && mkdir .git/hooks && echo x > .git/hooks/pre-commit",
    "mv .git .git2 && mkdir .git && cp -r .git2/* .git/ && echo x > .git/hooks/post-checkout",
    "mkdir ../evil && " + PLANT_FSMONITOR + " > ../evil/config; echo ../evil > .git/commondir",
    "mkdir evil && cp -r .git/objects .git/refs .git/HEAD evil/ && "
    + PLANT_FSMONITOR
    + " > evil/config && echo ../evil > .git/commondir",
    PLANT_FSMONITOR + " > .git/config.worktree",
    "mkdir -p .git/worktrees/w && echo /tmp > .git/worktrees/w/commondir",
    "echo 'approval_mode = \"yolo\"' > .skipjack/config.toml",
    "rm -rf .skipjack",
    "mv .skipjack .sk && mkdir .skipjack && echo x > .skipjack/config.toml",
    "echo x > ~/.config/skipjack/config.toml",
    "echo x > ~/outside/keep.txt",
    "echo x > out/new.txt",
    "echo x > ../escape-{tag}",
    "touch ~/x",
    "echo x > /etc/skipjack-{tag}",
]


@pytest.mark.parametrize("command", PROTECTED_WRITES)
async def test_workspace_write_keeps_protected_paths(command: str, project: Path, home: Path, outside: Path) -> None:
    tag = uuid.uuid4().hex
    git_dir = project / ".git"
    protected = (git_dir / "config", git_dir / "hooks", project / ".skipjack")
    before = snapshot(*protected, home, outside)
    config = (project / ".git" / "config").read_bytes()
    out = await run(workspace(project, home), command.format(tag=tag), project)
    assert (project / ".git" / "config").read_bytes() == config, text_of(out)
    assert snapshot(*protected, home, outside) == before, text_of(out)
    assert not (project / "pwned").exists()
    for name in ("commondir", "config.worktree"):
        assert not (git_dir / name).exists(), text_of(out)  # not written, and no placeholder left
    git(project, "status")  # would run an fsmonitor planted through commondir or config.worktree
    assert not (project / "pwned").exists()
    assert not Path(f"/etc/skipjack-{tag}").exists()
    assert not (project.parent / f"escape-{tag}").exists()
    assert git(project, "log", "--oneline")  # still a working repository


@pytest.mark.parametrize("command", PROTECTED_WRITES)
async def test_each_protected_write_does_write_with_full_access(
    command: str, project: Path, home: Path, outside: Path
) -> None:
    """The control for the test above: unconfined, each command line changes what it aims at."""
    tag = uuid.uuid4().hex
    before = snapshot(project / ".git", project / ".skipjack", home, outside)
    out = await run(sandbox_for("yolo", project), command.format(tag=tag), project)
    stray = [Path(f"/etc/skipjack-{tag}"), project.parent / f"escape-{tag}"]
    try:
        with contextlib.suppress(subprocess.CalledProcessError):
            git(project, "status")
        changed = snapshot(project / ".git", project / ".skipjack", home, outside) != before
        assert changed or (project / "pwned").exists() or any(p.exists() for p in stray), text_of(out)
    finally:
        for path in stray:
            path.unlink(missing_ok=True)


@pytest.mark.parametrize("missing", [".git/hooks", ".skipjack"])
async def test_missing_protected_dirs_cannot_be_created_and_leave_no_trace(
    missing: str, project: Path, home: Path
) -> None:
    target = project / missing
    shutil.rmtree(target)
    command = f"mkdir -p {missing}; echo x > {missing}/config.toml; echo x > {missing}/pre-commit"
    out = await run(workspace(project, home), command, project)
    assert out.is_error
    assert not target.exists(), text_of(out)
    # Commits still work without a hooks dir.
    out = await run(workspace(project, home), "echo y >> a.txt && git commit -qam y && echo ok", project)
    assert not out.is_error, text_of(out)
    assert not target.exists()


@pytest.mark.parametrize("exists", [True, False])
async def test_a_hooks_path_in_the_work_tree_stays_read_only(exists: bool, project: Path, home: Path) -> None:
    """husky's setup: `core.hooksPath = .husky`, hooks as files of the work tree."""
    git(project, "config", "core.hooksPath", ".husky")
    if exists:
        (project / ".husky").mkdir()
    command = "mkdir -p .husky; echo 'touch pwned' > .husky/pre-commit; chmod +x .husky/pre-commit"
    out = await run(workspace(project, home), command, project)
    assert out.is_error
    assert not (project / ".husky" / "pre-commit").exists(), text_of(out)
    assert (project / ".husky").exists() == exists  # no placeholder left behind
    out = await run(workspace(project, home), "echo y >> a.txt && git commit -qam y && echo ok", project)
    assert not out.is_error, text_of(out)
    assert not (project / "pwned").exists()


async def test_a_placeholder_outlives_the_first_of_two_concurrent_commands(project: Path, home: Path) -> None:
    shutil.rmtree(project / ".skipjack")
    policy = workspace(project, home)
    # The first command creates the placeholder and ends while the second still runs.
    first = asyncio.create_task(run(policy, "sleep 1", project))
    await asyncio.sleep(0.4)
    long = asyncio.create_task(run(policy, "sleep 2; mkdir -p .skipjack; echo x > .skipjack/config.toml", project))
    out = await first
    assert not out.is_error
    out = await long
    assert out.is_error
    assert not (project / ".skipjack").exists(), text_of(out)


async def test_a_project_without_git_cannot_plant_a_repository(tmp_path: Path, home: Path) -> None:
    proj = tmp_path / "plain"
    proj.mkdir()
    out = await run(workspace(proj, home), "echo ok > f.txt; git init -q . ; mkdir -p .git/hooks", proj)
    assert (proj / "f.txt").read_text() == "ok\n"
    assert not (proj / ".git").exists(), text_of(out)
    assert sorted(p.name for p in proj.iterdir()) == ["f.txt"]


class Listener:
    """A TCP listener on 127.0.0.1 outside the sandbox that counts the connections it accepts."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self.sock.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    server = Listener()
    yield server
    server.close()


CONNECTS = [
    "exec 3<>/dev/tcp/127.0.0.1/{port}",
    "python3 -c \"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=5)\"",
    "python3 -c \"import socket; socket.create_connection(('localhost', {port}), timeout=5)\"",
]


@pytest.mark.parametrize("command", CONNECTS)
@pytest.mark.parametrize("mode", ["plan", "ask"])
async def test_network_is_off(command: str, mode: str, project: Path, home: Path, listener: Listener) -> None:
    policy = sandbox_for(mode, project, user_config_dir=user_config_dir(home))
    out = await run(policy, command.format(port=listener.port), project)
    assert out.is_error
    assert listener.accepted == 0
    assert "sandbox=false" in text_of(out)


@pytest.mark.parametrize("policy_of", ["network-on", "yolo", "sandbox=false"])
async def test_network_where_allowed(policy_of: str, project: Path, home: Path, listener: Listener) -> None:
    """The other side of `test_network_is_off`: the same connection works where allowed."""
    if policy_of == "network-on":
        policy, kw = workspace(project, home, network=True), {}
    elif policy_of == "yolo":
        policy, kw = sandbox_for("yolo", project), {}
    else:
        policy, kw = workspace(project, home), {"sandbox": False}
    out = await run(policy, CONNECTS[0].format(port=listener.port), project, **kw)
    assert not out.is_error, text_of(out)
    for _ in range(50):
        if listener.accepted:
            break
        await asyncio.sleep(0.05)
    assert listener.accepted == 1


@pytest.mark.skipif(not os.access("/run", os.W_OK), reason="needs a writable /run to place a socket")
@pytest.mark.parametrize("mode", ["plan", "ask", "yolo"])
async def test_host_sockets_under_run_are_out_of_reach(mode: str, project: Path, home: Path) -> None:
    """A read-only mount does not stop connect(): /run's sockets (docker, systemd, D-Bus) would
    run anything as anyone, so confined commands must not see them at all."""
    path = Path("/run", f"skipjack-test-{uuid.uuid4().hex[:12]}.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    try:
        code = f"import socket; s = socket.socket(socket.AF_UNIX); s.connect({str(path)!r}); print('connected')"
        policy = sandbox_for(mode, project, user_config_dir=user_config_dir(home))
        out = await run(policy, f'python3 -c "{code}"', project)
        if mode == "yolo":  # the control: the same connection works with full access
            assert "connected" in text_of(out), text_of(out)
        else:
            assert out.is_error
            assert "connected" not in text_of(out)
    finally:
        server.close()
        path.unlink()


# -- denial notes and sandbox=false --------------------------------------------------------


async def test_a_denied_write_says_the_sandbox_blocked_it(project: Path, home: Path, outside: Path) -> None:
    out = await run(workspace(project, home), "echo x > ~/outside/new.txt", project)
    text = text_of(out)
    assert out.is_error
    assert "the sandbox (workspace-write) blocked this" in text
    assert "call bash again with sandbox=false (the user will be asked)" in text
    assert out.details is not None
    assert out.details["sandbox"] == "workspace-write"
    assert out.details["sandbox_blocked"]
    assert not (outside / "new.txt").exists()


async def test_protected_path_denial_and_read_only_denial_carry_the_note(project: Path, home: Path) -> None:
    out = await run(workspace(project, home), "git config core.fsmonitor x", project)
    assert "the sandbox (workspace-write) blocked this" in text_of(out)
    out = await run(read_only(project, home), "touch a.txt", project)
    assert "the sandbox (read-only) blocked this" in text_of(out)


@pytest.mark.parametrize(
    "command",
    [
        "echo nope; exit 3",
        "printf '#!/bin/sh\\n' > s.sh && chmod -x s.sh && ./s.sh",  # Permission denied, not the sandbox
        "cat does-not-exist",
        "git checkout no-such-branch",
    ],
)
async def test_ordinary_failures_get_no_note(command: str, project: Path, home: Path) -> None:
    out = await run(workspace(project, home), command, project)
    assert out.is_error
    assert "sandbox" not in text_of(out)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root loses capabilities to the sandbox")
async def test_a_dropped_capability_carries_the_note(project: Path, home: Path) -> None:
    out = await run(read_only(project, home), "date -s '2001-01-01 00:00:00'", project)
    assert "the sandbox (read-only) blocked this: a privileged action" in text_of(out)


async def test_ordinary_success_gets_no_note(project: Path, home: Path) -> None:
    out = await run(workspace(project, home), "echo x > a.txt", project)
    assert not out.is_error
    assert "sandbox" not in text_of(out)


async def test_sandbox_false_runs_outside(project: Path, home: Path, outside: Path) -> None:
    command = "echo x > ~/outside/new.txt && cat ~/.ssh/id_ed25519"
    out = await run(read_only(project, home), command, project, sandbox=False)
    assert not out.is_error, text_of(out)
    assert SECRET in text_of(out)
    assert (outside / "new.txt").read_text() == "x\n"
    assert out.details is not None
    assert out.details["sandbox"] == "full-access"


@pytest.mark.parametrize("mode", ["plan", "ask", "auto-edit"])
def test_the_approval_policy_never_lets_a_command_leave_the_sandbox_unasked(mode: ApprovalMode, project: Path) -> None:
    policy = ApprovalPolicy(mode, project, sandboxed=True, allow=["bash: *", "bash: env *"])
    # Plan mode refuses outright (it promises read-only); the others ask, never offering "always".
    expected = Decision.DENY if mode == "plan" else Decision.ASK
    for args in ({"command": "env rm -f a.txt", "sandbox": False}, BashArgs(command="ls", sandbox=False)):
        verdict = policy.check("bash", args)
        assert verdict.decision is expected
        assert verdict.suggested_rule is None
    assert policy.check("bash", BashArgs(command="ls")).decision is Decision.ALLOW
    denied = ApprovalPolicy(mode, project, sandboxed=True, deny=["bash: env *"])
    assert denied.check("bash", {"command": "env x", "sandbox": False}).decision is Decision.DENY


async def test_the_provider_is_read_at_each_call(project: Path, home: Path) -> None:
    current = {"mode": "plan"}
    tool = BashTool(sandbox=lambda: sandbox_for(current["mode"], project, user_config_dir=user_config_dir(home)))
    ctx = ToolContext(cwd=project)
    out = await tool.execute(BashArgs(command="echo 1 > n.txt", timeout=30), ctx)
    assert out.is_error
    assert not (project / "n.txt").exists()
    current["mode"] = "auto-edit"
    out = await tool.execute(BashArgs(command="echo 1 > n.txt", timeout=30), ctx)
    assert not out.is_error
    assert (project / "n.txt").exists()


# -- nothing outlives the command ----------------------------------------------------------


def live_with(marker: str) -> list[str]:
    """Live (non-zombie) processes whose command line contains `marker`, from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if marker in cmdline and state not in ("Z", "X") and "bwrap" not in cmdline.split(" ", 1)[0]:
            found.append(f"{entry.name} {state} {cmdline}")
    return found


def sleepers(marker: str) -> set[str]:
    """Which of the five escaped `sleep`s are running (forks of the shell share its cmdline)."""
    cmdlines = (line.split(" ", 2)[2].strip() for line in live_with(marker))
    return {cmdline for cmdline in cmdlines if cmdline.startswith("sleep ")}


def escapers(marker: str) -> str:
    """Background children that leave the process group in every way a shell can."""
    return (
        f"setsid sleep {marker}1 & nohup sleep {marker}2 >/dev/null 2>&1 & "
        f"(sleep {marker}3 &) & bash -c 'setsid bash -c \"sleep {marker}4 & wait\" &' ; "
        f"setsid -f sleep {marker}5; disown -a; echo started"
    )


def policy_named(name: str, project: Path, home: Path) -> tuple[SandboxPolicy, dict[str, object]]:
    if name == "sandbox=false":
        return workspace(project, home), {"sandbox": False}
    return sandbox_for(name, project, user_config_dir=user_config_dir(home)), {}


MODES = ["plan", "ask", "yolo", "sandbox=false"]


def unique_marker() -> str:
    # `sleep 1000.<digits>N` sleeps long and names itself uniquely in /proc.
    return f"1000.{uuid.uuid4().int % 10**12:012d}"


@pytest.mark.parametrize("mode", MODES)
async def test_escaped_children_end_with_the_command(mode: str, project: Path, home: Path) -> None:
    marker = unique_marker()
    policy, kw = policy_named(mode, project, home)
    probe_ps = f"; sleep 0.3; ps -eo args | grep '^sleep {marker}' | sort -u | wc -l"
    out = await run(policy, escapers(marker) + probe_ps, project, **kw)
    assert "started" in text_of(out), text_of(out)
    # All five were running while the command ran.
    assert text_of(out).splitlines()[1].strip() == "5", text_of(out)
    await asyncio.sleep(0.2)
    assert live_with(marker) == []


@pytest.mark.parametrize("mode", MODES)
async def test_escaped_children_end_on_abort(mode: str, project: Path, home: Path) -> None:
    marker = unique_marker()
    policy, kw = policy_named(mode, project, home)
    task = asyncio.create_task(run(policy, escapers(marker) + "; sleep 100", project, **kw))
    for _ in range(200):
        if len(sleepers(marker)) == 5:
            break
        await asyncio.sleep(0.05)
    assert len(sleepers(marker)) == 5
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert live_with(marker) == []


async def test_escaped_children_end_on_timeout(project: Path, home: Path) -> None:
    marker = unique_marker()
    tool = BashTool(sandbox=lambda: workspace(project, home))
    args = BashArgs(command=escapers(marker) + "; sleep 100", timeout=1)
    out = await asyncio.wait_for(tool.execute(args, ToolContext(cwd=project)), 30)
    assert out.details is not None
    assert out.details["timed_out"]
    assert live_with(marker) == []


def test_killing_the_bwrap_group_kills_everything_inside(project: Path, home: Path) -> None:
    """What stop_group and a dying skipjack do: SIGKILL to bwrap's group, nothing else."""
    marker = unique_marker()
    argv = wrap(["bash", "-c", escapers(marker) + "; sleep 100"], workspace(project, home), project)
    proc = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(200):
            if len(sleepers(marker)) == 5:
                break
            time.sleep(0.05)
        assert len(sleepers(marker)) == 5
        os.killpg(proc.pid, 9)
        proc.wait(10)
        for _ in range(100):
            if not live_with(marker):
                break
            time.sleep(0.02)
        assert live_with(marker) == []
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("mode", ["ask", "yolo"])
def test_nothing_outlives_a_killed_skipjack(sig: signal.Signals, mode: str, project: Path, home: Path) -> None:
    """skipjack itself dies mid-command (kill -9, or a signal it does not handle): bwrap dies
    with its parent and takes every process of the sandbox with it."""
    marker = unique_marker()
    code = f"""
import asyncio
from pathlib import Path
from skipjack.agent.tool import ToolContext
from skipjack.safety.sandbox import sandbox_for
from skipjack.tools.bash import BashArgs, BashTool
root = Path({str(project)!r})
tool = BashTool(sandbox=lambda: sandbox_for({mode!r}, root))
asyncio.run(tool.execute(BashArgs(command={escapers(marker) + "; sleep 100"!r}, timeout=100), ToolContext(cwd=root)))
"""
    agent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if len(sleepers(marker)) == 5:
                break
            time.sleep(0.05)
        assert len(sleepers(marker)) == 5
        agent.send_signal(sig)
        agent.wait(10)
        for _ in range(100):
            if not live_with(marker):
                break
            time.sleep(0.02)
        assert live_with(marker) == []
    finally:
        if agent.poll() is None:
            agent.kill()


# -- support ---------------------------------------------------------------------------------


def test_probe_without_bwrap_gives_a_reason(tmp_path: Path) -> None:
    code = "from skipjack.safety.sandbox import probe; s = probe(); print(s.available); print(s.reason)"
    env = dict(os.environ, PATH=str(tmp_path))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=30)
    available, reason = done.stdout.splitlines()
    assert available == "False"
    assert "bwrap" in reason


def test_a_bwrap_that_cannot_start_a_sandbox_gives_its_reason(tmp_path: Path) -> None:
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    support = check_support(str(fake))
    assert not support.available
    assert "No permissions to create new namespace" in support.reason


def test_without_bwrap_a_sandboxed_command_is_refused_not_run_plainly(tmp_path: Path) -> None:
    """Never silently unsandboxed: the tool says why and runs nothing; yolo runs plainly."""
    code = f"""
import asyncio
from pathlib import Path
from skipjack.agent.tool import ToolContext
from skipjack.safety.sandbox import sandbox_for
from skipjack.tools.bash import BashArgs, BashTool
root = Path({str(tmp_path)!r})
async def main():
    for mode in ("plan", "ask", "yolo"):
        tool = BashTool(sandbox=lambda: sandbox_for(mode, root))
        out = await tool.execute(BashArgs(command=f"/usr/bin/touch {{mode}}.txt", timeout=10), ToolContext(cwd=root))
        print(mode, out.is_error, out.content[0].text.replace(chr(10), " "))
asyncio.run(main())
"""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "bash").symlink_to("/bin/bash")
    env = dict(os.environ, PATH=str(bin_dir))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stderr
    assert lines[0].startswith("plan True The read-only sandbox cannot run here")
    assert "sandbox=false" in lines[0]
    assert lines[1].startswith("ask True The workspace-write sandbox cannot run here")
    assert lines[2].startswith("yolo False")
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".txt") == ["yolo.txt"]


def test_sandbox_for_maps_approval_modes() -> None:
    root = Path("/tmp")
    assert sandbox_for("plan", root).mode == "read-only"
    assert sandbox_for("ask", root).mode == "workspace-write"
    assert sandbox_for("auto-edit", root).mode == "workspace-write"
    assert sandbox_for("yolo", root).mode == "full-access"
    assert not sandbox_for("plan", root).network
    assert not sandbox_for("ask", root).network
    assert sandbox_for("yolo", root).network
    assert sandbox_for("ask", root, network=True).network
    assert sandbox_for("plan", root).writable_roots == ()
    assert sandbox_for("ask", root).writable_roots == (root.resolve(),)


def test_placeholder_sources_are_not_taken_from_a_dir_others_can_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from skipjack.safety import sandbox

    shared = tmp_path / f"skipjack-sandbox-{os.getuid()}"
    shared.mkdir()
    shared.chmod(0o777)  # as another user could leave it in a shared /tmp
    (shared / "placeholder-2e0a").write_bytes(b"../evil\n")
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    sandbox._source_dir.cache_clear()
    sandbox._placeholder_file.cache_clear()
    try:
        path = sandbox._placeholder_file(b".\n")
        assert path.parent != shared
        assert path.read_bytes() == b".\n"
    finally:
        sandbox._source_dir.cache_clear()
        sandbox._placeholder_file.cache_clear()


def test_placeholder_sources_are_reused_across_processes() -> None:
    code = "from skipjack.safety.sandbox import _placeholder_file; print(_placeholder_file(b'.\\n'))"
    paths = {
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True).stdout
        for _ in range(2)
    }
    assert len(paths) == 1
    assert Path(paths.pop().strip()).read_bytes() == b".\n"


CONNECT_SCRIPT = "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)"


@pytest.mark.parametrize(
    ("line", "gets_network"),
    [
        ("python3 connect.py {port}", True),
        ("/usr/bin/python3 connect.py {port}", True),
        ("timeout 20 python3 connect.py {port}", True),
        ("python3 connect.py {port} && python3 connect.py {port}", True),
        # A second command the rule does not name must not ride on the first one's network.
        ("python3 connect.py {port}; exec 3<>/dev/tcp/127.0.0.1/{port}", False),
        ("true && python3 connect.py {port}", False),
        ("python3 other.py {port}", False),
        ("eval 'python3 connect.py {port}'", False),
        ("$(echo python3) connect.py {port}", False),
    ],
)
async def test_network_commands_get_the_network_and_nothing_else_does(
    line: str, gets_network: bool, project: Path, home: Path, listener: Listener
) -> None:
    """`[sandbox] network_commands`: the network per rule, for whole parsed lines only."""
    for name in ("connect.py", "other.py"):
        (project / name).write_text(CONNECT_SCRIPT)
    policy = sandbox_for(
        "ask", project, user_config_dir=user_config_dir(home), network_commands=("python3 connect.py *",)
    )
    out = await run(policy, line.format(port=listener.port), project)
    for _ in range(20 if gets_network else 4):
        if listener.accepted:
            break
        await asyncio.sleep(0.05)
    assert (listener.accepted > 0) is gets_network, text_of(out)
