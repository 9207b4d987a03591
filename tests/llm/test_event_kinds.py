"""The stream event kinds have one list (`skipjack.llm.events.StreamEvent`); the Rust core,
the binding and its stub must declare exactly the same set, so a kind added in one place
and forgotten in another fails here rather than as an unserialisable event mid-run."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import skipjack
import skipjack._llm as native
from skipjack.agent.events import MessageUpdate, event_to_json
from skipjack.llm.events import STREAM_EVENT_CLASSES, stream_event_to_dict

ROOT = Path(__file__).resolve().parents[2]
NAMES = {c.__name__ for c in STREAM_EVENT_CLASSES}


def test_the_union_has_thirteen_distinct_native_classes() -> None:
    assert len(STREAM_EVENT_CLASSES) == len(NAMES) == 13
    assert all(c.__module__ == "skipjack._llm" for c in STREAM_EVENT_CLASSES)


def test_every_native_class_with_a_type_tag_is_in_the_union() -> None:
    tagged = {n for n in dir(native) if isinstance(getattr(native, n), type) and hasattr(getattr(native, n), "type")}
    assert tagged == NAMES


def test_the_stub_declares_the_same_union() -> None:
    stub = Path(skipjack.__file__).with_name("_llm.pyi")
    tree = ast.parse(stub.read_text())
    union = next(
        node.value
        for node in tree.body
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "_Event" for t in node.targets)
    )
    assert {n.id for n in ast.walk(union) if isinstance(n, ast.Name)} == NAMES


def test_the_rust_core_enum_has_the_same_variants() -> None:
    source = ROOT / "crates/skipjack-llm/src/events.rs"
    if not source.exists():
        pytest.skip("no Rust sources beside this checkout")
    body = re.search(r"pub enum StreamEvent \{(.*?)\n\}", source.read_text(), re.S)
    assert body is not None
    variants = set(re.findall(r"^    ([A-Z]\w*)", body.group(1), re.M))
    assert variants == NAMES


def test_a_non_event_is_not_taken_for_one() -> None:
    # The agent's JSON hook dispatches on the derived tuple: anything else must be refused,
    # not rendered as a bare {"type": ...}.
    class Lookalike:
        type = "text_delta"
        index = 0
        delta = "x"

    with pytest.raises(NotImplementedError, match="Lookalike"):
        event_to_json(MessageUpdate(event=Lookalike()))  # type: ignore[arg-type]
    assert not isinstance(Lookalike(), STREAM_EVENT_CLASSES)


def test_stream_event_to_dict_is_the_llm_layers() -> None:
    import skipjack.agent as agent

    assert agent.stream_event_to_dict is stream_event_to_dict
