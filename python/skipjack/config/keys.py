"""Which API key a request to a model may carry.

Only the model's own provider's key: its environment variable (`Model.api_key_env`), else
`[keys]` in config under its provider id. A key is never borrowed from another provider, so a
request to one server can never leak a key meant for another.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from skipjack.config.schema import Settings
from skipjack.llm.azure import AD_TOKEN_ENV, is_azure
from skipjack.llm.types import Model


def resolve_api_key(model: Model, settings: Settings, env: Mapping[str, str] | None = None) -> str | None:
    return _lookup(model, settings, os.environ if env is None else env)[0]


def api_key_source(model: Model, settings: Settings, env: Mapping[str, str] | None = None) -> str | None:
    """Where the key comes from (`env ANTHROPIC_API_KEY`, `config [keys] anthropic`), or None."""
    return _lookup(model, settings, os.environ if env is None else env)[1]


def key_required(model: Model) -> bool:
    """Whether a request to `model` needs a key from Python: Bedrock does not, since the core
    signs with AWS credentials (environment or ~/.aws) when no Bedrock API key is given."""
    return bool(model.api_key_env) and model.api != "bedrock-converse"


def missing_key_hint(model: Model) -> str:
    where = f"set {' or '.join(same_key_vars(model.api_key_env))}, or " if model.api_key_env else ""
    if is_azure(model):
        where += f"set {AD_TOKEN_ENV} (an Entra ID token), or "
    return f'no API key for {model.provider}: {where}add {model.provider} = "..." under [keys] in config'


# Variables that name the same key: Google's SDKs and CLIs read any of these for the Gemini API,
# so a model keyed by one of them takes the first that is set.
_SAME_KEY: tuple[tuple[str, ...], ...] = (("GEMINI_API_KEY", "GOOGLE_API_KEY", "GOOGLE_GENERATIVE_AI_API_KEY"),)


def same_key_vars(name: str) -> tuple[str, ...]:
    """`name` first, then the variables read as the same key."""
    for group in _SAME_KEY:
        if name in group:
            return (name, *(n for n in group if n != name))
    return (name,)


def _lookup(model: Model, settings: Settings, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    for name in same_key_vars(model.api_key_env) if model.api_key_env else ():
        value = env.get(name, "").strip()
        if value:
            return value, f"env {name}"
    value = settings.keys.get(model.provider, "").strip()
    if value:
        return value, f"config [keys] {model.provider}"
    return None, None
