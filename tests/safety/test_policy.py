"""Each approval mode's decisions, rules, and the hook's behaviour with and without a user."""

from __future__ import annotations

from pathlib import Path

import pytest

from skipjack.agent.hooks import Deny
from skipjack.llm.types import ToolCall
from skipjack.safety import Answer, ApprovalPolicy, Decision, Verdict, approval_hook
from skipjack.tools.bash import BashArgs
from skipjack.tools.edit import EditArgs
from skipjack.tools.read import ReadArgs

CASES = [
    # mode, tool, args, expected
    ("ask", "read", ReadArgs(path="a.py"), Decision.ALLOW),
    ("ask", "edit", EditArgs(path="a.py", old_text="x", new_text="y"), Decision.ASK),
    ("ask", "bash", BashArgs(command="ls"), Decision.ASK),
    ("ask", "web_fetch", {"url": "https://example.com"}, Decision.ASK),
    ("auto-edit", "edit", EditArgs(path="src/a.py", old_text="x", new_text="y"), Decision.ALLOW),
    ("auto-edit", "write", {"path": "../outside.txt", "content": ""}, Decision.ASK),
    ("auto-edit", "bash", BashArgs(command="pytest"), Decision.ASK),
    ("yolo", "bash", BashArgs(command="rm -rf build"), Decision.ALLOW),
    ("yolo", "write", {"path": "/etc/hosts", "content": ""}, Decision.ALLOW),
    ("plan", "edit", EditArgs(path="a.py", old_text="x", new_text="y"), Decision.DENY),
    # Plan mode with a sandbox: any command runs, the sandbox keeps it read-only.
    ("plan", "bash", BashArgs(command="git status && ls -la"), Decision.ALLOW),
    ("plan", "bash", BashArgs(command="git commit -m x"), Decision.ALLOW),
    ("plan", "bash", BashArgs(command="find . -delete"), Decision.ALLOW),
    ("plan", "web_fetch", {"url": "https://example.com"}, Decision.DENY),
    ("plan", "grep", {"pattern": "x"}, Decision.ALLOW),
]


@pytest.mark.parametrize(("mode", "tool", "args", "expected"), CASES)
def test_mode_decisions(tmp_path: Path, mode, tool, args, expected) -> None:  # type: ignore[no-untyped-def]
    assert ApprovalPolicy(mode, tmp_path, sandboxed=True).check(tool, args).decision is expected


def test_allow_rules_must_cover_every_chained_command(tmp_path: Path) -> None:
    policy = ApprovalPolicy("ask", tmp_path, sandboxed=True, allow=["bash: git status*", "bash: pytest *"])
    assert policy.check("bash", BashArgs(command="git status --short")).decision is Decision.ALLOW
    assert policy.check("bash", BashArgs(command="git status && pytest -q")).decision is Decision.ALLOW
    assert policy.check("bash", BashArgs(command="git status && rm -rf /")).decision is Decision.ASK
    assert policy.check("bash", BashArgs(command="git status $(rm -rf /)")).decision is Decision.ASK


def test_deny_wins_even_in_yolo(tmp_path: Path) -> None:
    policy = ApprovalPolicy("yolo", tmp_path, sandboxed=True, allow=["bash: *"], deny=["bash: rm -rf *"])
    verdict = policy.check("bash", BashArgs(command="rm -rf /"))
    assert verdict.decision is Decision.DENY
    assert "deny rule" in verdict.reason


def test_writes_outside_the_project_ask_even_with_a_rule(tmp_path: Path) -> None:
    policy = ApprovalPolicy("auto-edit", tmp_path / "proj", sandboxed=True, allow=["write: *"])
    assert policy.check("write", {"path": "../elsewhere.txt"}).decision is Decision.ASK


def test_without_a_sandbox_every_command_asks_even_when_allowed(tmp_path: Path) -> None:
    for mode in ("ask", "auto-edit", "plan"):
        policy = ApprovalPolicy(mode, tmp_path, sandboxed=False, allow=["bash: ls *"])  # type: ignore[arg-type]
        verdict = policy.check("bash", BashArgs(command="ls -la"))
        assert verdict.decision is Decision.ASK, mode
        assert "sandbox" in verdict.reason


CALL = ToolCall("c1", "bash", {"command": "make"})


async def test_headless_hook_denies_with_a_way_forward(tmp_path: Path) -> None:
    hook = approval_hook(ApprovalPolicy("ask", tmp_path, sandboxed=True))
    result = await hook(CALL, BashArgs(command="make"))
    assert isinstance(result, Deny)
    assert "--approval" in result.reason
    assert "bash: make" in result.reason
    assert "bash: make *" not in result.reason, "a suggestion names the target, not every make run"


async def test_always_allow_answer_adds_a_session_rule(tmp_path: Path) -> None:
    asked: list[Verdict] = []

    async def ask(call: ToolCall, verdict: Verdict) -> Answer:
        asked.append(verdict)
        return Answer("always")

    hook = approval_hook(ApprovalPolicy("ask", tmp_path, sandboxed=True), ask)
    assert await hook(CALL, BashArgs(command="make test")) is None
    assert await hook(CALL, BashArgs(command="make test -j2")) is None
    assert len(asked) == 1, "the second call matched the rule the first answer added"
    assert asked[0].suggested_rules == ("bash: make test *",)
    assert await hook(CALL, BashArgs(command="make lint")) is None
    assert len(asked) == 2, "another make target is another question"


async def test_deny_answer_carries_the_users_reason(tmp_path: Path) -> None:
    async def ask(call: ToolCall, verdict: Verdict) -> Answer:
        return Answer("deny", reason="use the Makefile target instead")

    result = await approval_hook(ApprovalPolicy("ask", tmp_path, sandboxed=True), ask)(CALL, BashArgs(command="cc x.c"))
    assert result == Deny("use the Makefile target instead")


def test_patch_tools_are_judged_by_every_path_they_name(tmp_path: Path) -> None:
    policy = ApprovalPolicy("auto-edit", tmp_path, sandboxed=True)
    inside = "*** Begin Patch\n*** Update File: src/a.py\n@@\n-x\n+y\n*** End Patch\n"
    git = "*** Begin Patch\n*** Update File: src/a.py\n*** Add File: .git/hooks/post-checkout\n+evil\n*** End Patch\n"
    diff = "--- a/src/a.py\n+++ b/../../etc/x\n@@ -1 +1 @@\n-x\n+y\n"
    assert policy.check("apply_patch", {"patch": inside}).decision is Decision.ALLOW
    assert policy.check("apply_patch", {"patch": git}).decision is Decision.ASK
    assert policy.check("apply_patch", {"input": diff}).decision is Decision.ASK
    assert policy.check("apply_patch", {"patch": "no paths here"}).decision is Decision.ASK
    assert ApprovalPolicy("plan", tmp_path, sandboxed=True).check("apply_patch", {"patch": inside}).decision is (
        Decision.DENY
    )


def test_sandbox_false_asks_says_so_and_is_denied_in_plan(tmp_path: Path) -> None:
    args = {"command": "ls", "sandbox": False}
    verdict = ApprovalPolicy("ask", tmp_path, sandboxed=True, allow=["bash: ls"]).check("bash", args)
    assert verdict.decision is Decision.ASK
    assert "outside the sandbox" in verdict.subject
    assert verdict.suggested_rules == ()
    assert ApprovalPolicy("plan", tmp_path, sandboxed=True).check("bash", args).decision is Decision.DENY
    assert ApprovalPolicy("yolo", tmp_path, sandboxed=False).check("bash", args).decision is Decision.ALLOW


def test_cwd_is_part_of_the_subject(tmp_path: Path) -> None:
    (tmp_path / "proj").mkdir()
    policy = ApprovalPolicy("auto-edit", tmp_path / "proj", sandboxed=True, allow=["bash: ls"])
    verdict = policy.check("bash", BashArgs(command="ls", cwd="../"))
    assert verdict.decision is Decision.ASK
    assert str(tmp_path) in verdict.subject
    assert policy.check("bash", BashArgs(command="ls", cwd=".")).decision is Decision.ALLOW


async def test_always_on_a_compound_line_adds_one_rule_per_command(tmp_path: Path) -> None:
    asked: list[Verdict] = []

    async def ask(call: ToolCall, verdict: Verdict) -> Answer:
        asked.append(verdict)
        return Answer("always")

    policy = ApprovalPolicy("ask", tmp_path, sandboxed=True)
    hook = approval_hook(policy, ask)
    assert await hook(CALL, BashArgs(command="git status && cargo test")) is None
    assert asked[0].suggested_rules == ("bash: git status *", "bash: cargo test *")
    assert await hook(CALL, BashArgs(command="cargo test --release; git status -s")) is None
    assert len(asked) == 1
    assert policy.check("bash", BashArgs(command="cargo build")).decision is Decision.ASK


def test_a_bad_bash_pattern_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rm -rf 'x"):
        ApprovalPolicy("ask", tmp_path, sandboxed=True, deny=["bash: rm -rf 'x"])
