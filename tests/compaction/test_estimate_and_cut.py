"""When to compact, and where the kept part may begin."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.sessions.helpers import assistant, call, result, usage, user

from skipjack.compaction import estimate_context_tokens, estimate_tokens, find_cut, should_compact
from skipjack.config import CompactionSettings
from skipjack.llm import AssistantMessage, ImageContent, Message, Model, TextContent, ThinkingContent, ToolResultMessage

MODEL = Model(provider="t", id="m", api="openai-chat", base_url="http://127.0.0.1:9", context_window=10_000)
SETTINGS = CompactionSettings(reserve_tokens=2_000, keep_recent_tokens=1_000)  # compact above 8,000


def test_estimate_counts_every_part_sent_back() -> None:
    a = AssistantMessage(
        content=[TextContent("a" * 40), ThinkingContent("t" * 40), call("c1", path="x" * 30)],
        api="openai-chat",
        provider="t",
        model="m",
        usage=usage(),
        stop_reason="tool_use",
    )
    assert estimate_tokens(a) == (40 + 40 + len("read") + len('{"path": "' + "x" * 30 + '"}') + 3) // 4
    assert estimate_tokens(user("abcd" * 10)) == 10
    assert (
        estimate_tokens(ToolResultMessage("c", "read", [TextContent("x" * 8), ImageContent("AAAA", "image/png")]))
        == 2 + 1_200
    )


def test_the_last_reported_usage_plus_what_came_after() -> None:
    reported = assistant("x", calls=[call("c1")], u=usage(1_000, 500, cache_read=5_000, cache_write=1_000))
    msgs: list[Message] = [user("q"), reported, result("c1", "y" * 2_000)]
    assert estimate_context_tokens(msgs) == 7_500 + 500
    assert not should_compact(msgs, MODEL, SETTINGS), "8,000 is exactly the limit"
    msgs.append(user("z" * 4))
    assert estimate_context_tokens(msgs) == 8_001
    assert should_compact(msgs, MODEL, SETTINGS)


def test_figures_that_do_not_describe_the_context_are_not_used() -> None:
    big = assistant("x", u=usage(9_000, 100))
    failed = assistant("", u=usage(20_000), stop="error")
    msgs: list[Message] = [user("q"), big, user("r"), failed]
    # A failed request's figure is skipped; the one before it counts.
    assert estimate_context_tokens(msgs) == 9_100 + 1 + estimate_tokens(failed)
    assert should_compact(msgs, MODEL, SETTINGS)
    # After a compaction, kept messages report the old, bigger context: estimate instead.
    assert estimate_context_tokens(msgs, usage_from=2) == sum(estimate_tokens(m) for m in msgs)
    assert not should_compact(msgs, MODEL, SETTINGS, usage_from=2)


def test_disabled_or_unknown_window_never_compacts() -> None:
    msgs: list[Message] = [user("q"), assistant("x", u=usage(9_999_999))]
    assert not should_compact(msgs, MODEL, CompactionSettings(enabled=False))
    unknown = Model(provider="t", id="m", api="openai-chat", base_url="http://x", context_window=0)
    assert not should_compact(msgs, unknown, SETTINGS)
    assert should_compact(msgs, MODEL)  # defaults: 16k reserve of a 10k window


def test_cut_never_separates_calls_from_results() -> None:
    big = "w" * 400  # 100 tokens
    msgs: list[Message] = [
        user(big),  # 0
        assistant(big, calls=[call("a"), call("b")]),  # 1
        result("a", big),  # 2
        result("b", big),  # 3
        assistant(big),  # 4
        user(big),  # 5
        assistant("", calls=[call("c", path=big)]),  # 6
        result("c", big),  # 7
    ]
    assert find_cut(msgs, 0) == 7 - 1, "the last result stays with its call"
    assert find_cut(msgs, 150) == 6
    assert find_cut(msgs, 250) == 5
    assert find_cut(msgs, 350) == 4
    # 450 tokens reach into the results of message 1: the cut moves back to before it.
    assert find_cut(msgs, 450) == 1
    assert find_cut(msgs, 650) == 1
    assert find_cut(msgs, 10_000) == 0, "everything fits: nothing to summarise"
    assert find_cut(msgs, 10_000, start=1) == 1


@st.composite
def histories(draw: st.DrawFn) -> list[Message]:
    msgs: list[Message] = []
    n = 0
    for _ in range(draw(st.integers(1, 4))):
        msgs.append(user("u" * draw(st.integers(0, 400))))
        for _ in range(draw(st.integers(0, 3))):
            ids = [f"c{n + k}" for k in range(draw(st.integers(1, 3)))]
            n += len(ids)
            msgs.append(assistant("a" * draw(st.integers(0, 200)), calls=[call(i) for i in ids]))
            msgs += [result(i, "r" * draw(st.integers(0, 800))) for i in ids]
        msgs.append(assistant("done" * draw(st.integers(0, 50))))
    return msgs


@given(histories(), st.integers(0, 2_000), st.integers(0, 1))
@settings(max_examples=300, deadline=None)
def test_cut_properties(msgs: list[Message], keep: int, start: int) -> None:
    cut = find_cut(msgs, keep, start=start)
    tokens = [estimate_tokens(m) for m in msgs]

    def boundary(i: int) -> bool:
        return i == len(msgs) or not isinstance(msgs[i], ToolResultMessage)

    assert start <= cut <= len(msgs)
    assert boundary(cut) or cut == start
    if cut > start:
        assert sum(tokens[cut:]) >= keep, "at least keep_recent_tokens are kept"
    assert cut < len(msgs), "the newest message is always kept"
    # The latest such boundary: any later one would keep too little.
    for later in range(cut + 1, len(msgs)):
        if boundary(later):
            assert sum(tokens[later:]) < keep
    # No kept result whose call was summarised.
    kept_calls = {c.id for m in msgs[cut:] if isinstance(m, AssistantMessage) for c in m.tool_calls}
    for m in msgs[cut:]:
        if isinstance(m, ToolResultMessage):
            assert m.tool_call_id in kept_calls


def test_the_input_limit_not_the_window_triggers_compaction() -> None:
    """gpt-5 takes 272k of prompt in its 400k window: compaction must start below 272k."""
    from skipjack.compaction.estimate import context_limit

    reserve = CompactionSettings(reserve_tokens=16_384)
    gpt5 = Model("openai", "gpt-5", "openai-responses", "https://x", context_window=400_000, max_input=272_000)
    assert context_limit(gpt5, reserve) == 272_000 - 16_384
    # A max_input not smaller than the window changes nothing; nor does an unknown window.
    same = Model("p", "m", "openai-chat", "https://x", context_window=128_000, max_input=128_000)
    assert context_limit(same, reserve) == 128_000 - 16_384
    assert context_limit(Model("p", "m", "openai-chat", "https://x", max_input=50_000), reserve) == 50_000 - 16_384
    assert context_limit(Model("p", "m", "openai-chat", "https://x"), reserve) is None
