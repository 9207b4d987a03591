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
    assert message_json._sent == now
    message_json(now[:1])
    assert message_json._sent == now[:1]
    assert len(message_json._json) == 1


def test_every_way_a_history_can_change_gets_what_encoding_gives() -> None:
    """Appended to (the usual turn), the caller's own list grown in place, a message replaced
    in the middle, one dropped, two swapped, a compaction's summary in front of the tail, the
    same object twice, a history emptied: each call's JSON is what encoding gives now."""
    message_json = MessageJson()
    base = conversation(4)
    grown = list(base[:3])
    summary = UserMessage("summary of the earlier turns")
    middle = msgspec.structs.replace(base[2], content="edited in the middle")
    histories: list[list[Message]] = [
        grown,
        base,
        [*base[:2], middle, *base[3:]],
        [*base[:2], *base[3:]],
        [base[0], base[2], base[1], *base[3:]],
        [summary, *base[-2:]],
        [summary, *base[-2:], base[-1]],
        [],
        base,
    ]
    for i, history in enumerate(histories):
        assert message_json(history) == [msgspec.json.encode(m) for m in history], i
        if i == 0:
            grown.extend(base[3:5])  # the caller's list grows after the call
            assert message_json(grown) == [msgspec.json.encode(m) for m in grown]


def test_the_head_is_encoded_again_whenever_a_part_of_it_is_replaced() -> None:
    from skipjack.llm.stream import StreamOptions, _ContextHead, _RequestHead
    from skipjack.llm.types import Model, Tool

    def fresh(model: Model, prompt: str | None, tools: list[Tool], options: StreamOptions) -> bytes:
        return msgspec.json.encode(_RequestHead(model, _ContextHead(prompt, tools), options))

    message_json = MessageJson()
    model = Model("m", "p", "openai-chat", "http://127.0.0.1:1")
    tools = [Tool("read", "Read a file.", {"type": "object", "properties": {}})]
    prompt, options = "You are terse.", StreamOptions(max_tokens=10)
    first = message_json.head(model, prompt, tools, options)
    assert first == fresh(model, prompt, tools, options)
    assert message_json.head(model, prompt, tools, StreamOptions(max_tokens=10)) is first, "equal options: kept"
    cases = [
        (msgspec.structs.replace(model, id="m2"), prompt, tools, options),
        (model, "You are verbose.", tools, options),
        (model, None, tools, options),
        (model, prompt, [*tools, Tool("write", "Write a file.", {"type": "object"})], options),
        (model, prompt, [], options),
        (model, prompt, tools, StreamOptions(max_tokens=11)),
        (model, prompt, tools, StreamOptions(max_tokens=10, api_key="sk-new")),
        (model, prompt, tools, options),
    ]
    for i, case in enumerate(cases):
        assert message_json.head(*case) == fresh(*case), i
