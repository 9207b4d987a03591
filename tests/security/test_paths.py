"""One path function: the policy judges exactly the file the tools write (issue 12: `~`,
`~user`, `./~/`, whitespace, `..`, symlinked dirs, dangling symlinks)."""

from __future__ import annotations

import asyncio
import getpass
import os
import pwd
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from skipjack.agent.tool import ToolContext
from skipjack.safety import ApprovalPolicy, Decision
from skipjack.tools.bash import BashArgs, BashTool
from skipjack.tools.write import WriteArgs, WriteTool


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A project (a git repo) and a HOME outside it, with links from one to the other."""
    project = tmp_path / "project"
    home = tmp_path / "home"
    for d in (project / ".git", project / "src", project / "~", home / "dir"):
        d.mkdir(parents=True)
    (home / ".bashrc").write_text("# user's\n")
    (project / "home-link").symlink_to(home)
    (project / "src" / "up").symlink_to(project.parent)
    (project / "dangling").symlink_to(home / ".bashrc_new")
    (project / "inner-dangling").symlink_to(project / "src" / "made-by-link.txt")
    monkeypatch.setenv("HOME", str(home))
    return project, home


def write(project: Path, raw: str, content: str = "x\n") -> tuple[bool, str]:
    out = asyncio.run(WriteTool(project).execute(WriteArgs(path=raw, content=content), ToolContext(cwd=project)))
    return not out.is_error, str((out.details or {}).get("path", ""))


BASHRC_SPELLINGS = [
    "~/.bashrc",
    " ~/.bashrc",
    "\t~/.bashrc",
    "~/.bashrc ",
    "\n~/.bashrc\n",
    "~//.bashrc",
    "~/./.bashrc",
    "~/dir/../.bashrc",
    "{home}/.bashrc",
    " {home}/.bashrc",
    "../home/.bashrc",
    "./../home/.bashrc",
    "src/../../home/.bashrc",
    "src/up/home/.bashrc",
    "home-link/.bashrc",
    " home-link/./.bashrc",
    "home-link/dir/../.bashrc",
]


@pytest.mark.parametrize("spelling", BASHRC_SPELLINGS)
@pytest.mark.parametrize("tool", ["write", "edit"])
def test_auto_edit_asks_for_the_users_bashrc_in_every_spelling(
    world: tuple[Path, Path], spelling: str, tool: str
) -> None:
    project, home = world
    raw = spelling.format(home=home)
    policy = ApprovalPolicy("auto-edit", project, sandboxed=True)
    verdict = policy.check(tool, {"path": raw, "content": "", "old_text": "a", "new_text": "b"})
    assert verdict.decision is Decision.ASK, verdict.reason
    assert "outside the project" in verdict.reason
    assert policy.target(raw) == home / ".bashrc"
    assert ApprovalPolicy("plan", project, sandboxed=True).check(tool, {"path": raw}).decision is Decision.DENY


def test_tilde_user_is_that_users_home(world: tuple[Path, Path]) -> None:
    project, _ = world
    user = getpass.getuser()
    raw = f"~{user}/.bashrc"
    policy = ApprovalPolicy("auto-edit", project, sandboxed=True)
    assert policy.target(raw) == Path(os.path.realpath(pwd.getpwnam(user).pw_dir)) / ".bashrc"
    assert policy.check("write", {"path": raw}).decision is Decision.ASK
    # An unknown user stays a literal relative name, as in the shell: inside the project.
    assert policy.target("~no-such-user-xyz/f") == project / "~no-such-user-xyz" / "f"


def test_a_literal_tilde_directory_is_inside_and_both_agree(world: tuple[Path, Path]) -> None:
    project, home = world
    policy = ApprovalPolicy("auto-edit", project, sandboxed=True)
    assert policy.check("write", {"path": "./~/.bashrc"}).decision is Decision.ALLOW
    ok, where = write(project, "./~/.bashrc", "inside\n")
    assert ok
    assert Path(where) == project / "~" / ".bashrc" == policy.target("./~/.bashrc")
    assert (home / ".bashrc").read_text() == "# user's\n"


def test_a_dangling_symlink_is_judged_by_where_the_write_lands(world: tuple[Path, Path]) -> None:
    project, home = world
    policy = ApprovalPolicy("auto-edit", project, sandboxed=True)
    assert policy.target("dangling") == home / ".bashrc_new"
    assert policy.check("write", {"path": "dangling"}).decision is Decision.ASK
    assert policy.check("write", {"path": "inner-dangling"}).decision is Decision.ALLOW
    ok, where = write(project, "inner-dangling", "via link\n")
    assert ok
    assert Path(where) == policy.target("inner-dangling") == project / "src" / "made-by-link.txt"


@pytest.mark.parametrize(
    "raw", [".git/config", "./.git/hooks/pre-commit", " .git/config", "src/../.git/config", ".GIT/config",
            "sub/.git/config", ".skipjack/config.toml", "src/../.skipjack/x"],
)  # fmt: skip
def test_git_and_skipjack_dirs_ask_in_auto_edit_and_are_denied_in_plan(world: tuple[Path, Path], raw: str) -> None:
    project, _ = world
    assert ApprovalPolicy("auto-edit", project, sandboxed=True).check("edit", {"path": raw}).decision is Decision.ASK
    assert (
        ApprovalPolicy("ask", project, sandboxed=True, allow=["edit: *"]).check("edit", {"path": raw}).decision
        is Decision.ASK
    )
    assert ApprovalPolicy("plan", project, sandboxed=True).check("edit", {"path": raw}).decision is Decision.DENY
    assert ApprovalPolicy("yolo", project, sandboxed=True).check("edit", {"path": raw}).decision is Decision.ALLOW


def test_a_git_file_points_at_a_protected_gitdir(tmp_path: Path) -> None:
    """A worktree's or submodule's `.git` file names the real git dir: writes there ask."""
    project = tmp_path / "wt"
    (project / "gitdata" / "hooks").mkdir(parents=True)
    (project / "gitdata" / "commondir").write_text("../common\n")
    (project / "common").mkdir()
    (project / ".git").write_text("gitdir: gitdata\n")
    policy = ApprovalPolicy("auto-edit", project, sandboxed=True)
    assert policy.check("write", {"path": "gitdata/hooks/pre-commit"}).decision is Decision.ASK
    assert policy.check("write", {"path": "common/config"}).decision is Decision.ASK
    assert policy.check("write", {"path": "src/ok.py"}).decision is Decision.ALLOW


def test_bash_cwd_uses_the_same_function(world: tuple[Path, Path]) -> None:
    project, _ = world
    for raw in (" src ", "\tsrc", "src/up/project/src", "home-link", "~", " ~/dir", "../home"):
        out = asyncio.run(BashTool().execute(BashArgs(command="pwd", cwd=raw), ToolContext(cwd=project)))
        policy = ApprovalPolicy("auto-edit", project, sandboxed=True, allow=["bash: pwd"])
        ran_in = Path(str((out.details or {})["cwd"]))
        assert ran_in == policy.target(raw), raw
        inside = ran_in == project or project in ran_in.parents
        verdict = policy.check("bash", {"command": "pwd", "cwd": raw})
        assert (verdict.decision is Decision.ASK) is (not inside), (raw, verdict.reason)


PIECES = st.sampled_from(["~", "~/", "./", "../", "src/", "src/up/", "home-link/", "dir/", "project/", "x", ".", "//"])
PADDING = st.sampled_from(["", " ", "\t", "\n", "  \t"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lead=PADDING, parts=st.lists(PIECES, min_size=0, max_size=5), trail=PADDING, n=st.integers(0, 10**9))
def test_policy_and_tool_agree_on_every_spelling(
    world: tuple[Path, Path], lead: str, parts: list[str], trail: str, n: int
) -> None:
    """Property: wherever the write tool actually writes, the policy computed that same path,
    and its inside/outside verdict matches where the file landed."""
    project, _ = world
    raw = lead + "".join(parts) + f"f{n}.txt" + trail
    policy = ApprovalPolicy("auto-edit", project, sandboxed=True)
    predicted = policy.target(raw)
    ok, where = write(project, raw, f"{n}\n")
    if not ok:
        return  # e.g. a missing parent under a non-directory; nothing was written anywhere
    assert Path(where) == predicted
    assert predicted.read_text() == f"{n}\n"
    inside = project in predicted.parents
    assert (policy.check("write", {"path": raw}).decision is Decision.ALLOW) is inside
    predicted.unlink()


def test_a_redirection_into_a_hard_link_asks(world: tuple[Path, Path]) -> None:
    """Writing through a hard link changes the outside file; the file tools replace the link."""
    project, home = world
    os.link(home / ".bashrc", project / "src" / "innocent.txt")
    policy = ApprovalPolicy("auto-edit", project, sandboxed=True, allow=["bash: echo *"])
    assert policy.check("bash", {"command": "echo evil >> src/innocent.txt"}).decision is Decision.ASK
    assert policy.check("bash", {"command": "echo fine >> src/other.txt"}).decision is Decision.ALLOW
    ok, _ = write(project, "src/innocent.txt", "replaced\n")
    assert not ok, "the write tool refuses an unread existing file"
    assert (home / ".bashrc").read_text() == "# user's\n"


def test_links_into_git_internals_are_git_internals(world: tuple[Path, Path]) -> None:
    project, _ = world
    (project / ".git" / "hooks").mkdir()
    (project / ".git" / "config").write_text("[core]\n")
    (project / "cfg").symlink_to(project / ".git" / "config")
    (project / "src" / "hooks").symlink_to(Path("..") / ".git" / "hooks")
    policy = ApprovalPolicy("auto-edit", project, sandboxed=True, allow=["bash: echo *"])
    for raw in ("cfg", " cfg", "src/hooks/pre-commit", "./src/../src/hooks/post-checkout"):
        assert policy.check("edit", {"path": raw}).decision is Decision.ASK, raw
    assert policy.check("bash", {"command": "echo x >> cfg"}).decision is Decision.ASK
    assert policy.check("bash", {"command": "echo x > src/hooks/pre-commit"}).decision is Decision.ASK


def test_a_relative_project_root_is_taken_from_the_process_directory(
    world: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    project, _ = world
    monkeypatch.chdir(project.parent)
    policy = ApprovalPolicy("auto-edit", Path("project"), sandboxed=True)
    assert policy.project_root == project
    assert policy.check("write", {"path": "src/x.py"}).decision is Decision.ALLOW
