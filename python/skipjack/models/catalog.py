"""The models.dev catalog schema: the shape of its `api.json` (provider id -> provider).

The generator builds this same shape from the models.dev TOML tree, so the bundled registry and
a refreshed `api.json` go through one conversion (`convert.py`). Unknown fields are ignored:
models.dev adds fields over time and a refresh must not break on them; the fields skipjack uses
are typed, so a wrong type fails validation.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

import msgspec

NonNeg = Annotated[float, msgspec.Meta(ge=0)]


class CatalogPrice(msgspec.Struct, frozen=True):
    """USD per million tokens; absent cache prices are unknown."""

    input: NonNeg = 0.0
    output: NonNeg = 0.0
    cache_read: NonNeg | None = None
    cache_write: NonNeg | None = None


class TierSpec(msgspec.Struct, frozen=True):
    size: Annotated[int, msgspec.Meta(ge=0)]
    type: str = "context"


class CatalogTier(msgspec.Struct, frozen=True):
    """A price that applies once the prompt is larger than `tier.size` tokens."""

    tier: TierSpec
    input: NonNeg | None = None
    output: NonNeg | None = None
    cache_read: NonNeg | None = None
    cache_write: NonNeg | None = None


class CatalogCost(msgspec.Struct, frozen=True):
    input: NonNeg = 0.0
    output: NonNeg = 0.0
    cache_read: NonNeg | None = None
    cache_write: NonNeg | None = None
    tiers: list[CatalogTier] = msgspec.field(default_factory=list)
    context_over_200k: CatalogPrice | None = None
    """Legacy form of a single context tier, still emitted by models.dev's api.json."""


class CatalogLimit(msgspec.Struct, frozen=True):
    context: NonNeg = 0
    output: NonNeg = 0
    input: NonNeg | None = None


class CatalogModalities(msgspec.Struct, frozen=True):
    input: list[str] = msgspec.field(default_factory=list)
    output: list[str] = msgspec.field(default_factory=list)


class CatalogModelProvider(msgspec.Struct, frozen=True):
    """Per-model override of how the provider serves this one model."""

    npm: str | None = None
    api: str | None = None
    shape: str | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)


class CatalogModel(msgspec.Struct, frozen=True):
    id: str
    name: str = ""
    family: str | None = None
    attachment: bool = False
    reasoning: bool = False
    tool_call: bool = False
    modalities: CatalogModalities | None = None
    limit: CatalogLimit | None = None
    cost: CatalogCost | None = None
    status: str | None = None
    release_date: str | None = None
    provider: CatalogModelProvider | None = None


class CatalogProvider(msgspec.Struct, frozen=True):
    id: str
    name: str
    npm: str
    env: list[str] = msgspec.field(default_factory=list)
    api: str | None = None
    doc: str | None = None
    models: dict[str, CatalogModel] = msgspec.field(default_factory=dict)


Catalog: TypeAlias = dict[str, CatalogProvider]


class CatalogError(ValueError):
    """The catalog is not valid models.dev data."""


def decode_catalog(data: bytes) -> Catalog:
    """Validate models.dev `api.json` bytes."""
    try:
        return msgspec.json.decode(data, type=Catalog)
    except msgspec.DecodeError as e:  # ValidationError is a subclass
        raise CatalogError(f"not a models.dev catalog: {e}") from e


def catalog_from_builtins(data: object) -> Catalog:
    """Validate an already-parsed catalog (the generator's TOML tree)."""
    try:
        return msgspec.convert(data, type=Catalog)
    except msgspec.ValidationError as e:
        raise CatalogError(f"not a models.dev catalog: {e}") from e
