"""The policy as the agent loop's `before_tool_call` hook."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Literal

import msgspec

from skipjack.agent.hooks import BeforeToolCall, Deny, Replace
from skipjack.llm.types import ToolCall
from skipjack.safety.policy import ApprovalPolicy, Decision, Verdict


class Answer(msgspec.Struct, frozen=True):
    """The user's answer to an approval question."""

    choice: Literal["once", "always", "deny"]
    reason: str = ""
    rule: str | None = None
    """With "always": the allow rule(s) to add, `; `-separated (defaults to the verdict's
    suggestions; with none, "always" allows this call once)."""


AskUser = Callable[[ToolCall, Verdict], Awaitable[Answer]]


def approval_hook(policy: ApprovalPolicy, ask: AskUser | None = None) -> BeforeToolCall:
    """With no `ask` (headless), a call that needs approval is denied with a reason saying how
    to allow it, so a script never blocks on a question."""

    async def before_tool_call(call: ToolCall, args: Any) -> Deny | Replace | None:
        verdict = policy.check(call.name, args)
        if verdict.decision is Decision.ALLOW:
            return None
        if verdict.decision is Decision.DENY:
            return Deny(verdict.reason)
        if ask is None:
            return Deny(f"{verdict.reason} and this run cannot ask (approval mode {policy.mode!r}; "
                        f"{_how_to_allow(policy, call, verdict)})")  # fmt: skip
        answer = await ask(call, verdict)
        if answer.choice == "deny":
            return Deny(answer.reason or "the user declined")
        if answer.choice == "always":
            rule = answer.rule or verdict.suggested_rule
            if rule:
                policy.allow_always(rule)
        if call.name == "bash" and not policy.sandboxed and getattr(args, "sandbox", None) is True:
            # No OS sandbox here, so the policy asked about this very command: what the user
            # approved is running it unconfined (the bash tool refuses a sandbox it cannot set up).
            args.sandbox = False
        return None

    return before_tool_call


def _how_to_allow(policy: ApprovalPolicy, call: ToolCall, verdict: Verdict) -> str:
    """What the user could change so a headless rerun may do this, for the case at hand."""
    if call.name == "bash" and not policy.sandboxed:
        return "install bubblewrap so commands run sandboxed, or rerun with --approval yolo"
    rule = f" or allow rules like `{verdict.suggested_rule}`" if verdict.suggested_rule else ""
    return f"the user can rerun with --approval auto-edit or yolo{rule}"
