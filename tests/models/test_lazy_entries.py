"""The bundled registry decodes its models one at a time: the same entries as a whole decode,
no more decoded than were read, and the same strictness when one is read."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

import skipjack.models
from skipjack.config.schema import ModelConfig, ProviderConfig
from skipjack.models.entries import ModelEntry, ProviderEntry
from skipjack.models.lazy_entries import LazyEntries, decode_registry
from skipjack.models.registry import Registry

RAW = (Path(skipjack.models.__file__).parent / "registry.json").read_bytes()


class _Eager(msgspec.Struct, frozen=True):
    generated: str = msgspec.field(name="_generated")
    format: int = 0
    source: dict[str, str] = {}
    providers: dict[str, ProviderEntry] = {}
    models: dict[str, ModelEntry] = {}


def test_every_bundled_entry_decodes_as_the_whole_file_did() -> None:
    eager = msgspec.json.decode(RAW, type=_Eager)
    lazy = decode_registry(RAW)
    assert isinstance(lazy.models, LazyEntries)
    assert list(lazy.models) == list(eager.models)
    assert dict(lazy.models.items()) == eager.models
    assert lazy.providers == eager.providers


def test_a_lookup_decodes_only_what_it_reads() -> None:
    registry = Registry(decode_registry(RAW), "bundled")
    models = registry.data.models
    assert isinstance(models, LazyEntries)
    key = next(k for k in models if k.startswith("anthropic/"))
    registry.get_model(key, {})
    assert len(models._decoded) == 1
    assert registry.key_variables() >= {"ANTHROPIC_API_KEY"}
    assert len(models._decoded) == 1, "listing the key variables decodes no model"
    # A config's providers merged over it copy the table without decoding it.
    merged = registry.with_custom({"mine": ProviderConfig(base_url="http://x", api="openai-chat",
                                                          models={"m": ModelConfig()})})  # fmt: skip
    assert merged.get_model("mine/m", {}).base_url == "http://x"
    assert len(models._decoded) == 1
    assert key in merged.data.models
    assert "mine/m" not in models, "the original is unchanged"


def test_an_entry_with_an_unknown_field_fails_when_read() -> None:
    data = decode_registry(RAW.replace(b'"models":{', b'"models":{"zz/bad":{"name":"x","nonsense":1},', 1))
    assert "zz/bad" in data.models
    with pytest.raises(msgspec.ValidationError, match="nonsense"):
        data.models["zz/bad"]
