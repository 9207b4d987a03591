"""Running totals equal a fresh `sum_usage` exactly, and cost nothing to ask for."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from skipjack.llm.types import AssistantMessage, Cost, Usage
from skipjack.llm.usage import sum_usage
from skipjack.sessions import Session, SessionStore
from skipjack.sessions.format import CompactionEntry, MessageEntry, UsageEntry
from skipjack.sessions.tally import UsageTally

from .helpers import assistant, call, result, usage, user


def _random_usage(rng: random.Random) -> Usage:
    # Magnitudes from 1e-12 to 1e3 USD, so naive running sums would round differently.
    costs = [rng.choice([0.0, 10 ** rng.uniform(-12, 3)]) for _ in range(4)]
    tokens = [rng.randrange(0, 10**7) for _ in range(4)]
    return Usage(*tokens, sum(tokens), Cost(*costs, total=sum(costs) * rng.choice([1.0, 1.0000001])))


def test_the_tally_is_sum_usage_bit_for_bit() -> None:
    rng = random.Random(22)
    for n in (0, 1, 2, 17, 1000):
        items = [_random_usage(rng) for _ in range(n)]
        tally = UsageTally()
        for u in items:
            tally.add(u)
        assert tally.total() == sum_usage(items), n


def _recount(session: Session, include_forked: bool) -> tuple[Usage, dict[str, Usage], int]:
    items = list(session.usage_items(include_forked=include_forked))
    groups: dict[str, list[Usage]] = {}
    for ref, u in items:
        groups.setdefault(ref, []).append(u)
    skip = session.header.forked_from.entries if session.header.forked_from and not include_forked else 0
    unpriced = 0
    for e in session.all_entries()[skip:]:
        if isinstance(e, MessageEntry) and isinstance(e.message, AssistantMessage):
            unpriced += e.message.cost_source == "unknown"
        elif isinstance(e, CompactionEntry | UsageEntry):
            unpriced += e.cost_source == "unknown"
    return sum_usage(u for _, u in items), {r: sum_usage(us) for r, us in groups.items()}, unpriced


def test_session_totals_match_a_recount_through_forks_and_reloads(store: SessionStore, project: Path) -> None:
    s = store.create(project, "p/m")
    s.append_message(user("go"))
    for i in range(30):
        s.append_message(assistant(calls=[call(f"c{i}")], u=usage(1000 + i, 37 * i, 11 * i), model=f"m{i % 3}"))
        s.append_message(result(f"c{i}", "ok"))
    s.append_usage("p/retry", usage(5, 0), "retry", cost_source="unknown")
    mid = s.all_entries()[20].id
    s.close()
    fork = store.fork(s.id, mid)
    fork.append_message(user("more"))
    fork.append_message(assistant("done", u=usage(7, 7)))
    fork.append_usage("p/other", usage(3, 3), "subagent")
    for session in (Session.load(s.path), fork, Session.load(fork.path)):
        for include_forked in (True, False):
            totals, by_model, unpriced = _recount(session, include_forked)
            assert session.usage_totals(include_forked=include_forked) == totals
            assert session.by_model(include_forked=include_forked) == by_model
            assert session.unpriced_requests(include_forked=include_forked) == unpriced
    assert fork.usage_totals(include_forked=False) != fork.usage_totals(include_forked=True)
    fork.close()


class _CountingList(list):  # type: ignore[type-arg]
    walks = 0

    def __iter__(self) -> Any:
        _CountingList.walks += 1
        return super().__iter__()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, slice):
            _CountingList.walks += 1
        return super().__getitem__(key)


def test_asking_for_totals_does_not_walk_the_session(store: SessionStore, project: Path) -> None:
    s = store.create(project, "p/m")
    for i in range(200):
        s.append_message(assistant(f"a{i}", u=usage(10, 10)))
    s._entries = _CountingList(s._entries)
    _CountingList.walks = 0
    for _ in range(20):
        s.append_message(assistant("x", u=usage(1, 1)))
        assert s.usage_totals().input == 10 * 200 + 1 * (_ + 1)
        s.by_model()
        s.unpriced_requests()
    assert _CountingList.walks == 0
    s.close()
