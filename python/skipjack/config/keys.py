"""Which API key a request to a model may carry.

Only the model's own provider's key: its environment variable (`Model.api_key_env`), else
`[keys]` in config under its provider id. A key is never borrowed from another provider, so a
request to one server can never leak a key meant for another.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from skipjack.config.schema import Settings
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
    where = f"set {model.api_key_env}, or " if model.api_key_env else ""
    return f'no API key for {model.provider}: {where}add {model.provider} = "..." under [keys] in config'


def _lookup(model: Model, settings: Settings, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    if model.api_key_env:
        value = env.get(model.api_key_env, "").strip()
        if value:
            return value, f"env {model.api_key_env}"
    value = settings.keys.get(model.provider, "").strip()
    if value:
        return value, f"config [keys] {model.provider}"
    return None, None
