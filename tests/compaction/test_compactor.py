"""Compaction in a live session: `/compact`, mid tool loop through the Agent, and overflow recovery."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest
from tests.sessions.helpers import (
    FAST,
    OVERFLOW,
    EchoTool,
    assistant,
    call,
    echo_turn,
    result,
    texts,
    usage,
    user,
    wire_texts,
)

from skipjack.agent import Agent, Hooks
from skipjack.compaction import SYSTEM_PROMPT, Compactor, compact, should_compact
from skipjack.config import CompactionSettings
from skipjack.llm import AssistantMessage, Message, ToolResultMessage, UserMessage
from skipjack.sessions import CompactionEntry, MessageEntry, Session, SessionStore, sum_usage
from skipjack.sessions.format import SUMMARY_PREFIX
from skipjack.sessions.recorder import record
from skipjack.testing import Reply, ScriptedModel, ScriptedTurn, SSEServer


def summary_turn(text: str, prompt_tokens: int = 2_000) -> ScriptedTurn:
    return ScriptedTurn(text=text, prompt_tokens=prompt_tokens, completion_tokens=300)


def compaction_entries(session: Session) -> list[CompactionEntry]:
    return [e for e in session.all_entries() if isinstance(e, CompactionEntry)]


async def test_compact_on_demand_records_merges_and_resumes(
    sse_server: SSEServer, store: SessionStore, project: Path
) -> None:
    scripted = ScriptedModel(sse_server, summary_turn("FIRST-SUMMARY"), summary_turn("SECOND-SUMMARY"))
    session = store.create(project, "scripted/scripted-model")
    block = "b" * 2_000  # 500 tokens
    history: list[Message] = [
        user("OLD-PROMPT " + block),
        assistant("", calls=[call("c1", path="a.py")]),
        result("c1", block),
        assistant("OLD-ANSWER"),
        user("RECENT-PROMPT " + block),
        assistant("", calls=[call("c2", path="b.py")]),
        result("c2", block),
        assistant("RECENT-ANSWER"),
    ]
    for m in history:
        session.append_message(m)
    before = session.messages()

    done = await compact(session, scripted.model, "the parser", options=FAST)
    assert done is not None
    # Half of the ~2,000 tokens of messages is kept: from the recent prompt on.
    assert done.summarized == 4
    assert done.kept == 4
    assert done.messages[1:] == before[4:]
    assert done.trigger == "manual"
    entry = done.entry
    assert entry is not None
    assert entry.summary == "FIRST-SUMMARY"
    assert entry.focus == "the parser"
    msg_entries = [e for e in session.all_entries() if isinstance(e, MessageEntry)]
    assert entry.first_kept == msg_entries[4].id
    # The last reply's reported usage (100 in, 10 out), nothing after it to estimate.
    assert entry.tokens_before == done.tokens_before == 110
    assert entry.usage == done.usage
    assert entry.usage.input == 2_000
    prompt = wire_texts(scripted.request_body(0))[1]
    assert "OLD-PROMPT" in prompt
    assert "RECENT-PROMPT" not in prompt
    assert "the parser" in prompt

    context = session.messages()
    assert texts(context)[0].startswith(SUMMARY_PREFIX)
    assert "FIRST-SUMMARY" in texts(context)[0]
    assert context[1:] == before[4:]
    assert len(session.all_entries()) == 9, "nothing is lost from the full history"

    # Another turn, then compact again: the first summary is merged, not lost.
    session.append_message(user("NEWER-PROMPT " + block))
    session.append_message(assistant("NEWER-ANSWER " + block))
    again = await compact(session, scripted.model, options=FAST)
    assert again is not None
    prompt = wire_texts(scripted.request_body(1))[1]
    assert "<previous-summary>\nFIRST-SUMMARY\n</previous-summary>" in prompt
    assert "RECENT-PROMPT" in prompt
    assert "OLD-PROMPT" not in prompt, "already summarised; its summary stands for it"
    session.close()

    reloaded = Session.load(session.path)
    assert "SECOND-SUMMARY" in texts(reloaded.messages())[0]
    assert reloaded.messages()[1:] == session.messages()[1:]
    summaries = sum_usage(e.usage for e in compaction_entries(reloaded))
    assert summaries.input == 4_000
    assert reloaded.usage_totals() == sum_usage(
        [
            *(m.usage for m in history if isinstance(m, AssistantMessage)),
            assistant("", u=usage(100, 10)).usage,
            summaries,
        ]
    )


async def test_too_little_history_is_not_compacted(sse_server: SSEServer, store: SessionStore, project: Path) -> None:
    scripted = ScriptedModel(sse_server)
    session = store.create(project, None)
    session.append_message(user("hi"))
    assert await compact(session, scripted.model, options=FAST) is None
    assert scripted.requests == []
    assert compaction_entries(session) == []


async def test_compaction_mid_tool_loop_through_the_agent(
    sse_server: SSEServer, store: SessionStore, project: Path
) -> None:
    big = "x" * 2_000  # 500 tokens each way: in the call's arguments and in its result
    scripted = ScriptedModel(
        sse_server,
        echo_turn(1, big + "1", prompt_tokens=1_500),
        echo_turn(2, big + "2", prompt_tokens=2_600),
        echo_turn(3, big + "3", prompt_tokens=3_700),
        echo_turn(4, big + "4", prompt_tokens=4_800),
        summary_turn("LOOP-SUMMARY"),
        echo_turn(5, big + "5", prompt_tokens=1_300),
        ScriptedTurn(text="all done", prompt_tokens=1_900),
    )
    model = msgspec.structs.replace(scripted.model, context_window=6_000)
    settings = CompactionSettings(reserve_tokens=1_000, keep_recent_tokens=800)  # compact above 5,000
    session = store.create(project, "scripted/scripted-model")
    echo = EchoTool()
    compactor = Compactor(model, session=session, settings=settings, options=FAST)
    agent = Agent(
        model,
        system_prompt="SYSTEM",
        tools=[echo],
        options=FAST,
        hooks=compactor.hooks(),
    )
    record(agent, session)
    run = await agent.prompt("START-PROMPT")

    assert run.stop_reason == "completed"
    assert len(echo.calls) == 5, "every tool ran once"
    assert len(scripted.requests) == 7
    # Calls 1-4 went out whole; before call 5 (4,800 reported + 500 new > 5,000) the loop
    # paused for a summary, then carried on with the compacted context.
    for i in range(4):
        assert wire_texts(scripted.request_body(i))[1] == "START-PROMPT"
    summary_request = wire_texts(scripted.request_body(4))
    assert summary_request[0] == SYSTEM_PROMPT
    assert "[User]\nSTART-PROMPT" in summary_request[1]
    fifth = scripted.request_messages(5)
    assert wire_texts(scripted.request_body(5))[0] == "SYSTEM"
    assert wire_texts(scripted.request_body(5))[1].startswith(SUMMARY_PREFIX)
    assert "START-PROMPT" not in [m.get("content") for m in fifth]
    # Kept verbatim: the fourth call and its result, together.
    assert [m["role"] for m in fifth] == ["system", "user", "assistant", "tool"]
    assert fifth[2]["tool_calls"][0]["id"] == "c4"
    assert fifth[3]["tool_call_id"] == "c4"
    # The next call in the loop reuses the summary (fresh usage says there is room).
    sixth = scripted.request_messages(6)
    assert [m["role"] for m in sixth] == ["system", "user", "assistant", "tool", "assistant", "tool"]
    assert wire_texts(scripted.request_body(6))[1].startswith(SUMMARY_PREFIX)

    assert len(agent.messages) == 12, "the agent's own history is whole"
    [entry] = compaction_entries(session)
    assert entry.trigger == "threshold"
    assert entry.tokens_before == 4_800 + 5 + 501  # the reported figure + the 2,001-char result
    kept_entry = session.entry(entry.first_kept or "")
    assert isinstance(kept_entry, MessageEntry)
    assert isinstance(kept_entry.message, AssistantMessage)
    assert kept_entry.message.tool_calls[0].id == "c4"
    session.close()
    resumed = Session.load(session.path)
    assert len(resumed.messages()) == 1 + 4 + 1
    totals, expected = resumed.usage_totals(), sum_usage([agent.usage_totals(), entry.usage])
    assert (totals.input, totals.output, totals.total_tokens) == (
        expected.input,
        expected.output,
        expected.total_tokens,
    )
    assert totals.cost.total == pytest.approx(expected.cost.total)
    assert entry.usage.cost.total > 0
    assert (
        resumed.by_model()["scripted/scripted-model"].input
        == sum(m.usage.input for m in agent.messages if isinstance(m, AssistantMessage)) + entry.usage.input
    )


async def test_overflow_recovery_retries_without_repeating_the_prompt_or_tools(
    sse_server: SSEServer, store: SessionStore, project: Path
) -> None:
    text = "t" * 400
    scripted = ScriptedModel(
        sse_server,
        echo_turn(1, text),
        ScriptedTurn(text="first done", prompt_tokens=3_000),
        OVERFLOW,
        summary_turn("OVERFLOW-SUMMARY"),
        ScriptedTurn(text="second done"),
    )
    session = store.create(project, "scripted/scripted-model")
    echo = EchoTool()
    compactor = Compactor(scripted.model, session=session, options=FAST)
    agent = Agent(
        scripted.model,
        tools=[echo],
        options=FAST,
        hooks=compactor.hooks(),
    )
    record(agent, session)
    await agent.prompt("FIRST-PROMPT")
    run = await agent.prompt("SECOND-PROMPT")

    assert run.stop_reason == "completed"
    assert len(scripted.requests) == 5
    assert wire_texts(scripted.request_body(2)).count("SECOND-PROMPT") == 1  # the rejected call
    assert wire_texts(scripted.request_body(3))[0] == SYSTEM_PROMPT
    retried = wire_texts(scripted.request_body(4))
    assert retried.count("SECOND-PROMPT") == 1, "the prompt is sent once"
    assert retried[-1] == "SECOND-PROMPT"
    assert retried[0].startswith(SUMMARY_PREFIX)
    assert "FIRST-PROMPT" not in retried
    assert echo.calls == [text], "no tool ran again"
    # The agent adopted the compacted history; the session agrees with it.
    assert texts(agent.messages)[-2:] == ["SECOND-PROMPT", "second done"]
    assert agent.messages == session.messages()
    user_entries = [
        e
        for e in session.all_entries()
        if isinstance(e, MessageEntry) and e.message == UserMessage("SECOND-PROMPT", timestamp=e.message.timestamp)
    ]
    assert len(user_entries) == 1
    [entry] = compaction_entries(session)
    assert entry.trigger == "overflow"
    assert entry.usage.input == 2_000
    assert session.usage_totals().input == 10 + 3_000 + 10 + 2_000


async def test_a_resumed_session_does_not_compact_on_stale_figures(
    sse_server: SSEServer, store: SessionStore, project: Path
) -> None:
    scripted = ScriptedModel(sse_server)  # any request would fail: no reply is scripted
    session = store.create(project, None)
    session.append_message(user("old"))
    kept = session.append_message(user("kept"))
    session.append_message(assistant("reply", u=usage(120_000, 100)))  # near the 128k window then
    session.append_compaction("S", first_kept=kept.id, tokens_before=120_100, model="m/m", usage=usage(10))
    session.close()

    resumed = Session.load(session.path)
    history = resumed.messages()
    assert should_compact(history, scripted.model), "the kept reply's figure alone says full"
    compactor = Compactor(scripted.model, session=resumed, options=FAST)
    assert await compactor.transform_context(history) == history
    assert scripted.requests == []
    assert compactor.errors == []


async def test_a_failed_threshold_compaction_lets_the_call_go_ahead(
    sse_server: SSEServer, store: SessionStore, project: Path
) -> None:
    scripted = ScriptedModel(sse_server, Reply.error(500, {"error": {"message": "summariser down"}}))
    model = msgspec.structs.replace(scripted.model, context_window=3_000)
    session = store.create(project, None)
    history: list[Message] = [user("a" * 4_000), assistant("b" * 4_000, u=usage(2_500)), user("c" * 400)]
    for m in history:
        session.append_message(m)
    compactor = Compactor(
        model, session=session, settings=CompactionSettings(reserve_tokens=500, keep_recent_tokens=500), options=FAST
    )
    assert await compactor.transform_context(list(history)) == history
    assert len(compactor.errors) == 1
    assert compaction_entries(session) == []
    assert session.all_entries()[-1].__class__.__name__ == "UsageEntry"


async def test_compaction_needs_the_agents_messages_in_the_session(
    sse_server: SSEServer, store: SessionStore, project: Path
) -> None:
    scripted = ScriptedModel(sse_server, summary_turn("never used"))
    session = store.create(project, None)
    compactor = Compactor(scripted.model, session=session, options=FAST)
    history: list[Message] = [user("a" * 4_000), assistant("b" * 4_000), ToolResultMessage("x", "y", "z"), user("c")]
    with pytest.raises(Exception, match="not in the session"):
        await compactor.compact(history)
    assert scripted.requests == [], "checked before spending anything"


async def test_a_cheaper_summariser_of_another_provider_never_gets_this_providers_key(
    sse_server: SSEServer, store: SessionStore, project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHEAP_KEY", "sk-cheap")
    scripted = ScriptedModel(sse_server, summary_turn("CHEAP-SUMMARY", prompt_tokens=700))
    cheap = msgspec.structs.replace(scripted.model, provider="cheap", id="mini", api_key_env="CHEAP_KEY")
    session = store.create(project, "scripted/scripted-model")
    history: list[Message] = [user("a" * 4_000), assistant("b" * 4_000), user("c" * 4_000), assistant("d")]
    for m in history:
        session.append_message(m)
    options = msgspec.structs.replace(FAST, api_key="sk-main")
    done = await compact(session, scripted.model, summary_model=cheap, options=options)
    assert done is not None
    assert done.model == "cheap/mini"
    assert sse_server.requests[0].headers["authorization"] == "Bearer sk-cheap"
    assert scripted.request_body(0)["model"] == "mini"
    assert session.by_model()["cheap/mini"].input == 700


async def test_hooks_join_the_agents_other_hooks(sse_server: SSEServer) -> None:
    async def deny_nothing(call: object, args: object) -> None:
        return None

    compactor = Compactor(ScriptedModel(sse_server).model)
    hooks = compactor.hooks(Hooks(before_tool_call=deny_nothing))
    assert hooks.before_tool_call is deny_nothing
    assert hooks.transform_context == compactor.transform_context
    assert hooks.on_context_overflow == compactor.on_context_overflow
