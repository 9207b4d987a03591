"""The agent loop's kept message JSON: the bytes encoding each message gives, for the objects it
is given now, and nothing kept of messages it no longer sends."""

from __future__ import annotations

import msgspec

from skipjack.llm.stream import MessageJson
from skipjack.llm.types import AssistantMessage, Message, TextContent, ToolCall, ToolResultMessage, Usage, UserMessage


def conversation(n: int) -> list[Message]:
    out: list[Message] = [UserMessage('fix "it" \u00e9\U0001f980')]
    for i in range(n):
        call = ToolCall(f"c{i}", "read", {"path": f"f{i}.txt"})
        out.append(AssistantMessage([TextContent(f"r{i}"), call], "openai-chat", "p", "m", Usage.zero(), "tool_use"))
        out.append(ToolResultMessage(f"c{i}", "read", f"line {i}\n"))
    return out


def test_each_turn_gets_what_encoding_gives() -> None:
    message_json = MessageJson()
    messages = conversation(5)
    for n in range(1, len(messages) + 1):
        assert message_json(messages[:n]) == [msgspec.json.encode(m) for m in messages[:n]]


def test_a_replaced_message_is_encoded_anew_and_the_old_one_is_let_go() -> None:
    message_json = MessageJson()
    messages = conversation(2)
    message_json(messages)
    replaced = msgspec.structs.replace(messages[-1], content="changed")
    now = [*messages[:-1], replaced]
    assert message_json(now)[-1] == msgspec.json.encode(replaced)
    assert b"changed" in message_json(now)[-1]
    # Only what the last call sent is kept (a compaction's dropped history is not held).
    assert {id(m) for m in now} == set(message_json._kept)
    message_json(now[:1])
    assert set(message_json._kept) == {id(now[0])}
