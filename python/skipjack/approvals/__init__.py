"""Approvals: which tool calls run, which ask the user, which never run.

The policy is pure (`ApprovalPolicy.check`); `approval_hook` turns it into the agent loop's
`before_tool_call` hook. The terminal UI passes an `ask` callback; headless runs pass none,
so a call that needs approval becomes a denial the model sees instead of a blocked run.
"""

from skipjack.approvals.hook import Answer, AskUser, approval_hook
from skipjack.approvals.policy import ApprovalPolicy, Decision, Verdict

__all__ = ["Answer", "ApprovalPolicy", "AskUser", "Decision", "Verdict", "approval_hook"]
