"""`skipjack usage` over session files of several projects, days, models and providers.

The files are written with the session format's own encoder (what skipjack writes), and every
expected figure is summed here from the records the test made, independently of the report's
code, then compared to the cent-thousandth.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import isolated_env, run_cli

from skipjack.llm.types import AssistantMessage, Cost, CostSource, TextContent, Usage, UserMessage
from skipjack.sessions import SessionStore
from skipjack.sessions.format import (
    FORMAT_VERSION,
    CompactionEntry,
    Entry,
    MessageEntry,
    SessionHeader,
    UsageEntry,
    encoder,
)
from skipjack.sessions.store import project_dir_name

PRICES = {  # USD per million: input, output, cache read, cache write
    ("anthropic", "claude-sonnet-4-5"): (3.0, 15.0, 0.3, 3.75),
    ("openai", "gpt-5"): (1.25, 10.0, 0.125, 0.0),
    ("openrouter", "qwen/qwen3-coder"): (0.2, 0.8, 0.02, 0.0),
}
UNPRICED = ("anyapi", "openai/gpt-4.1")
DAY0 = datetime.datetime(2026, 10, 30, 12, 0, tzinfo=datetime.UTC)


@dataclass
class Made:
    """One request the test wrote, with what it should count as."""

    ts: int
    project: str
    session: str
    provider: str
    model: str
    kind: str
    requests: int
    usage: Usage
    source: CostSource

    @property
    def day(self) -> str:
        return datetime.datetime.fromtimestamp(self.ts / 1000, datetime.UTC).date().isoformat()


def usage_for(provider: str, model: str, inp: int, out: int, cr: int, cw: int, reported: float | None) -> Usage:
    price = PRICES.get((provider, model))
    if price is None:
        cost = Cost(0.0, 0.0, 0.0, 0.0, 0.0)
    else:
        parts = [n * p / 1e6 for n, p in zip((inp, out, cr, cw), price, strict=True)]
        cost = Cost(*parts, total=reported if reported is not None else math.fsum(parts))
    return Usage(inp, out, cr, cw, inp + out + cr + cw, cost)


class Corpus:
    def __init__(self, data: Path, seed: int = 7) -> None:
        self.root = data / "sessions"
        self.rng = random.Random(seed)
        self.made: list[Made] = []
        self.counter = 0

    def session(
        self, project: Path, entries: list[tuple[str, Any]], *, forked: tuple[str, int] | None = None
    ) -> tuple[str, Path]:
        self.counter += 1
        sid = f"20261030-12000{self.counter % 10}-{self.counter:06x}"
        from skipjack.sessions.format import ForkRef

        header = SessionHeader(
            version=FORMAT_VERSION,
            id=sid,
            created=int(DAY0.timestamp() * 1000),
            cwd=str(project),
            project=str(project),
            model=None,
            forked_from=ForkRef(forked[0], "e0", forked[1]) if forked else None,
        )
        folder = self.root / project_dir_name(project)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{sid}.jsonl"
        lines = [encoder.encode(header)]
        parent: str | None = None
        for i, (kind, spec) in enumerate(entries):
            eid = f"e{i}"
            entry = self._entry(kind, spec, eid, parent, str(project), sid, count=forked is None or i >= forked[1])
            lines.append(encoder.encode(entry))
            parent = eid
        path.write_bytes(b"\n".join(lines) + b"\n")
        return sid, path

    def _entry(self, kind: str, spec: Any, eid: str, parent: str | None, project: str, sid: str, count: bool) -> Entry:
        if kind == "user":
            return MessageEntry(eid, parent, spec, UserMessage("hello", timestamp=spec))
        ts, provider, model, tokens, reported = spec
        source: CostSource = (
            "unknown" if (provider, model) == UNPRICED else "provider" if reported is not None else "computed"
        )
        usage = usage_for(provider, model, *tokens, reported)
        made_kind = {"assistant": "turn", "compaction": "compaction", "retry": "retry"}[kind]
        requests = 3 if kind == "compaction" else 1
        if count:
            self.made.append(Made(ts, project, sid, provider, model, made_kind, requests, usage, source))
        if kind == "assistant":
            message = AssistantMessage(
                [TextContent("ok")], "openai-chat", provider, model, usage, "stop", cost_source=source, timestamp=ts
            )
            return MessageEntry(eid, parent, ts, message)
        if kind == "compaction":
            return CompactionEntry(
                eid, parent, ts, "summary", None, 1000, f"{provider}/{model}", usage, requests=3, cost_source=source
            )
        return UsageEntry(eid, parent, ts, f"{provider}/{model}", usage, "retried after 529", cost_source=source)

    def random_request(self, day: int) -> tuple[str, Any]:
        provider, model = self.rng.choice([*PRICES, UNPRICED])
        ts = int((DAY0 + datetime.timedelta(days=day, minutes=self.rng.randrange(600))).timestamp() * 1000)
        tokens = (
            self.rng.randrange(0, 40_000),
            self.rng.randrange(1, 4_000),
            self.rng.randrange(0, 200_000),
            self.rng.randrange(0, 9_000),
        )
        reported = (
            round(self.rng.uniform(0.001, 0.2), 6) if provider == "openrouter" and self.rng.random() < 0.5 else None
        )
        kind = self.rng.choice(["assistant"] * 8 + ["compaction", "retry"])
        return kind, (ts, provider, model, tokens, reported)


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Corpus, dict[str, str], list[Path]]:
    env = isolated_env(tmp_path) | {"TZ": "UTC"}
    c = Corpus(Path(env["SKIPJACK_DATA_DIR"]))
    projects = [tmp_path / "proj a", tmp_path / "proj-b", tmp_path / "~c"]
    for p in projects:
        p.mkdir()
    for day in range(0, 40, 3):  # across a month boundary and several ISO weeks
        for p in projects:
            entries: list[tuple[str, Any]] = [("user", int((DAY0 + datetime.timedelta(days=day)).timestamp() * 1000))]
            entries += [c.random_request(day) for _ in range(c.rng.randrange(1, 6))]
            c.session(p, entries)
    # A fork: its first 3 entries are copies of its parent's, already counted there.
    parent_entries: list[tuple[str, Any]] = [("user", int(DAY0.timestamp() * 1000))]
    parent_entries += [c.random_request(1) for _ in range(2)]
    parent, _ = c.session(projects[0], parent_entries)
    c.session(projects[0], [*parent_entries, c.random_request(2)], forked=(parent, 3))
    return c, env, projects


def report(env: dict[str, str], cwd: Path, *args: str) -> dict[str, Any]:
    out = run_cli("usage", *args, "--json", cwd=cwd, env=env)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def expected(made: list[Made], key: Any) -> dict[str, dict[str, float]]:
    rows: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    costs: dict[str, list[float]] = defaultdict(list)
    for m in made:
        row = rows[key(m)]
        row["requests"] += m.requests
        row["input"] += m.usage.input
        row["output"] += m.usage.output
        row["cache_read"] += m.usage.cache_read
        row["cache_write"] += m.usage.cache_write
        if m.source == "unknown":
            row["unpriced"] += m.requests
        else:
            costs[key(m)].append(m.usage.cost.total)
            if m.source == "provider":
                row["provider_cost"] += m.usage.cost.total
    for k, row in rows.items():
        row["cost"] = sum(costs[k])
    return rows


def check_rows(document: dict[str, Any], want: dict[str, dict[str, float]]) -> None:
    got = {r["key"]: r for r in document["rows"]}
    assert set(got) == set(want)
    for key, w in want.items():
        g = got[key]
        for field in ("requests", "input", "output", "cache_read", "cache_write", "unpriced"):
            assert g[field] == w[field], (key, field)
        assert g["cost"] == pytest.approx(w["cost"], abs=5e-6), key
        assert g["provider_cost"] == pytest.approx(w["provider_cost"], abs=5e-6), key
        prompt = g["input"] + g["cache_read"]
        assert g["cache_hit_ratio"] == pytest.approx(g["cache_read"] / prompt if prompt else 0.0)
    total = document["totals"]
    assert total["cost"] == pytest.approx(sum(w["cost"] for w in want.values()), abs=5e-6)
    assert total["requests"] == sum(w["requests"] for w in want.values())


def test_every_view_matches_independent_sums(corpus: tuple[Corpus, dict[str, str], list[Path]], tmp_path: Path) -> None:
    c, env, _projects = corpus
    assert any(m.source == "unknown" for m in c.made)
    assert any(m.source == "provider" for m in c.made)
    day = lambda m: m.day  # noqa: E731

    def week(m: Made) -> str:
        y, w, _ = datetime.date.fromisoformat(m.day).isocalendar()
        return f"{y}-W{w:02d}"

    views = {
        "daily": day,
        "weekly": week,
        "monthly": lambda m: m.day[:7],
        "sessions": lambda m: m.session,
        "models": lambda m: f"{m.provider}/{m.model}",
        "projects": lambda m: m.project,
    }
    for view, key in views.items():
        check_rows(report(env, tmp_path, view), expected(c.made, key))


def test_filters_and_kind_breakdown(corpus: tuple[Corpus, dict[str, str], list[Path]], tmp_path: Path) -> None:
    c, env, projects = corpus
    since, until = "2026-11-05", "2026-11-20"
    inside = [m for m in c.made if since <= m.day <= until]
    check_rows(report(env, tmp_path, "daily", "--since", since, "--until", until), expected(inside, lambda m: m.day))
    mine = [m for m in c.made if m.project == str(projects[1])]
    doc = report(env, tmp_path, "monthly", "--project", str(projects[1]))
    check_rows(doc, expected(mine, lambda m: m.day[:7]))
    # A relative project path with a space, from inside it.
    doc = report(env, projects[0], "models", "--project", ".")
    check_rows(doc, expected([m for m in c.made if m.project == str(projects[0])], lambda m: f"{m.provider}/{m.model}"))
    doc = report(env, tmp_path, "daily", "--provider", "openrouter")
    check_rows(doc, expected([m for m in c.made if m.provider == "openrouter"], lambda m: m.day))
    doc = report(env, tmp_path, "monthly", "--model", "openai/gpt-5")
    check_rows(doc, expected([m for m in c.made if m.model == "gpt-5"], lambda m: m.day[:7]))
    # --by kind: one row per (month, kind), and the kinds add up to the month.
    doc = report(env, tmp_path, "monthly", "--by", "kind")
    kinds = {r["kind"] for r in doc["rows"]}
    assert kinds == {"turn", "compaction", "retry"}
    for r in doc["rows"]:
        subset = [m for m in c.made if m.day[:7] == r["key"] and m.kind == r["kind"]]
        assert r["requests"] == sum(m.requests for m in subset)
        priced = [m.usage.cost.total for m in subset if m.source != "unknown"]
        assert r["cost"] == pytest.approx(sum(priced), abs=5e-6)


def test_json_csv_and_table_agree(corpus: tuple[Corpus, dict[str, str], list[Path]], tmp_path: Path) -> None:
    _c, env, _ = corpus
    doc = report(env, tmp_path, "models")
    out = run_cli("usage", "models", "--csv", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["key"] for r in rows] == [r["key"] for r in doc["rows"]] + ["total"]
    for from_csv, from_json in zip(rows, [*doc["rows"], doc["totals"]], strict=True):
        assert float(from_csv["cost"]) == from_json["cost"]
        assert int(from_csv["total_tokens"]) == from_json["total_tokens"]
        assert int(from_csv["unpriced"]) == from_json["unpriced"]
    table = run_cli("usage", "models", cwd=tmp_path, env=env | {"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    # Every priced model's cost appears as printed; the unpriced one shows `?`, never $0.
    for r in doc["rows"]:
        if r["unpriced"] and r["cost"] == 0:
            line = next(ln for ln in table.stdout.splitlines() if r["key"] in ln)
            assert "?" in line
            assert "$0.0000" not in line
        else:
            assert f"${r['cost']:,.4f}" in table.stdout or f"${r['cost']:,.2f}" in table.stdout
    assert "not in the cost" in table.stdout  # the unpriced footnote


def test_torn_foreign_and_invalid_lines_are_reported_and_skipped(tmp_path: Path) -> None:
    env = isolated_env(tmp_path) | {"TZ": "UTC"}
    c = Corpus(Path(env["SKIPJACK_DATA_DIR"]))
    project = tmp_path / "p"
    project.mkdir()
    ts = int(DAY0.timestamp() * 1000)
    _, path = c.session(project, [("assistant", (ts, "openai", "gpt-5", (100, 10, 0, 0), None))] * 2)
    good = [m for m in c.made]
    negative = path.read_bytes().splitlines()[1].replace(b'"input":100', b'"input":-5')
    with path.open("ab") as f:
        f.write(negative + b"\n")  # a usage record that is not canonical
        f.write(b'{"type": "message", "message": ')  # torn: the writer was killed
    (path.parent / "notes.jsonl").write_text('{"hello": "world"}\n')
    (path.parent / "empty.jsonl").write_bytes(b"")
    doc = report(env, tmp_path, "daily")
    check_rows(doc, expected(good, lambda m: m.day))
    whys = {(Path(p["path"]).name, p["line"]): p["why"] for p in doc["problems"]}
    assert whys[(path.name, 4)].startswith("skipped")
    assert whys[(path.name, 5)] == "torn last line"
    assert ("notes.jsonl", 1) in whys
    assert ("empty.jsonl", 1) in whys
    text = run_cli("usage", cwd=tmp_path, env=env)
    assert text.returncode == 0
    assert f"{path.name}:5: torn last line" in text.stderr
    assert "4 unreadable line(s) or file(s) skipped" in text.stdout


def test_a_real_fork_is_not_counted_twice(tmp_path: Path) -> None:
    """Through the store's own fork, not a hand-made header."""
    env = isolated_env(tmp_path) | {"TZ": "UTC"}
    store = SessionStore(Path(env["SKIPJACK_DATA_DIR"]) / "sessions")
    session = store.create(tmp_path, "openai/gpt-5")
    usage = usage_for("openai", "gpt-5", 1000, 100, 0, 0, None)
    session.append_message(UserMessage("hi"))
    first = session.append_message(
        AssistantMessage([TextContent("a")], "openai-chat", "openai", "gpt-5", usage, "stop")
    )
    session.close()
    fork = store.fork(session.id, first.id)
    fork.append_message(UserMessage("again"))
    fork.append_message(AssistantMessage([TextContent("b")], "openai-chat", "openai", "gpt-5", usage, "stop"))
    fork.close()
    doc = report(env, tmp_path, "sessions")
    assert doc["totals"]["requests"] == 2
    assert doc["totals"]["cost"] == pytest.approx(2 * usage.cost.total)


def test_bad_arguments_are_clear(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    out = run_cli("usage", "--since", "yesterday", cwd=tmp_path, env=env)
    assert out.returncode == 2
    assert "not a date" in out.stderr
    out = run_cli("usage", "--since", "2026-12-01", "--until", "2026-11-01", cwd=tmp_path, env=env)
    assert out.returncode == 2
    assert "after --until" in out.stderr
    out = run_cli("usage", "--project", str(tmp_path / "nope"), cwd=tmp_path, env=env)
    assert out.returncode == 2
    assert "no such folder" in out.stderr
    out = run_cli("usage", cwd=tmp_path, env=env)
    assert out.returncode == 0
    assert "no usage recorded yet" in out.stdout


def test_project_spelled_through_a_symlink_home_or_dots_is_the_same_project(
    corpus: tuple[Corpus, dict[str, str], list[Path]], tmp_path: Path
) -> None:
    c, env, projects = corpus
    want = expected([m for m in c.made if m.project == str(projects[1])], lambda m: m.day[:7])
    link = tmp_path / "link to b"
    link.symlink_to(projects[1], target_is_directory=True)
    home = dict(env, HOME=str(tmp_path))
    spellings = [str(link), f"{link}/", f"{projects[0]}/../proj-b", "~/proj-b", "~/link to b/."]
    for spelling in spellings:
        check_rows(report(home, tmp_path, "monthly", "--project", spelling), want)
    # A folder literally named `~c` is that folder, not a user's home.
    tilde = expected([m for m in c.made if m.project == str(projects[2])], lambda m: m.day[:7])
    check_rows(report(env, tmp_path, "monthly", "--project", "./~c"), tilde)
