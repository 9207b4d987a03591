"""The approval hook: what a user's answer does to the call it approves."""

from __future__ import annotations

from pathlib import Path

from skipjack.agent.hooks import Deny
from skipjack.llm.types import ToolCall
from skipjack.safety.hook import Answer, approval_hook
from skipjack.safety.policy import ApprovalPolicy, Verdict
from skipjack.tools.bash import BashArgs


async def _approve(call: ToolCall, verdict: Verdict) -> Answer:
    return Answer("once")


def _call(command: str) -> ToolCall:
    return ToolCall(id="c1", name="bash", arguments={"command": command})


async def test_without_a_sandbox_an_approved_command_runs_as_approved(tmp_path: Path) -> None:
    # Every command asks when nothing can confine it; the one the user approves is then run
    # unconfined, instead of being refused by the tool and asked about a second time.
    hook = approval_hook(ApprovalPolicy("ask", tmp_path, sandboxed=False), _approve)
    args = BashArgs(command="make build")
    assert await hook(_call("make build"), args) is None
    assert args.sandbox is False


async def test_with_a_sandbox_an_approved_command_stays_inside(tmp_path: Path) -> None:
    hook = approval_hook(ApprovalPolicy("ask", tmp_path, sandboxed=True), _approve)
    args = BashArgs(command="make build")
    assert await hook(_call("make build"), args) is None
    assert args.sandbox is True


async def test_headless_without_a_sandbox_names_the_fix(tmp_path: Path) -> None:
    hook = approval_hook(ApprovalPolicy("auto-edit", tmp_path, sandboxed=False))
    args = BashArgs(command="ls")
    verdict = await hook(_call("ls"), args)
    assert isinstance(verdict, Deny)
    assert "install bubblewrap" in verdict.reason
    assert args.sandbox is True
