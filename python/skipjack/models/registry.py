"""The model registry: `provider/model-id` -> `Model`.

The bundled `registry.json` (generated from a models.dev snapshot) is the default; a refreshed
models.dev `api.json` in the user cache replaces it; custom providers and models from config
merge over either (`Registry.with_custom`).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from pathlib import Path

import msgspec

from skipjack.config.schema import ProviderConfig, Settings
from skipjack.llm.types import Api, Model
from skipjack.models.custom import merge_custom
from skipjack.models.entries import ModelEntry, PriceTier, ProviderEntry, RegistryData
from skipjack.models.errors import (
    ProviderSetupError,
    UnknownModelError,
    UnsupportedModelError,
    UnsupportedProviderError,
)
from skipjack.models.lazy_entries import decode_registry
from skipjack.user_dirs import user_cache_dir

CATALOG_FILE = "api.json"


class ProviderInfo(msgspec.Struct, frozen=True):
    id: str
    name: str
    api: str | None
    base_url: str | None
    env: list[str]
    api_key_env: str | None
    doc: str | None
    unsupported: str | None
    models: int
    """How many usable models the registry has for it."""


class ModelFacts(msgspec.Struct, frozen=True):
    """What the registry knows about a model beyond the `Model` fields."""

    tool_call: bool
    max_input: int
    """Largest prompt accepted, when smaller than the context window (0: the window is the limit)."""
    tiers: list[PriceTier]
    """Prices that replace `Model.price` once the prompt exceeds a size, smallest first."""
    status: str | None
    released: str | None


class Registry:
    def __init__(self, data: RegistryData, origin: str) -> None:
        self.data = data
        self.origin = origin
        """"bundled" or the path of the refreshed catalog it was built from."""

    # -- loading ---------------------------------------------------------------------------------

    @classmethod
    def bundled(cls) -> Registry:
        # Read beside this module when installed as files (importlib.resources costs a few ms
        # of imports at every start); through it only from a zip.
        path = Path(__file__).with_name("registry.json")
        if path.is_file():
            raw = path.read_bytes()
        else:
            from importlib import resources

            raw = resources.files("skipjack.models").joinpath("registry.json").read_bytes()
        return cls(decode_registry(raw), "bundled")

    @classmethod
    def from_catalog(cls, raw: bytes, origin: str) -> Registry:
        """Build from models.dev `api.json` bytes, through the generator's conversion."""
        # The models.dev format and its conversion load only for a refreshed catalog.
        from skipjack.models.catalog import CatalogError, decode_catalog
        from skipjack.models.convert import convert_catalog

        catalog = decode_catalog(raw)
        source = {"name": "models.dev", "origin": origin}
        data = convert_catalog(catalog, generated=f"converted from {origin}", source=source)
        if not any(e.unsupported is None for e in data.models.values()):
            raise CatalogError(f"{origin}: no model skipjack can use")
        return cls(data, origin)

    @classmethod
    def load(cls, cache_dir: Path | None = None) -> tuple[Registry, list[str]]:
        """The refreshed catalog in `cache_dir` if there is a valid one, else the bundled registry.

        Returns the warnings (e.g. a corrupt cache) instead of printing them.
        """
        path = (cache_dir or default_cache_dir()) / CATALOG_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls.bundled(), []
        except OSError as e:
            return cls.bundled(), [f"cannot read {path}: {e}; using the bundled model registry"]
        from skipjack.models.catalog import CatalogError

        try:
            return cls.from_catalog(raw, str(path)), []
        except CatalogError as e:
            return cls.bundled(), [f"{path}: {e}; using the bundled model registry"]

    def with_custom(self, custom: Mapping[str, ProviderConfig]) -> Registry:
        """A registry with config's `[providers.*]` merged over this one."""
        if not custom:
            return self
        return Registry(merge_custom(self.data, custom), self.origin)

    # -- lookups ---------------------------------------------------------------------------------

    def get_model(self, ref: str, env: Mapping[str, str] | None = None) -> Model:
        """Resolve `provider/model-id`; `${VAR}`s in the base URL are filled from `env`."""
        pid, sep, mid = ref.partition("/")
        if not sep or not pid or not mid:
            same_id = [k for k, e in self.data.models.items() if k.partition("/")[2] == ref and _usable(e)]
            raise UnknownModelError(ref, same_id[:8], "expected provider/model-id")
        provider = self.data.providers.get(pid)
        if provider is None:
            folded = [p for p in self.data.providers if p.lower() == pid.lower()]
            if len(folded) == 1:
                pid = folded[0]
                provider = self.data.providers[pid]
        if provider is None:
            import difflib  # only for an unknown name

            close = difflib.get_close_matches(pid, list(self.data.providers), n=5, cutoff=0.6)
            raise UnknownModelError(ref, [f"{p}/{mid}" for p in close], f"no provider {pid!r}")
        key = f"{pid}/{mid}"
        entry = self.data.models.get(key)
        if entry is None:
            folded = [k for k in self.data.models if k.lower() == key.lower()]
            if len(folded) == 1:
                key, entry = folded[0], self.data.models[folded[0]]
        if entry is None:
            if provider.unsupported is not None:
                raise UnsupportedProviderError(pid, provider.name, provider.unsupported)
            raise UnknownModelError(ref, self._suggest(pid, mid))
        if entry.unsupported is not None:
            raise UnsupportedModelError(key, entry.unsupported)
        api = entry.api or provider.api
        base_url = entry.base_url or provider.base_url
        if api is None or base_url is None:
            reason = provider.unsupported or "has no wire API or base URL configured"
            raise UnsupportedProviderError(pid, provider.name, reason)
        return _model(pid, key, provider, entry, api, _fill(pid, base_url, os.environ if env is None else env))

    def list_models(self, provider: str | None = None, query: str | None = None) -> list[Model]:
        """Usable models, sorted by `provider/id`; `query` words must all appear in the id or name.

        Base URLs keep their `${VAR}` placeholders (`get_model` fills them in).
        """
        words = (query or "").lower().split()
        out: list[Model] = []
        for key in sorted(self.data.models):
            pid = key.partition("/")[0]
            if provider is not None and pid != provider:
                continue
            entry = self.data.models[key]
            if not all(w in f"{key} {entry.name or ''}".lower() for w in words):
                continue
            pentry = self.data.providers[pid]
            api = entry.api or pentry.api
            base_url = entry.base_url or pentry.base_url
            if api is not None and base_url is not None and entry.unsupported is None:
                out.append(_model(pid, key, pentry, entry, api, base_url))
        return out

    def key_variables(self) -> set[str]:
        """Every provider's API key variable (what `providers()` lists, without counting the
        models of each, which would decode the whole table)."""
        return {p.api_key_env for p in self.data.providers.values() if p.api_key_env}

    def providers(self) -> list[ProviderInfo]:
        counts: dict[str, int] = {}
        for key, entry in self.data.models.items():
            if _usable(entry):
                pid = key.partition("/")[0]
                counts[pid] = counts.get(pid, 0) + 1
        return [
            ProviderInfo(
                id=pid,
                name=p.name,
                api=p.api,
                base_url=p.base_url,
                env=list(p.env),
                api_key_env=p.api_key_env,
                doc=p.doc,
                unsupported=p.unsupported,
                models=counts.get(pid, 0),
            )
            for pid, p in sorted(self.data.providers.items())
        ]

    def facts(self, model: Model | str) -> ModelFacts:
        key = model if isinstance(model, str) else model.ref
        entry = self.data.models.get(key)
        if entry is None:
            pid, _, mid = key.partition("/")
            raise UnknownModelError(key, self._suggest(pid, mid))
        return ModelFacts(
            tool_call=entry.tool_call,
            max_input=entry.max_input,
            tiers=list(entry.tiers),
            status=entry.status,
            released=entry.released,
        )

    # -- internals -------------------------------------------------------------------------------

    def _suggest(self, pid: str, mid: str) -> list[str]:
        ids = [k.partition("/")[2] for k, e in self.data.models.items() if k.startswith(pid + "/")]
        import difflib  # only for an unknown name

        close = difflib.get_close_matches(mid, ids, n=5, cutoff=0.5)
        lowered = mid.lower()
        contains = [i for i in ids if lowered in i.lower() and i not in close]
        return [f"{pid}/{i}" for i in (close + sorted(contains))[:5]]


def _model(pid: str, key: str, provider: ProviderEntry, entry: ModelEntry, api: Api, base_url: str) -> Model:
    return Model(
        provider=pid,
        id=key.partition("/")[2],
        api=api,
        base_url=base_url,
        name=entry.name,
        context_window=entry.context,
        max_input=entry.max_input,
        max_output=entry.max_output,
        price=entry.price,
        tiers=list(entry.tiers),
        reasoning=entry.reasoning,
        images=entry.images,
        api_key_env=provider.api_key_env,
        headers=provider.headers | entry.headers,
    )


def _usable(entry: ModelEntry) -> bool:
    return entry.unsupported is None


def _fill(pid: str, base_url: str, env: Mapping[str, str]) -> str:
    if "${" not in base_url:
        return base_url
    from skipjack.models.convert import fill_placeholders, placeholders

    names = placeholders(base_url)
    missing = [n for n in names if not env.get(n)]
    if missing:
        raise ProviderSetupError(
            f"{pid}'s base URL {base_url} needs {', '.join(missing)} set in the environment "
            f"(or set base_url under [providers.{pid}] in config)"
        )
    return fill_placeholders(base_url, {n: env[n] for n in names})


def default_cache_dir(env: Mapping[str, str] | None = None) -> Path:
    """`SKIPJACK_CACHE_DIR`, else the platform's user cache dir for skipjack."""
    env = os.environ if env is None else env
    override = env.get("SKIPJACK_CACHE_DIR")
    return Path(override) if override else user_cache_dir()


_lock = threading.Lock()
_default: tuple[Registry, list[str]] | None = None


def default_registry() -> Registry:
    """The registry every lookup without an explicit one uses; loaded once, on first use."""
    global _default
    with _lock:
        if _default is None:
            _default = Registry.load()
        return _default[0]


def load_warnings() -> list[str]:
    default_registry()
    return list(_default[1]) if _default else []


def reset_default_registry() -> None:
    """Forget the loaded registry (after a refresh, or between tests)."""
    global _default
    with _lock:
        _default = None


def registry_for(settings: Settings) -> Registry:
    """The default registry with the settings' custom providers merged over it."""
    return default_registry().with_custom(settings.providers)


def get_model(ref: str, env: Mapping[str, str] | None = None) -> Model:
    return default_registry().get_model(ref, env)


def list_models(provider: str | None = None, query: str | None = None) -> list[Model]:
    return default_registry().list_models(provider, query)


def providers() -> list[ProviderInfo]:
    return default_registry().providers()
