"""The built-in tools' schemas come from the cache exactly as msgspec makes them, and only
for the code that made them."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from skipjack.agent import schema_cache
from skipjack.agent.tool import _arguments_schema, arguments_schema
from skipjack.subagents import TaskTool
from skipjack.tools import default_tools


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SKIPJACK_CACHE_DIR", str(tmp_path / "cache"))
    schema_cache.reset()
    yield tmp_path / "cache"
    schema_cache.reset()


def _structs() -> list[type[msgspec.Struct]]:
    tools = [*default_tools(Path("."), edit_format="edit"), *default_tools(Path("."), edit_format="apply_patch")]
    return [t.Args for t in tools] + [TaskTool({}).Args]


def test_cached_schemas_are_byte_for_byte_what_msgspec_makes(cache_dir: Path) -> None:
    fresh = {s: _arguments_schema(s) for s in _structs()}
    first = {s: arguments_schema(s) for s in _structs()}
    schema_cache._save()
    assert (cache_dir / schema_cache.FILE_NAME).is_file()
    schema_cache.reset()
    warm = {s: arguments_schema(s) for s in _structs()}
    for s in fresh:
        assert json.dumps(first[s]) == json.dumps(fresh[s]), s
        assert json.dumps(warm[s]) == json.dumps(fresh[s]), s
    # A caller changing its copy changes nobody else's.
    one = _structs()[0]
    arguments_schema(one)["properties"] = {}
    assert arguments_schema(one) == fresh[one]


def test_a_changed_module_file_is_another_stamp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "fake.py"
    source.write_text("x = 1\n")
    module = types.ModuleType("skipjack._fake_for_stamp")
    module.__file__ = str(source)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    before = schema_cache.code_stamp()
    assert schema_cache.code_stamp() == before
    source.write_text("x = 22\n")
    assert schema_cache.code_stamp() != before


def test_a_corrupt_or_foreign_cache_is_recomputed(cache_dir: Path) -> None:
    cache_dir.mkdir()
    struct = _structs()[0]
    stamp = schema_cache.code_stamp()
    bogus: dict[str, Any] = {f"{struct.__module__}.{struct.__qualname__}": {"type": "bogus"}}
    (cache_dir / schema_cache.FILE_NAME).write_text(json.dumps({"another-stamp": bogus}))
    assert arguments_schema(struct) == _arguments_schema(struct), "another stamp's entries are not used"
    schema_cache.reset()
    (cache_dir / schema_cache.FILE_NAME).write_bytes(b"\x00not json")
    assert arguments_schema(struct) == _arguments_schema(struct)
    schema_cache._save()
    data = json.loads((cache_dir / schema_cache.FILE_NAME).read_text())
    assert stamp in data


def test_a_struct_outside_skipjack_is_never_cached(cache_dir: Path) -> None:
    class Outside(msgspec.Struct):
        a: int

    Outside.__module__ = "plugin"
    assert arguments_schema(Outside)["properties"] == {"a": {"type": "integer"}}
    assert schema_cache._state is None, "nothing loaded or kept for it"
