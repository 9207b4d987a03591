"""Usage and cost: per message from the core, per session and per model, over real runs."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from tests.conftest import SSE_FIXTURES

from skipjack.agent import Agent
from skipjack.llm import AssistantMessage, Context, Model, UserMessage, stream
from skipjack.sessions import Session, SessionStore, sum_usage
from skipjack.sessions.recorder import SessionRecorder, record
from skipjack.testing import SCRIPTED_PRICE, Reply, ScriptedModel, ScriptedTurn, SSEServer, sse_body

from .helpers import FAST, EchoTool, assistant, echo_turn, usage, user

# $3 / $15 / $0.30 / $3.75 per million: input, output, cache read, cache write.
assert (SCRIPTED_PRICE.input, SCRIPTED_PRICE.output, SCRIPTED_PRICE.cache_read, SCRIPTED_PRICE.cache_write) == (
    3.0,
    15.0,
    0.3,
    3.75,
)


async def test_cache_heavy_openai_turns_cost_what_the_prices_say(
    sse_server: SSEServer, store: SessionStore, project: Path
) -> None:
    # 120k prompt tokens of which 110k were cache hits, then 2k out: input excludes the hits.
    scripted = ScriptedModel(
        sse_server,
        echo_turn(1, prompt_tokens=120_000, cached_tokens=110_000, completion_tokens=2_000),
        ScriptedTurn(text="done", prompt_tokens=122_500, cached_tokens=121_900, completion_tokens=300),
    )
    session = store.create(project, "scripted/scripted-model")
    agent = Agent(scripted.model, tools=[EchoTool()], options=FAST)
    record(agent, session)
    await agent.prompt("go")

    first, second = [m for m in session.messages() if isinstance(m, AssistantMessage)]
    u = first.usage
    assert (u.input, u.cache_read, u.cache_write, u.output, u.total_tokens) == (10_000, 110_000, 0, 2_000, 122_000)
    assert u.cost.input == pytest.approx(0.030)
    assert u.cost.cache_read == pytest.approx(0.033)
    assert u.cost.output == pytest.approx(0.030)
    assert u.cost.total == pytest.approx(0.093)
    assert second.usage.cost.total == pytest.approx(600 * 3e-6 + 121_900 * 0.3e-6 + 300 * 15e-6)

    totals = Session.load(session.path).usage_totals()
    assert totals.input == 10_600
    assert totals.cache_read == 231_900
    assert totals.output == 2_300
    assert totals.cost.total == pytest.approx(0.093 + 0.0018 + 0.03657 + 0.0045)
    assert totals.cost.total == pytest.approx(agent.usage_totals().cost.total)
    # Without the cache, the same tokens would have cost ten times the cached part.
    uncached = (totals.input + totals.cache_read) * 3e-6 + totals.output * 15e-6
    assert round(uncached - totals.cost.total, 2) == round(231_900 * (3.0 - 0.3) / 1e6, 2)


async def test_cache_writes_priced_through_the_anthropic_path(
    sse_server: SSEServer, store: SessionStore, project: Path
) -> None:
    sse_server.enqueue(Reply.sse((SSE_FIXTURES / "anthropic" / "cache_usage.sse").read_bytes()))
    model = Model(
        provider="anthropic",
        id="claude-sonnet-4-5",
        api="anthropic-messages",
        base_url=sse_server.root_url,
        price=SCRIPTED_PRICE,
    )
    s = stream(model, Context(messages=[UserMessage("notes?")]), api_key="k", retry=FAST.retry)
    message = await s.result()
    u = message.usage
    assert (u.input, u.cache_write, u.cache_read, u.output) == (14, 1_200, 30_000, 57)
    expected = 14 * 3e-6 + 1_200 * 3.75e-6 + 30_000 * 0.3e-6 + 57 * 15e-6
    assert u.cost.cache_write == pytest.approx(0.0045)
    assert u.cost.total == pytest.approx(expected)
    session = store.create(project, "anthropic/claude-sonnet-4-5")
    session.append_message(UserMessage("notes?"))
    session.append_message(message)
    session.close()
    assert Session.load(session.path).by_model() == {"anthropic/claude-sonnet-4-5": u}


async def test_totals_include_failed_requests_and_summaries(
    sse_server: SSEServer, store: SessionStore, project: Path
) -> None:
    # A stream that reports usage and then fails: the tokens were spent and are billed.
    chunk = {"id": "x", "object": "chat.completion.chunk", "model": "m"}
    failing = sse_body(
        [
            {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Partial"}}]},
            {**chunk, "choices": [], "usage": {"prompt_tokens": 5_000, "completion_tokens": 20}},
            {**chunk, "choices": [], "error": {"code": "server_error", "message": "Provider disconnected"}},
        ],
        done=False,
    )
    scripted = ScriptedModel(sse_server, echo_turn(1, prompt_tokens=1_000), Reply.sse(failing))
    session = store.create(project, "scripted/scripted-model")
    agent = Agent(scripted.model, tools=[EchoTool()], options=FAST)
    recorder = SessionRecorder(session)
    agent.subscribe(recorder)
    result = await agent.prompt("go")
    assert result.stop_reason == "error"
    failed = session.messages()[-1]
    assert isinstance(failed, AssistantMessage)
    assert failed.stop_reason == "error"
    assert failed.usage.input == 5_000

    session.append_compaction(
        "s", first_kept=None, tokens_before=6_000, model="cheap/summariser", usage=usage(4_000, 300), requests=2
    )
    session.append_usage("cheap/summariser", usage(900), "failed compaction")
    session.close()
    loaded = Session.load(session.path)
    message_costs = [m.usage.cost.total for m in loaded.messages() if isinstance(m, AssistantMessage)]
    assert message_costs == [], "the compaction kept nothing"
    all_messages = [e.message for e in loaded.all_entries() if hasattr(e, "message")]
    costs = [m.usage.cost.total for m in all_messages if isinstance(m, AssistantMessage)]
    assert len(costs) == 2
    expected = math.fsum([*costs, usage(4_000, 300).cost.total, usage(900).cost.total])
    assert loaded.usage_totals().cost.total == pytest.approx(expected)
    assert loaded.usage_totals().input == 1_000 + 5_000 + 4_000 + 900
    by_model = loaded.by_model()
    assert set(by_model) == {"scripted/scripted-model", "cheap/summariser"}
    assert by_model["cheap/summariser"].input == 4_900
    assert by_model["scripted/scripted-model"].cost.total == pytest.approx(agent.usage_totals().cost.total)
    assert sum_usage(by_model.values()) == loaded.usage_totals()
    assert recorder.errors == []
    run_end = loaded.all_entries()[-3]
    assert getattr(run_end, "name", None) == "run_end"
    assert getattr(run_end, "data", None) == {
        "stop_reason": "error",
        "turns": 2,
        "error_kind": "server",
        "error_message": failed.error_message,
    }


def test_totals_over_many_small_costs_are_exact_to_the_cent(store: SessionStore, project: Path) -> None:
    s = store.create(project, None)
    n = 3_000
    per = usage(1_234, 56, cache_read=7_890, cache_write=321)
    for i in range(n):
        s.append_message(user(str(i)))
        s.append_message(assistant(str(i), u=per))
    totals = s.usage_totals()
    assert totals.input == 1_234 * n
    assert totals.total_tokens == (1_234 + 56 + 7_890 + 321) * n
    assert totals.cost.total == math.fsum([per.cost.total] * n)
    assert round(totals.cost.total, 2) == round(per.cost.total * n, 2)
    assert totals.cost.total == pytest.approx(
        totals.cost.input + totals.cost.output + totals.cost.cache_read + totals.cost.cache_write
    )
    s.close()
    assert Session.load(s.path).usage_totals() == totals


async def test_recorded_session_resumes_the_agents_exact_history(
    sse_server: SSEServer, store: SessionStore, project: Path
) -> None:
    scripted = ScriptedModel(
        sse_server, echo_turn(1), echo_turn(2), ScriptedTurn(text="done"), ScriptedTurn(text="again")
    )
    session = store.create(project, "scripted/scripted-model")
    agent = Agent(scripted.model, tools=[EchoTool()], options=FAST)
    record(agent, session)
    await agent.prompt("go")
    session.close()

    resumed = store.latest(project)
    assert resumed is not None
    assert resumed.messages() == agent.messages
    again = Agent(scripted.model, tools=[EchoTool()], options=FAST, messages=resumed.messages())
    record(again, resumed)
    await again.prompt("once more")
    resumed.close()
    final = Session.load(resumed.path)
    assert final.messages() == again.messages
    assert len(final.messages()) == 8
    assert final.usage_totals() == sum_usage(m.usage for m in again.messages if isinstance(m, AssistantMessage))
