"""Loading: torn tails, damaged lines, the usage contract, and migrations from frozen samples."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from skipjack.llm import AssistantMessage, Message, ToolResultMessage, UserMessage
from skipjack.sessions import (
    CompactionEntry,
    MessageEntry,
    ModelChangeEntry,
    Session,
    SessionFormatError,
    SessionStore,
    UsageEntry,
)
from skipjack.sessions.format import FORMAT_VERSION, encoder
from skipjack.sessions.migrations import RawEntry, migrate

from .helpers import FIXTURES, assistant, usage, user


def written_session(store: SessionStore, project: Path, n: int = 3) -> Session:
    s = store.create(project, "test/test-model")
    for i in range(n):
        s.append_message(user(f"question {i}"))
        s.append_message(assistant(f"answer {i}"))
    s.close()
    return s


def copy_fixture(name: str, tmp_path: Path) -> Path:
    dest = tmp_path / name
    shutil.copy(FIXTURES / name, dest)
    return dest


# -- torn and damaged lines ----------------------------------------------------------------


def test_a_torn_last_line_is_reported_and_the_rest_loads(store: SessionStore, project: Path) -> None:
    s = written_session(store, project)
    whole = s.path.read_bytes()
    # What a kill in the middle of the next write leaves: part of a line, no newline.
    s.path.write_bytes(whole + b'{"type":"message","id":"abc","parent":"x","ts":1,"message":{"role":"us')
    loaded = Session.load(s.path)
    assert loaded.messages() == s.messages()
    [warning] = loaded.warnings
    assert warning.line == 8
    assert "incomplete last line" in warning.message
    assert f"{s.path}:8" in str(warning)

    # Appending after recovery continues from the last complete line: the fragment is gone
    # and the file loads cleanly.
    loaded.append_message(user("after the crash"))
    loaded.close()
    again = Session.load(s.path)
    assert again.warnings == []
    assert [getattr(m, "content", None) for m in again.messages()][-1] == "after the crash"
    assert len(again.messages()) == 7
    assert s.path.read_bytes().startswith(whole)


def test_a_torn_line_that_ends_mid_utf8_or_in_zeros(store: SessionStore, project: Path) -> None:
    s = written_session(store, project, 1)
    whole = s.path.read_bytes()
    s.path.write_bytes(whole + b'{"type":"message","text":"caf' + "é".encode()[:1])
    assert len(Session.load(s.path).warnings) == 1
    # After a power cut a file can end in zero bytes the data never reached; with a newline
    # after them it is still the interrupted last write.
    s.path.write_bytes(whole + b"\x00" * 40 + b"\n")
    loaded = Session.load(s.path)
    [warning] = loaded.warnings
    assert warning.line == 4
    assert "not valid JSON" in warning.message
    loaded.append_message(user("next"))
    loaded.close()
    assert Session.load(s.path).warnings == []


def test_a_malformed_line_in_the_middle_is_an_error_naming_it(store: SessionStore, project: Path) -> None:
    s = written_session(store, project)
    data = s.path.read_bytes().split(b"\n")
    data[3] = data[3][:40]
    s.path.write_bytes(b"\n".join(data))
    with pytest.raises(SessionFormatError) as info:
        Session.load(s.path)
    assert info.value.line == 4
    assert str(info.value).startswith(f"{s.path}:4: malformed JSON")


def test_an_invalid_last_line_that_is_complete_json_is_an_error(store: SessionStore, project: Path) -> None:
    s = written_session(store, project, 1)
    s.path.write_bytes(s.path.read_bytes() + b'{"type":"message","id":"z","parent":null,"ts":1}\n')
    with pytest.raises(SessionFormatError, match=r":4: invalid entry: Object missing required field `message`"):
        Session.load(s.path)


def test_header_problems(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    with pytest.raises(SessionFormatError, match="no session header"):
        Session.load(empty)
    not_header = tmp_path / "nh.jsonl"
    not_header.write_bytes(b'{"type":"message"}\n')
    with pytest.raises(SessionFormatError, match=r"nh.jsonl:1: the first line is not a session header"):
        Session.load(not_header)
    newer = tmp_path / "newer.jsonl"
    newer.write_bytes(b'{"type":"session","version":7,"id":"x"}\n')
    with pytest.raises(SessionFormatError, match="format version 7 is newer"):
        Session.load(newer)


def test_duplicate_ids_and_dangling_compactions_are_errors(store: SessionStore, project: Path) -> None:
    s = written_session(store, project, 1)
    body = s.path.read_bytes().split(b"\n")
    s.path.write_bytes(b"\n".join([*body[:-1], body[1], b""]))
    with pytest.raises(SessionFormatError, match=r":4: entry id .* was already used"):
        Session.load(s.path)


# -- the usage contract ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fixture", "complaint"),
    [
        ("legacy_usage_openai_keys.jsonl", "unknown field `prompt_tokens` - at `$.message.usage`"),
        ("legacy_usage_missing_cache_write.jsonl", "missing required field `cache_write` - at `$.message.usage`"),
        ("usage_negative.jsonl", "Expected `int` >= 0 - at `$.message.usage.input`"),
        ("usage_extra_key.jsonl", "unknown field `reasoning` - at `$.message.usage`"),
    ],
)
def test_non_canonical_usage_is_rejected_naming_the_line(fixture: str, complaint: str) -> None:
    path = FIXTURES / fixture
    with pytest.raises(SessionFormatError) as info:
        Session.load(path)
    assert info.value.line == 3
    text = str(info.value)
    assert text.startswith(f"{path}:3: non-canonical usage record")
    assert complaint in text


def test_non_canonical_usage_is_rejected_in_old_versions_too(tmp_path: Path) -> None:
    path = copy_fixture("v0.jsonl", tmp_path)
    text = path.read_text().replace('"cache_write":0,"total_tokens":430', '"total_tokens":430')
    path.write_text(text)
    with pytest.raises(SessionFormatError, match=r"v0.jsonl:3: non-canonical usage record.*cache_write"):
        Session.load(path)


# -- frozen samples of each version ------------------------------------------------------


@pytest.mark.parametrize("sample", ["v1.jsonl", "v2.jsonl"])
def test_version_1_and_2_samples_load(sample: str) -> None:
    s = Session.load(FIXTURES / sample)
    assert s.warnings == []
    assert (s.id, s.header.version, s.header.project) == ("20250301-101500-a1b2c3", 2, "/home/dev/proj")
    kinds = [type(e).__name__ for e in s.all_entries()]
    assert kinds == ["MessageEntry"] * 4 + [
        "CompactionEntry",
        "ModelChangeEntry",
        "UsageEntry",
        "MessageEntry",
        "EventEntry",
    ]
    assert s.model == "openai/gpt-5"
    assert s.title == "Rename parse_args to parse_cli in cli.py"
    context = s.messages()
    assert isinstance(context[0], UserMessage)
    assert "Rename parse_args to parse_cli." in str(context[0].content)
    assert isinstance(context[1], AssistantMessage)
    assert context[1].text == "Renamed."
    assert context[2] == UserMessage("Now add a test", timestamp=1740824302000)
    totals = s.usage_totals()
    assert (totals.input, totals.output, totals.cache_read, totals.cache_write) == (2750, 160, 3200, 2000)
    assert totals.cost.total == pytest.approx(0.0123 + 0.00171 + 0.0012 + 0.000625)
    by_model = s.by_model()
    assert set(by_model) == {"anthropic/claude-sonnet-4-5", "anthropic/claude-haiku-4-5", "openai/gpt-5"}
    assert by_model["anthropic/claude-haiku-4-5"].cost.total == pytest.approx(0.0012)


def test_version_0_sample_is_migrated(tmp_path: Path) -> None:
    path = copy_fixture("v0.jsonl", tmp_path)
    original = path.read_bytes()
    s = Session.load(path)
    assert path.read_bytes() == original, "loading never rewrites a file"
    h = s.header
    assert (h.version, h.id, h.cwd, h.project, h.model) == (
        FORMAT_VERSION,
        "legacy-0001",
        "/home/dev/old",
        "/home/dev/old",
        "openai/gpt-4o",
    )
    assert h.created == 1736499600000
    entries = s.all_entries()
    assert [e.id for e in entries] == [f"v0l{n:05d}" for n in range(2, 9)]
    assert [e.parent for e in entries] == [None, *[e.id for e in entries[:-1]]]
    assert entries[2].ts == 1736499603500
    compaction = entries[4]
    assert isinstance(compaction, CompactionEntry)
    assert compaction.first_kept == entries[3].id
    assert compaction.model == "openai/gpt-4o"
    assert compaction.usage == usage()
    change = entries[5]
    assert isinstance(change, ModelChangeEntry)
    assert change.model == "anthropic/claude-haiku-4-5"
    assert s.model == "anthropic/claude-haiku-4-5"
    context = s.messages()
    assert [type(m).__name__ for m in context] == ["UserMessage", "AssistantMessage", "UserMessage"]
    assert isinstance(context[1], AssistantMessage)
    assert context[1].text == "It prints hello."
    assert s.usage_totals().cost.total == pytest.approx(0.0013 + 0.000705)


def test_appending_to_a_v0_session_rewrites_it_as_current_keeping_the_original(tmp_path: Path) -> None:
    path = copy_fixture("v0.jsonl", tmp_path)
    original = path.read_bytes()
    s = Session.load(path)
    before = s.all_entries()
    s.append_message(user("continue"))
    s.close()
    assert (tmp_path / "v0.v0.bak").read_bytes() == original
    again = Session.load(path)
    assert again.header.version == FORMAT_VERSION
    assert again.all_entries()[:-1] == before
    assert again.all_entries()[-1].parent == before[-1].id
    assert path.read_bytes().startswith(b'{"type":"session","version":%d,' % FORMAT_VERSION)


def test_v0_compaction_must_point_backwards(tmp_path: Path) -> None:
    path = copy_fixture("v0.jsonl", tmp_path)
    path.write_text(path.read_text().replace('"first_kept_index":3', '"first_kept_index":9'))
    with pytest.raises(SessionFormatError, match=r"v0.jsonl:6: first_kept_index 9"):
        Session.load(path)


def test_migrations_run_in_order_as_a_chain(tmp_path: Path) -> None:
    steps: list[str] = []

    def zero_to_one(
        path: Path, header: dict[str, Any], entries: list[RawEntry]
    ) -> tuple[dict[str, Any], list[RawEntry]]:
        steps.append("0->1")
        return {**header, "version": 1, "a": True}, entries

    def one_to_two(
        path: Path, header: dict[str, Any], entries: list[RawEntry]
    ) -> tuple[dict[str, Any], list[RawEntry]]:
        steps.append("1->2")
        assert header["a"] is True, "sees the previous step's output"
        return {**header, "version": 2}, [(n, {**e, "seen": 2}) for n, e in entries]

    chain = {0: zero_to_one, 1: one_to_two}
    header, entries = migrate(tmp_path, {"type": "session"}, [(2, {"x": 1})], chain)
    assert steps == ["0->1", "1->2"]
    assert header == {"type": "session", "version": 2, "a": True}
    assert entries == [(2, {"x": 1, "seen": 2})]
    steps.clear()
    migrate(tmp_path, {"type": "session", "version": 1, "a": True}, [], chain)
    assert steps == ["1->2"]

    def wrong(path: Path, header: dict[str, Any], entries: list[RawEntry]) -> tuple[dict[str, Any], list[RawEntry]]:
        return {**header, "version": 5}, entries

    with pytest.raises(SessionFormatError, match="produced version 5"):
        migrate(tmp_path, {"type": "session"}, [], {0: wrong})


def test_every_message_kind_round_trips(store: SessionStore, project: Path) -> None:
    s = store.create(project, None)
    msgs: list[Message] = [
        user("q"),
        assistant("a", u=usage(10, 2, cache_read=5, cache_write=7)),
        ToolResultMessage("c1", "bash", "out", is_error=True),
    ]
    for m in msgs:
        s.append_message(m)
    s.append_usage("test/test-model", usage(3), "failed request")
    s.close()
    loaded = Session.load(s.path)
    assert [e.message for e in loaded.all_entries() if isinstance(e, MessageEntry)] == msgs
    assert isinstance(loaded.all_entries()[-1], UsageEntry)


def test_the_writer_still_writes_the_frozen_v2_shape() -> None:
    """Entries re-encoded byte for byte as the frozen sample: a format change must come with
    a new version and a migration, not slip in."""
    path = FIXTURES / "v2.jsonl"
    lines = path.read_bytes().splitlines()
    s = Session.load(path)
    assert [encoder.encode(e) for e in s.all_entries()] == lines[1:]
    assert json.loads(encoder.encode(s.header)) == {**json.loads(lines[0]), "forked_from": None}
