"""Azure OpenAI's Entra ID token: which models may be sent `AZURE_OPENAI_AD_TOKEN`.

The core decides the header (`providers/credentials.rs`: the key in `api-key`, a token as
`Authorization: Bearer`); this only decides whether the token is read at all, so it never
goes to a model that is not reached through Azure. The host test mirrors the core's.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from skipjack.llm.types import Model

AD_TOKEN_ENV = "AZURE_OPENAI_AD_TOKEN"

_AZURE_HOST_SUFFIXES = (".openai.azure.com", ".services.ai.azure.com", ".cognitiveservices.azure.com")


def is_azure(model: Model) -> bool:
    """Reached through Azure: an Azure provider id, or a base URL on an Azure OpenAI host."""
    provider = model.provider.lower()
    if provider == "azure" or provider.startswith("azure-"):
        return True
    try:
        host = (urlsplit(model.base_url).hostname or "").lower()
    except ValueError:
        return False
    return host.endswith(_AZURE_HOST_SUFFIXES)


def azure_ad_token(model: Model, env: Mapping[str, str]) -> str | None:
    """The Entra ID token for an Azure model, if one is set; None for every other model."""
    if not is_azure(model):
        return None
    return env.get(AD_TOKEN_ENV, "").strip() or None
