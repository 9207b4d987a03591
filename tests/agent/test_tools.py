"""Tool calls: parallel execution, ordering, concurrency keys, validation and failures."""

from __future__ import annotations

import pytest

from skipjack.agent import ToolExecutionEnd, ToolExecutionStart
from skipjack.llm import AssistantMessage, Message, ToolResultMessage
from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn

from .helpers import EchoTool, FailTool, Recorder, SleepTool, make_agent, text_of


def results_of(messages: list[Message]) -> list[ToolResultMessage]:
    return [m for m in messages if isinstance(m, ToolResultMessage)]


def sleep_call(label: str, seconds: float, key: str | None = None) -> ScriptedToolCall:
    args: dict[str, object] = {"label": label, "seconds": seconds}
    if key is not None:
        args["key"] = key
    return ScriptedToolCall("sleep", args, id=f"call_{label}")


async def test_parallel_calls_overlap_and_results_keep_call_order(scripted: ScriptedModel) -> None:
    tool = SleepTool()
    calls = [sleep_call("slow", 0.4), sleep_call("fast", 0.05), sleep_call("mid", 0.2)]
    scripted.enqueue(ScriptedTurn(tool_calls=calls), ScriptedTurn(text="done"))
    agent = make_agent(scripted, [tool])
    rec = Recorder(agent)
    result = await agent.prompt("go")
    assert result.stop_reason == "completed"

    spans = {s.label: s for s in tool.spans}
    # Finished out of order...
    assert [e.tool_call_id for e in rec.tool_ends()] == ["call_fast", "call_mid", "call_slow"]
    # ...but really overlapped: all three started before the first one ended.
    first_end = min(s.end for s in spans.values())
    assert all(s.start < first_end for s in spans.values())
    assert tool.max_running == 3
    wall = max(s.end for s in spans.values()) - min(s.start for s in spans.values())
    assert wall < 0.4 + 0.05 + 0.2, f"ran serially ({wall:.2f} s)"

    results = results_of(agent.messages)
    assert [r.tool_call_id for r in results] == ["call_slow", "call_fast", "call_mid"]
    sent = scripted.request_messages(1)
    assert [m["tool_call_id"] for m in sent if m["role"] == "tool"] == ["call_slow", "call_fast", "call_mid"]
    assert [m["content"] for m in sent if m["role"] == "tool"] == ["slept slow", "slept fast", "slept mid"]


async def test_same_concurrency_key_runs_one_at_a_time_in_call_order(scripted: ScriptedModel) -> None:
    tool = SleepTool()
    calls = [
        sleep_call("a1", 0.15, key="file-a"),
        sleep_call("b", 0.15, key="file-b"),
        sleep_call("a2", 0.05, key="file-a"),
        sleep_call("a3", 0.0, key="file-a"),
    ]
    scripted.enqueue(ScriptedTurn(tool_calls=calls), ScriptedTurn(text="done"))
    agent = make_agent(scripted, [tool])
    await agent.prompt("go")
    spans = {s.label: s for s in tool.spans}
    assert spans["a1"].end <= spans["a2"].start
    assert spans["a2"].end <= spans["a3"].start
    # A different key is not held up.
    assert spans["b"].start < spans["a1"].end
    assert [r.tool_call_id for r in results_of(agent.messages)] == [c.id for c in calls]


async def test_concurrency_limit_caps_running_calls(scripted: ScriptedModel) -> None:
    tool = SleepTool()
    calls = [sleep_call(f"s{i}", 0.05) for i in range(6)]
    scripted.enqueue(ScriptedTurn(tool_calls=calls), ScriptedTurn(text="done"))
    agent = make_agent(scripted, [tool], tool_concurrency=2)
    await agent.prompt("go")
    assert tool.max_running == 2
    assert len(tool.spans) == 6


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"text": 5}, "Expected `str`, got `int` - at `$.text`"),
        ({"times": 2}, "Object missing required field `text`"),
        ({"text": "x", "colour": "red"}, "unknown field `colour`"),
        ('{"text": ', "the tool was not run"),
    ],
    ids=["bad-type", "missing-field", "unknown-field", "unparseable-json"],
)
async def test_invalid_arguments_are_reported_and_the_tool_does_not_run(
    scripted: ScriptedModel, arguments: dict[str, object] | str, expected: str
) -> None:
    echo = EchoTool()
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("echo", arguments, id="c1")]),
        ScriptedTurn(text="sorry"),
    )
    agent = make_agent(scripted, [echo])
    rec = Recorder(agent)
    result = await agent.prompt("go")
    assert result.stop_reason == "completed"
    assert echo.calls == []
    (tool_result,) = results_of(agent.messages)
    assert tool_result.is_error
    text = text_of(tool_result)
    assert text.startswith('invalid arguments for "echo"')
    assert expected in text
    # The model is told in the next request; start/end still pair up for the UI.
    sent = [m for m in scripted.request_messages(1) if m["role"] == "tool"]
    assert sent == [{"role": "tool", "tool_call_id": "c1", "content": text}]
    assert [type(e) for e in rec.events if isinstance(e, ToolExecutionStart | ToolExecutionEnd)] == [
        ToolExecutionStart,
        ToolExecutionEnd,
    ]


async def test_unparseable_arguments_name_the_parse_error(scripted: ScriptedModel) -> None:
    scripted.enqueue(
        ScriptedTurn(tool_calls=[ScriptedToolCall("echo", '{"text": ', id="c1")]),
        ScriptedTurn(text="sorry"),
    )
    agent = make_agent(scripted, [EchoTool()])
    await agent.prompt("go")
    assistant = agent.messages[1]
    assert isinstance(assistant, AssistantMessage)
    call = assistant.tool_calls[0]
    assert call.arguments_error is not None
    assert call.arguments_error in text_of(results_of(agent.messages)[0])


async def test_unknown_tool_gets_an_error_naming_the_available_ones(scripted: ScriptedModel) -> None:
    echo = EchoTool()
    calls = [ScriptedToolCall("delete_everything", {}, id="c1"), ScriptedToolCall("echo", {"text": "ok"}, id="c2")]
    scripted.enqueue(ScriptedTurn(tool_calls=calls), ScriptedTurn(text="fine"))
    agent = make_agent(scripted, [echo, FailTool()])
    await agent.prompt("go")
    unknown, ok = results_of(agent.messages)
    assert unknown.is_error
    assert text_of(unknown) == 'unknown tool "delete_everything"; the available tools are: echo, fail.'
    assert not ok.is_error
    assert text_of(ok) == "ok"


async def test_tool_exceptions_become_error_results(scripted: ScriptedModel) -> None:
    calls = [
        ScriptedToolCall("fail", {"how": "tool_error"}, id="c1"),
        ScriptedToolCall("fail", {"how": "crash"}, id="c2"),
        ScriptedToolCall("echo", {"text": "ab", "times": 2}, id="c3"),
    ]
    scripted.enqueue(ScriptedTurn(tool_calls=calls), ScriptedTurn(text="noted"))
    agent = make_agent(scripted, [EchoTool(), FailTool()])
    rec = Recorder(agent)
    result = await agent.prompt("go")
    assert result.stop_reason == "completed"
    tool_error, crash, echo = results_of(agent.messages)
    assert (tool_error.is_error, text_of(tool_error)) == (True, "the file is locked by another editor")
    assert (crash.is_error, text_of(crash)) == (True, 'tool "fail" failed: RuntimeError: disk on fire')
    assert (echo.is_error, text_of(echo)) == (False, "abab")
    end = next(e for e in rec.tool_ends() if e.tool_call_id == "c3")
    assert end.details == {"times": 2}
    assert [e.is_error for e in rec.tool_ends() if e.tool_call_id != "c3"] == [True, True]


async def test_tool_specs_are_sent_to_the_model(scripted: ScriptedModel) -> None:
    scripted.enqueue(ScriptedTurn(text="hi"))
    agent = make_agent(scripted, [EchoTool()])
    await agent.prompt("go")
    (tool,) = scripted.request_body(0)["tools"]
    assert tool["function"]["name"] == "echo"
    assert tool["function"]["parameters"]["required"] == ["text"]


async def test_duplicate_tool_names_are_refused(scripted: ScriptedModel) -> None:
    agent = make_agent(scripted, [EchoTool(), EchoTool()])
    with pytest.raises(ValueError, match="share a name"):
        await agent.prompt("go")
    assert not agent.is_running
    assert scripted.requests == []
