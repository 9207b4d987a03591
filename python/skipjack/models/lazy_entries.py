"""The bundled registry's model table, decoded one entry at a time.

`registry.json` holds ~5,000 models; a run looks up one. Decoding every entry into a
`ModelEntry` took ~10 ms of each start (the JSON is still parsed whole, into raw slices, in
~4 ms); an entry is now decoded (and validated, with the same strictness) when first read.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping

import msgspec

from skipjack.models.entries import ModelEntry, ProviderEntry, RegistryData

_decode_entry = msgspec.json.Decoder(ModelEntry).decode


class RawRegistryData(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """`RegistryData` with each model left as its JSON text."""

    generated: str = msgspec.field(name="_generated")
    format: int
    source: dict[str, str]
    providers: dict[str, ProviderEntry]
    models: dict[str, msgspec.Raw]


class LazyEntries(MutableMapping[str, ModelEntry]):
    """A mapping of model key to entry whose values are decoded on first access."""

    def __init__(self, raw: dict[str, msgspec.Raw]) -> None:
        self._raw = raw
        self._decoded: dict[str, ModelEntry] = {}
        self._keys: dict[str, None] = dict.fromkeys(raw)
        """The keys in order (a set would lose it), raw or replaced."""

    def __getitem__(self, key: str) -> ModelEntry:
        entry = self._decoded.get(key)
        if entry is None:
            raw = self._raw[key]  # KeyError for a key never present
            entry = self._decoded[key] = _decode_entry(raw)
        return entry

    def __setitem__(self, key: str, entry: ModelEntry) -> None:
        self._decoded[key] = entry
        self._keys[key] = None

    def __delitem__(self, key: str) -> None:
        del self._keys[key]
        self._decoded.pop(key, None)
        self._raw.pop(key, None)

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def copy(self) -> LazyEntries:
        """A copy sharing the raw text (never changed) and what was decoded so far."""
        out = LazyEntries.__new__(LazyEntries)
        out._raw = dict(self._raw)
        out._decoded = dict(self._decoded)
        out._keys = dict(self._keys)
        return out


def decode_registry(raw: bytes) -> RegistryData:
    """`registry.json`, its models decoded on first use."""
    data = msgspec.json.decode(raw, type=RawRegistryData)
    return RegistryData(data.generated, data.format, data.source, data.providers, LazyEntries(data.models))
