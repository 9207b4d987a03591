"""Loaded histories are always valid for every wire API, whatever a killed run left behind."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from skipjack.agent import Agent
from skipjack.agent.tool_pairing import INTERRUPTED, pair_tool_results
from skipjack.llm import AssistantMessage, Message, TextContent, ToolCall, ToolResultMessage, UserMessage
from skipjack.sessions import Session, SessionStore
from skipjack.testing import openai_chat_problem, scripted_model

from .helpers import assistant


def call(i: str, name: str = "bash") -> ToolCall:
    return ToolCall(i, name, {"command": f"echo {i}"})


def result(i: str, text: str = "ok", name: str = "bash") -> ToolResultMessage:
    return ToolResultMessage(i, name, [TextContent(text)])


def wire(messages: list[Message]) -> dict[str, Any]:
    """The OpenAI chat shape of the tool structure (enough for the provider's checks)."""
    out: list[dict[str, Any]] = []
    for m in messages:
        if isinstance(m, AssistantMessage):
            out.append({"role": "assistant", "tool_calls": [{"id": c.id} for c in m.tool_calls] or None})
        elif isinstance(m, ToolResultMessage):
            out.append({"role": "tool", "tool_call_id": m.tool_call_id})
        else:
            out.append({"role": "user"})
    return {"messages": out}


def texts(messages: list[Message]) -> list[str]:
    out = []
    for m in messages:
        if isinstance(m, ToolResultMessage):
            first = m.content[0]
            assert isinstance(first, TextContent)
            out.append(f"{m.tool_call_id}:{'INTERRUPTED' if first.text == INTERRUPTED else first.text}")
        elif isinstance(m, AssistantMessage):
            out.append("A[" + ",".join(c.id for c in m.tool_calls) + "]")
        else:
            assert isinstance(m, UserMessage)
            out.append(f"U:{m.content}")
    return out


def test_the_invalid_histories_a_kill_leaves_are_rejected_by_the_provider_check() -> None:
    """The check the validating server applies, so the repair is tested against it."""
    assert openai_chat_problem(wire([UserMessage("go"), assistant(calls=[call("a")])])) is not None
    assert openai_chat_problem(wire([UserMessage("go"), assistant(calls=[call("a")]), UserMessage("more")])) is not None
    assert openai_chat_problem(wire([UserMessage("go"), result("a")])) is not None
    assert openai_chat_problem(wire([UserMessage("go"), assistant(calls=[call("a")]), result("a"), result("a")]))
    assert openai_chat_problem(wire([UserMessage("go"), assistant(calls=[call("a")]), result("a")])) is None


CASES: dict[str, tuple[list[Message], list[str]]] = {
    "killed before any result": (
        [UserMessage("go"), assistant(calls=[call("a"), call("b")])],
        ["U:go", "A[a,b]", "a:INTERRUPTED", "b:INTERRUPTED"],
    ),
    "killed after some results": (
        [UserMessage("go"), assistant(calls=[call("a"), call("b"), call("c")]), result("b", "B")],
        ["U:go", "A[a,b,c]", "a:INTERRUPTED", "b:B", "c:INTERRUPTED"],
    ),
    "resumed: a user message after the unanswered call": (
        [UserMessage("go"), assistant(calls=[call("a")]), UserMessage("again"), assistant("fine")],
        ["U:go", "A[a]", "a:INTERRUPTED", "U:again", "A[]"],
    ),
    "a late result after the user's message moves up": (
        [UserMessage("go"), assistant(calls=[call("a")]), UserMessage("again"), result("a", "late")],
        ["U:go", "A[a]", "a:late", "U:again"],
    ),
    "results in the wrong order": (
        [UserMessage("go"), assistant(calls=[call("a"), call("b")]), result("b", "B"), result("a", "A")],
        ["U:go", "A[a,b]", "a:A", "b:B"],
    ),
    "an orphan result (its call was compacted away or never written)": (
        [UserMessage("summary"), result("x"), UserMessage("go"), assistant("hi")],
        ["U:summary", "U:go", "A[]"],
    ),
    "a result for another message's call": (
        [UserMessage("go"), assistant(calls=[call("a")]), result("a"), assistant(calls=[call("b")]), result("a", "2")],
        ["U:go", "A[a]", "a:ok", "A[b]", "b:INTERRUPTED"],
    ),
    "a duplicate result": (
        [UserMessage("go"), assistant(calls=[call("a")]), result("a", "1"), result("a", "2")],
        ["U:go", "A[a]", "a:1"],
    ),
    "a model that reuses a call id: the k-th call takes the k-th result": (
        [UserMessage("go"), assistant(calls=[call("a"), call("a")]), result("a", "1")],
        ["U:go", "A[a,a]", "a:1", "a:INTERRUPTED"],
    ),
    "a valid history is kept as it is": (
        [UserMessage("go"), assistant(calls=[call("a")]), result("a"), assistant("done"), UserMessage("next")],
        ["U:go", "A[a]", "a:ok", "A[]", "U:next"],
    ),
}


def test_every_case_is_repaired_into_a_valid_history() -> None:
    for name, (messages, expected) in CASES.items():
        repaired = pair_tool_results(messages)
        assert texts(repaired) == expected, name
        assert openai_chat_problem(wire(repaired)) is None, name
        assert pair_tool_results(repaired) == repaired, f"{name}: repairing twice changes nothing"


def test_a_synthesized_result_is_an_error_naming_the_call() -> None:
    asked = assistant(calls=[call("a", "edit")])
    (made,) = pair_tool_results([UserMessage("go"), asked])[2:]
    assert isinstance(made, ToolResultMessage)
    assert (made.tool_call_id, made.tool_name, made.is_error, made.timestamp) == ("a", "edit", True, asked.timestamp)


def test_a_loaded_session_and_the_agent_get_the_repaired_history(store: SessionStore, project: Path) -> None:
    s = store.create(project, "test/test-model")
    s.append_message(UserMessage("go"))
    asked = s.append_message(assistant(calls=[call("a"), call("b")]))
    s.append_message(result("b", "B"))
    s.append_message(result("zz", "orphan"))
    s.close()

    loaded = Session.load(s.path)
    assert texts(loaded.messages()) == ["U:go", "A[a,b]", "a:INTERRUPTED", "b:B"]
    # A synthesized result stands on the id of the message that asked for it.
    assert [i for i, _ in loaded.context_entries()][1:3] == [asked.id, asked.id]

    agent = Agent(scripted_model("http://127.0.0.1:9/v1"))
    agent.replace_messages([UserMessage("go"), assistant(calls=[call("a")]), UserMessage("again")])
    assert texts(agent.messages) == ["U:go", "A[a]", "a:INTERRUPTED", "U:again"]


def test_answer_open_calls_makes_the_file_itself_whole(store: SessionStore, project: Path) -> None:
    s = store.create(project, "test/test-model")
    s.append_message(UserMessage("go"))
    s.append_message(assistant(calls=[call("a"), call("b")]))
    s.append_message(result("a", "A"))
    s.close()

    loaded = Session.load(s.path)
    added = loaded.answer_open_calls()
    assert [r.tool_call_id for r in added] == ["b"]
    assert loaded.answer_open_calls() == [], "a second call adds nothing"
    loaded.close()
    again = Session.load(s.path)
    recorded = [e.message for e in again.all_entries() if hasattr(e, "message")]
    assert texts(recorded) == ["U:go", "A[a,b]", "a:A", "b:INTERRUPTED"]
    assert again.messages() == recorded


# -- any history a crash, a compaction or a hand edit could leave --------------------------

_IDS = st.sampled_from(["a", "b", "c"])
_MESSAGE = st.one_of(
    st.builds(lambda t: UserMessage(t), st.sampled_from(["u1", "u2"])),
    st.builds(lambda ids: assistant(calls=[call(i) for i in ids]), st.lists(_IDS, max_size=3)),
    st.builds(lambda i, t: result(i, t), _IDS, st.sampled_from(["r1", "r2"])),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_MESSAGE, max_size=12))
def test_any_history_comes_out_valid_and_keeps_what_it_can(messages: list[Message]) -> None:
    repaired = pair_tool_results(messages)
    assert openai_chat_problem(wire(repaired)) is None
    assert pair_tool_results(repaired) == repaired
    # User and assistant messages all stay, in their order.
    assert [m for m in repaired if not isinstance(m, ToolResultMessage)] == [
        m for m in messages if not isinstance(m, ToolResultMessage)
    ]
    # Every kept result is one that was recorded, and nothing recorded for a call is replaced
    # by a synthesized one when it sat between its call and the next assistant message.
    recorded = [m for m in messages if isinstance(m, ToolResultMessage)]
    for m in repaired:
        if isinstance(m, ToolResultMessage) and m.content != [TextContent(INTERRUPTED)]:
            assert m in recorded
    for i, m in enumerate(messages):
        if not isinstance(m, AssistantMessage) or not m.tool_calls:
            continue
        end = next((j for j in range(i + 1, len(messages)) if isinstance(messages[j], AssistantMessage)), len(messages))
        answered = {r.tool_call_id for r in messages[i + 1 : end] if isinstance(r, ToolResultMessage)}
        at = next(k for k, r in enumerate(repaired) if r is m)
        for k, c in enumerate(m.tool_calls):
            got = repaired[at + 1 + k]
            assert isinstance(got, ToolResultMessage)
            assert got.tool_call_id == c.id
            if c.id in answered and [x.id for x in m.tool_calls].count(c.id) == 1:
                assert got.content != [TextContent(INTERRUPTED)], "a recorded result was thrown away"
