"""The registry's own data: what `registry.json` holds and what a refreshed catalog becomes.

An entry carries the facts `Model` has no field for (tool support, price tiers, the input
limit, status) next to the ones it has; `Registry` turns entries into `Model`s on demand.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Annotated

import msgspec

from skipjack.llm.types import Api, Price, PriceTier

FORMAT_VERSION = 1

NonNegInt = Annotated[int, msgspec.Meta(ge=0)]

__all__ = ["FORMAT_VERSION", "ModelEntry", "PriceTier", "ProviderEntry", "RegistryData"]


class ModelEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    name: str | None = None
    api: Api | None = None
    """Set when this model is served over another wire API than its provider's default."""
    base_url: str | None = None
    """Set when it differs from the provider's."""
    context: NonNegInt = 0
    max_input: NonNegInt = 0
    """Largest prompt the server accepts when smaller than `context` (0: only `context` limits)."""
    max_output: NonNegInt = 0
    price: Price | None = None
    """None: models.dev has no price for it."""
    tiers: list[PriceTier] = msgspec.field(default_factory=list)
    reasoning: bool = False
    images: bool = False
    tool_call: bool = False
    status: str | None = None
    """models.dev status: alpha, beta or deprecated."""
    released: str | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    unsupported: str | None = None
    """Why skipjack cannot use this model (None: it can)."""


class ProviderEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True):
    name: str
    env: list[str] = msgspec.field(default_factory=list)
    """Every environment variable models.dev lists for the provider."""
    api_key_env: str | None = None
    """The one of `env` that holds the API key."""
    api: Api | None = None
    base_url: str | None = None
    """May hold `${VAR}` placeholders, filled from the environment when a model is resolved."""
    doc: str | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    unsupported: str | None = None
    """Why skipjack cannot talk to this provider (None: it can)."""


class RegistryData(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    generated: str = msgspec.field(name="_generated")
    format: int
    source: dict[str, str]
    providers: dict[str, ProviderEntry]
    models: MutableMapping[str, ModelEntry]
    """Keyed by `provider/model-id` (the bundled registry's decodes each entry on first use:
    `models.lazy_entries`)."""


def encode_registry(data: RegistryData) -> bytes:
    """Compact, key-sorted JSON with one provider or model per line, so diffs stay readable."""
    enc = msgspec.json.Encoder(order="sorted")
    head = {"_generated": data.generated, "format": data.format, "source": data.source}
    lines = [enc.encode(head)[:-1].decode() + ","]
    for key, table in (("providers", data.providers), ("models", data.models)):
        lines.append(f'"{key}":{{')
        items = sorted(table.items())
        for i, (ident, entry) in enumerate(items):
            sep = "," if i + 1 < len(items) else ""
            lines.append(f"{enc.encode(ident).decode()}:{enc.encode(entry).decode()}{sep}")
        lines.append("}," if key == "providers" else "}}")
    return ("\n".join(lines) + "\n").encode()
