"""Where a retry starts: only a failed reply directly after the user's message is redone."""

from __future__ import annotations

from skipjack.agent.retry import retried, retry_point
from skipjack.llm import AssistantMessage, TextContent, ToolCall, ToolResultMessage, Usage, UserMessage
from skipjack.llm.types import Message


def reply(text: str = "", stop: str = "stop", calls: list[ToolCall] | None = None) -> AssistantMessage:
    content: list[TextContent | ToolCall] = [TextContent(text)] if text else []
    return AssistantMessage([*content, *(calls or [])], "openai-chat", "p", "m", Usage.zero(), stop)  # type: ignore[arg-type]


def test_retry_point() -> None:
    ask = UserMessage("fix it")
    assert retry_point([]) is None
    assert retry_point([ask]) is None  # nothing failed
    assert retry_point([ask, reply("done")]) is None
    assert retry_point([ask, reply(stop="error")]) == 1
    assert retry_point([ask, reply("half an ans", stop="aborted")]) == 1
    assert retry_point([ask, reply(stop="error"), reply(stop="error")]) == 1  # two failed tries
    call = ToolCall("c1", "bash", {"command": "ls"})
    ran: list[Message] = [ask, reply(calls=[call]), ToolResultMessage("c1", "bash", "x"), reply(stop="error")]
    assert retry_point(ran) is None  # a tool ran: the turn made progress
    assert retry_point([reply(stop="error")]) is None  # no user message to answer


def test_a_recorded_retry_leaves_out_only_the_replaced_failures() -> None:
    ask = UserMessage("q")
    assert retried([ask, reply("cut", stop="error"), reply("whole")]) == {1}
    assert retried([ask, reply("cut", stop="error")]) == set()  # not retried (yet): kept
    assert retried([ask, reply("ok"), reply("ok too")]) == set()  # not failed
    assert retried([ask, reply(stop="aborted"), UserMessage("new"), reply("a")]) == set()
