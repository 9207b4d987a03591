"""Config's `[providers.<id>]` merged over registry data.

A table naming a registry provider overrides what it sets (base URL, wire API, key variable,
headers) and adds or adjusts models; any other id is a new provider and must give `base_url`
and `api`. Setting both on an unsupported provider makes it usable: the user has pointed it at
an endpoint skipjack can speak to.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from skipjack.config.schema import ModelConfig, ProviderConfig
from skipjack.models.entries import ModelEntry, ProviderEntry, RegistryData
from skipjack.models.errors import CustomProviderError
from skipjack.models.lazy_entries import LazyEntries


def merge_custom(data: RegistryData, custom: Mapping[str, ProviderConfig]) -> RegistryData:
    providers = dict(data.providers)
    # (A lazily decoded table is copied without decoding it.)
    models = data.models.copy() if isinstance(data.models, LazyEntries) else dict(data.models)
    for pid, pc in custom.items():
        if "/" in pid:
            raise CustomProviderError(f"providers.{pid}: a provider id cannot contain '/'")
        existing = providers.get(pid)
        providers[pid] = _merge_provider(pid, existing, pc)
        for mid, mc in pc.models.items():
            key = f"{pid}/{mid}"
            entry = models.get(key)
            if mc.base_model is not None:
                entry = _deployment_base(pid, mid, mc.base_model, models, providers)
            models[key] = _merge_model(entry, mc)
    return msgspec.structs.replace(data, providers=providers, models=models)


def _merge_provider(pid: str, existing: ProviderEntry | None, pc: ProviderConfig) -> ProviderEntry:
    if existing is None:
        missing = [k for k in ("base_url", "api") if getattr(pc, k) is None]
        if missing:
            raise CustomProviderError(f"providers.{pid}: a provider not in the registry needs {' and '.join(missing)}")
        existing = ProviderEntry(name=pid)
    api = pc.api or existing.api
    base_url = pc.base_url or existing.base_url
    unsupported = existing.unsupported
    if pc.api is not None or pc.base_url is not None:
        if api is None or base_url is None:
            raise CustomProviderError(
                f"providers.{pid}: set both base_url and api to use {existing.name} through a compatible endpoint"
            )
        unsupported = None
    env = list(existing.env)
    if pc.api_key_env and pc.api_key_env not in env:
        env.append(pc.api_key_env)
    return ProviderEntry(
        name=pc.name or existing.name,
        env=env,
        api_key_env=pc.api_key_env or existing.api_key_env,
        api=api,
        base_url=base_url,
        doc=existing.doc,
        headers=existing.headers | pc.headers,
        unsupported=unsupported,
    )


def _deployment_base(
    pid: str, mid: str, base_model: str, models: Mapping[str, ModelEntry], providers: Mapping[str, ProviderEntry]
) -> ModelEntry:
    """The entry a deployment inherits: its base model's, usable whatever the base's own
    provider needs (the deployment is reached through `pid`'s endpoint)."""
    key = base_model if "/" in base_model else f"{pid}/{base_model}"
    base = models.get(key)
    if base is None:
        raise CustomProviderError(f"providers.{pid}.models.{mid}: base_model {key!r} is not in the model registry")
    if base.unsupported is not None:
        where = f"providers.{pid}.models.{mid}"
        raise CustomProviderError(f"{where}: base_model {key!r} is unsupported ({base.unsupported})")
    base_provider = providers.get(key.partition("/")[0])
    api = base.api or (base_provider.api if base_provider is not None else None)
    # Another provider's base URL would send this provider's key to that provider.
    return msgspec.structs.replace(base, api=api, base_url=None, headers={})


def _merge_model(existing: ModelEntry | None, mc: ModelConfig) -> ModelEntry:
    # A model the user adds is one they mean to use as an agent, so tools are assumed.
    base = existing or ModelEntry(tool_call=True)
    changes: dict[str, object] = {
        field: value
        for field, value in (
            ("name", mc.name),
            ("api", mc.api),
            ("base_url", mc.base_url),
            ("context", mc.context_window),
            ("max_input", mc.max_input),
            ("max_output", mc.max_output),
            ("price", mc.price),
            ("reasoning", mc.reasoning),
            ("images", mc.images),
            ("tool_call", mc.tool_call),
        )
        if value is not None
    }
    if mc.headers:
        changes["headers"] = base.headers | mc.headers
    if mc.price is not None:
        changes["tiers"] = []  # the registry's tiers belong to the registry's price
    if existing is None or mc.api is not None or mc.base_url is not None:
        changes["unsupported"] = None
    return msgspec.structs.replace(base, **changes)
