"""The summary request over the real stream path: its prompt, chunking, usage and failures."""

from __future__ import annotations

import json
import re

import msgspec
import pytest
from tests.sessions.helpers import FAST, call, result, user, wire_texts

from skipjack.compaction import SYSTEM_PROMPT, CompactionError, summarize
from skipjack.llm import AssistantMessage, Message, TextContent, ThinkingContent, Usage
from skipjack.sessions import sum_usage
from skipjack.testing import Reply, ScriptedModel, ScriptedTurn, SSEServer


def thinking_reply() -> AssistantMessage:
    return AssistantMessage(
        content=[
            ThinkingContent("SECRET-THOUGHT about the parser", signature="sig"),
            TextContent("Let me read it."),
            call("c1", path="src/parser.py"),
        ],
        api="openai-chat",
        provider="scripted",
        model="scripted-model",
        usage=Usage.zero(),
        stop_reason="tool_use",
    )


async def test_prompt_structure_thinking_stripped_results_truncated(sse_server: SSEServer) -> None:
    scripted = ScriptedModel(
        sse_server, ScriptedTurn(text="## Goal\nFix the parser.", prompt_tokens=3_000, completion_tokens=400)
    )
    history: list[Message] = [
        user("Make the parser report columns"),
        thinking_reply(),
        result("c1", "P" * 50_000),
        AssistantMessage(
            content=[call("c2", "edit", path="src/parser.py"), call("c3", "write", path="tests/test_cols.py")],
            api="openai-chat",
            provider="scripted",
            model="scripted-model",
            usage=Usage.zero(),
            stop_reason="tool_use",
        ),
        result("c2", "ok", "edit"),
        result("c3", "ok", "write"),
    ]
    summary = await summarize(
        history, scripted.model, previous_summary="EARLIER-SUMMARY", focus="the error handling", options=FAST
    )
    body = scripted.request_body(0)
    assert "SECRET-THOUGHT" not in json.dumps(body), "thinking is never summarised"
    system, prompt = wire_texts(body)
    assert system == SYSTEM_PROMPT
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert "[User]\nMake the parser report columns" in prompt
    assert "[Assistant]\nLet me read it.\n[Tool call read]" in prompt
    assert "P" * 1_400 not in prompt
    assert re.search(r"\[\.\.\. 48000 characters omitted \.\.\.\]", prompt)
    assert len(prompt) < 8_000
    for section in (
        "## Goal",
        "## Constraints and preferences",
        "## Progress",
        "## Key decisions",
        "## Next steps",
        "### Read",
        "### Modified",
        "## Critical context",
    ):
        assert section in prompt
    assert "<previous-summary>\nEARLIER-SUMMARY\n</previous-summary>" in prompt
    assert "Write one updated summary of both" in prompt
    assert "- read: src/parser.py\n- modified: src/parser.py, tests/test_cols.py" in prompt
    assert prompt.rstrip().endswith("The user asked the summary to focus on: the error handling")

    assert summary.text == "## Goal\nFix the parser."
    assert summary.requests == 1
    assert summary.model == "scripted/scripted-model"
    assert summary.usage.input == 3_000
    assert summary.usage.cost.total == pytest.approx(3_000 * 3e-6 + 400 * 15e-6)


async def test_a_history_bigger_than_the_window_is_summarised_in_chunks(sse_server: SSEServer) -> None:
    replies = [
        ScriptedTurn(text=f"RUNNING-SUMMARY-{i}", prompt_tokens=1_000 + i, completion_tokens=100) for i in range(20)
    ]
    scripted = ScriptedModel(sse_server, *replies)
    small = msgspec.structs.replace(scripted.model, context_window=4_000, max_output=1_000)
    history: list[Message] = []
    for i in range(12):
        history.append(user(f"QUESTION-{i:02d} " + "q" * 1_000))
        history.append(
            AssistantMessage(
                [TextContent(f"ANSWER-{i:02d} " + "a" * 1_000)], "openai-chat", "s", "m", Usage.zero(), "stop"
            )
        )
    summary = await summarize(history, small, options=FAST)

    n = len(scripted.requests)
    assert n >= 3, "several summary requests"
    assert summary.requests == n
    assert summary.text == f"RUNNING-SUMMARY-{n - 1}", "the last running summary is the summary"
    assert summary.usage == sum_usage(r.usage for r in summary.replies)
    assert summary.usage.input == sum(1_000 + i for i in range(n))
    seen: list[str] = []
    for i in range(n):
        body = scripted.request_body(i)
        assert body["max_tokens"] == 1_000
        text = "".join(wire_texts(body))
        assert len(text) / 4 + 1_000 <= 4_000, "every request fits the summariser's window"
        prompt = wire_texts(body)[1]
        if i == 0:
            assert "<previous-summary>" not in prompt
        else:
            assert f"<previous-summary>\nRUNNING-SUMMARY-{i - 1}\n</previous-summary>" in prompt
            assert "Write one updated summary of both" in prompt
        seen += re.findall(r"(QUESTION-\d\d|ANSWER-\d\d)", prompt)
    expected = [f"{kind}-{i:02d}" for i in range(12) for kind in ("QUESTION", "ANSWER")]
    assert seen == expected, "every message summarised once, in order"


async def test_a_failed_summary_reports_what_it_cost(sse_server: SSEServer) -> None:
    scripted = ScriptedModel(
        sse_server,
        ScriptedTurn(text="PART-1", prompt_tokens=2_000, completion_tokens=50),
        Reply.error(500, {"error": {"message": "boom"}}),
    )
    small = msgspec.structs.replace(scripted.model, context_window=4_000, max_output=1_000)
    history: list[Message] = [user("x" * 9_000), user("y" * 9_000)]
    with pytest.raises(CompactionError) as info:
        await summarize(history, small, options=FAST)
    assert info.value.requests == 2
    assert info.value.usage.input == 2_000
    assert "server" in str(info.value)


async def test_an_empty_summary_is_a_failure(sse_server: SSEServer) -> None:
    scripted = ScriptedModel(sse_server, ScriptedTurn(text="", prompt_tokens=500))
    with pytest.raises(CompactionError, match="no text"):
        await summarize([user("hello")], scripted.model, options=FAST)


def test_a_summary_request_fits_the_input_limit_not_only_the_window() -> None:
    from skipjack.compaction.summarize import chunk_budget_chars
    from skipjack.llm import Model

    window_only = Model("openai", "gpt-5", "openai-responses", "https://x", context_window=400_000)
    gpt5 = msgspec.structs.replace(window_only, max_input=272_000)
    # The window minus the reply would allow ~392k of prompt; gpt-5 accepts 272k.
    wide, narrow = chunk_budget_chars(window_only, 8_000, None), chunk_budget_chars(gpt5, 8_000, None)
    assert wide is not None
    assert narrow is not None
    assert wide - narrow == (400_000 - 8_000 - 272_000) * 4
    assert narrow < 272_000 * 4
