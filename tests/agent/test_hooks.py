"""Hooks: deny, replace, after, context transform, and overflow recovery."""

from __future__ import annotations

from skipjack.agent import Deny, Hooks, Replace, ToolOutput
from skipjack.llm import AssistantMessage, LLMError, Message, ToolCall, ToolResultMessage, UserMessage
from skipjack.llm.errors import ContextOverflowError
from skipjack.testing import Reply, ScriptedModel, ScriptedToolCall, ScriptedTurn

from .helpers import EchoArgs, EchoTool, make_agent, text_of

OVERFLOW = Reply.error(
    400,
    {"error": {"code": 400, "message": "the request exceeds the available context size",
               "type": "exceed_context_size_error"}},
)  # fmt: skip


def results(messages: list[Message]) -> dict[str, ToolResultMessage]:
    return {m.tool_call_id: m for m in messages if isinstance(m, ToolResultMessage)}


async def test_before_hook_denies_replaces_or_allows(scripted: ScriptedModel) -> None:
    seen: list[tuple[str, object]] = []

    async def policy(call: ToolCall, args: object) -> Deny | Replace | None:
        seen.append((call.id, args))
        assert isinstance(args, EchoArgs), "the hook gets validated, typed arguments"
        if args.text == "rm -rf /":
            return Deny("the user declined")
        if args.text == "cached":
            return Replace(ToolOutput.text("from cache"))
        return None

    echo = EchoTool()
    calls = [
        ScriptedToolCall("echo", {"text": "rm -rf /"}, id="deny"),
        ScriptedToolCall("echo", {"text": "cached"}, id="replace"),
        ScriptedToolCall("echo", {"text": "fine"}, id="allow"),
        ScriptedToolCall("echo", {"text": 3}, id="invalid"),
    ]
    scripted.enqueue(ScriptedTurn(tool_calls=calls), ScriptedTurn(text="ok"))
    agent = make_agent(scripted, [echo], hooks=Hooks(before_tool_call=policy))
    await agent.prompt("go")

    by_id = results(agent.messages)
    assert (by_id["deny"].is_error, text_of(by_id["deny"])) == (True, "denied: the user declined")
    assert (by_id["replace"].is_error, text_of(by_id["replace"])) == (False, "from cache")
    assert (by_id["allow"].is_error, text_of(by_id["allow"])) == (False, "fine")
    assert by_id["invalid"].is_error
    assert [a.text for a in echo.calls] == ["fine"]
    assert [call_id for call_id, _ in seen] == ["deny", "replace", "allow"], "invalid calls never reach the hook"


async def test_after_hook_sees_and_replaces_results(scripted: ScriptedModel) -> None:
    seen: list[tuple[str, str]] = []

    async def redact(call: ToolCall, output: ToolOutput) -> ToolOutput:
        text = "".join(getattr(b, "text", "") for b in output.content)
        seen.append((call.id, text))
        return ToolOutput.text(text.replace("secret", "[redacted]"), is_error=output.is_error)

    async def deny_all_b(call: ToolCall, args: object) -> Deny | None:
        return Deny("no") if call.id == "b" else None

    calls = [
        ScriptedToolCall("echo", {"text": "my secret"}, id="a"),
        ScriptedToolCall("echo", {"text": "x"}, id="b"),
    ]
    scripted.enqueue(ScriptedTurn(tool_calls=calls), ScriptedTurn(text="ok"))
    agent = make_agent(scripted, [EchoTool()], hooks=Hooks(before_tool_call=deny_all_b, after_tool_call=redact))
    await agent.prompt("go")
    assert seen == [("a", "my secret")], "denied calls do not reach the after hook"
    assert text_of(results(agent.messages)["a"]) == "my [redacted]"
    assert next(m["content"] for m in scripted.request_messages(1) if m["role"] == "tool") == "my [redacted]"


async def test_failing_tool_hook_is_an_error_result(scripted: ScriptedModel) -> None:
    async def broken(call: ToolCall, args: object) -> None:
        raise KeyError("approval store")

    echo = EchoTool()
    scripted.enqueue(ScriptedTurn(tool_calls=[ScriptedToolCall("echo", {"text": "x"}, id="a")]), ScriptedTurn(text="k"))
    agent = make_agent(scripted, [echo], hooks=Hooks(before_tool_call=broken))
    result = await agent.prompt("go")
    assert result.stop_reason == "completed"
    assert echo.calls == []
    assert text_of(results(agent.messages)["a"]) == "tool \"echo\" failed in a hook: KeyError: 'approval store'"


async def test_transform_context_sees_every_call_and_shapes_what_is_sent(scripted: ScriptedModel) -> None:
    snapshots: list[list[str]] = []

    async def transform(messages: list[Message]) -> list[Message]:
        snapshots.append([type(m).__name__ for m in messages])
        return [UserMessage("(reminder: be brief)"), *messages]

    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("echo", {"text": "x"}, id="a")]),
        ScriptedTurn(text="done"),
    )
    agent = make_agent(scripted, [EchoTool()], hooks=Hooks(transform_context=transform))
    await agent.prompt("go")
    assert snapshots == [
        ["UserMessage"],
        ["UserMessage", "AssistantMessage", "ToolResultMessage"],
    ]
    for i in range(2):
        assert scripted.request_messages(i)[1] == {"role": "user", "content": "(reminder: be brief)"}
    assert "(reminder" not in str(agent.messages), "the history itself is untouched"


async def test_failing_context_hook_ends_the_run_with_an_error(scripted: ScriptedModel) -> None:
    async def transform(messages: list[Message]) -> list[Message]:
        raise ValueError("summariser down")

    agent = make_agent(scripted, hooks=Hooks(transform_context=transform))
    result = await agent.prompt("go")
    assert result.stop_reason == "error"
    assert result.error_kind == "hook"
    assert result.error_message == "a context hook failed: ValueError: summariser down"
    assert scripted.requests == []


async def test_overflow_hook_retries_the_same_call_with_the_new_history(scripted: ScriptedModel) -> None:
    old = [UserMessage(f"old question {i} " + "x" * 200) for i in range(3)]
    calls_seen: list[tuple[list[Message], LLMError]] = []

    async def compact(messages: list[Message], error: LLMError) -> list[Message]:
        calls_seen.append((messages, error))
        return [UserMessage("Summary of earlier work."), messages[-1]]

    scripted.enqueue(OVERFLOW, ScriptedTurn(text="Answer after compaction."))
    agent = make_agent(scripted, messages=old, hooks=Hooks(on_context_overflow=compact))
    result = await agent.prompt("the new question")

    assert result.stop_reason == "completed"
    assert result.turns == 1
    (history, error), = calls_seen  # fmt: skip
    assert isinstance(error, ContextOverflowError)
    assert [getattr(m, "content", None) for m in history][-1] == "the new question"
    assert len(scripted.requests) == 2
    retried = scripted.request_messages(1)
    assert retried[1:] == [
        {"role": "user", "content": "Summary of earlier work."},
        {"role": "user", "content": "the new question"},
    ]
    assert str(scripted.request_body(1)).count("the new question") == 1, "the prompt is sent once"
    assert [type(m).__name__ for m in agent.messages] == ["UserMessage", "UserMessage", "AssistantMessage"]
    assert agent.messages[0] == UserMessage("Summary of earlier work.", timestamp=agent.messages[0].timestamp)


async def test_overflow_retry_does_not_rerun_tools(scripted: ScriptedModel) -> None:
    async def compact(messages: list[Message], error: LLMError) -> list[Message]:
        return messages[1:]  # drop the oldest message

    echo = EchoTool()
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("echo", {"text": "x"}, id="a")]),
        OVERFLOW,
        ScriptedTurn(text="done"),
    )
    agent = make_agent(scripted, [echo], messages=[UserMessage("ancient")], hooks=Hooks(on_context_overflow=compact))
    result = await agent.prompt("go")
    assert result.stop_reason == "completed"
    assert len(echo.calls) == 1
    assert len(scripted.requests) == 3
    assert [m["role"] for m in scripted.request_messages(2)] == ["system", "user", "assistant", "tool"]


async def test_overflow_without_recovery_ends_with_the_error(scripted: ScriptedModel) -> None:
    async def give_up(messages: list[Message], error: LLMError) -> None:
        return None

    scripted.enqueue(OVERFLOW)
    agent = make_agent(scripted, hooks=Hooks(on_context_overflow=give_up))
    result = await agent.prompt("go")
    assert result.stop_reason == "error"
    assert result.error_kind == "context_overflow"
    last = agent.messages[-1]
    assert isinstance(last, AssistantMessage)
    assert last.stop_reason == "error"


async def test_overflow_recovery_gives_up_after_repeated_overflows(scripted: ScriptedModel) -> None:
    attempts: list[int] = []

    async def useless(messages: list[Message], error: LLMError) -> list[Message]:
        attempts.append(len(messages))
        return messages

    scripted.enqueue(*[OVERFLOW] * 4)
    agent = make_agent(scripted, hooks=Hooks(on_context_overflow=useless))
    result = await agent.prompt("go")
    assert result.stop_reason == "error"
    assert result.error_kind == "context_overflow"
    assert len(attempts) == 3
    assert len(scripted.requests) == 4
