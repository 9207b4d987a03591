"""Model registry and pricing, generated from models.dev data.

get_model("anthropic/claude-sonnet-4-5") -> Model
list_models(provider=None, query=None) -> list[Model]
providers() -> list[ProviderInfo]
refresh() fetches models.dev's current catalog into the user cache.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from skipjack.models.entries import PriceTier
from skipjack.models.errors import (
    CustomProviderError,
    ProviderSetupError,
    RegistryError,
    UnknownModelError,
    UnsupportedModelError,
    UnsupportedProviderError,
)
from skipjack.models.registry import (
    ModelFacts,
    ProviderInfo,
    Registry,
    default_registry,
    get_model,
    list_models,
    load_warnings,
    providers,
    registry_for,
    reset_default_registry,
)

if TYPE_CHECKING:
    from skipjack.models.refresh import RefreshResult


def refresh(url: str | None = None, cache_dir: Path | None = None) -> RefreshResult:
    """Fetch models.dev's `api.json` into the cache (imports httpx only when asked to)."""
    from skipjack.models.refresh import DEFAULT_URL
    from skipjack.models.refresh import refresh as _refresh

    return _refresh(url or DEFAULT_URL, cache_dir)


__all__ = [
    "CustomProviderError",
    "ModelFacts",
    "PriceTier",
    "ProviderInfo",
    "ProviderSetupError",
    "Registry",
    "RegistryError",
    "UnknownModelError",
    "UnsupportedModelError",
    "UnsupportedProviderError",
    "default_registry",
    "get_model",
    "list_models",
    "load_warnings",
    "providers",
    "refresh",
    "registry_for",
    "reset_default_registry",
]
