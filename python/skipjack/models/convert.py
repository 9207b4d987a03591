"""models.dev catalog -> registry entries: the one conversion, shared by the generator
(`scripts/gen_registry.py`) and the loader of a refreshed `api.json`.

models.dev names the AI SDK client (`npm`) a provider is used through; skipjack speaks three wire
APIs, so each provider and model is mapped to `openai-chat`, `openai-responses`,
`anthropic-messages` or `bedrock-converse` with a base URL (to which the core appends
`/chat/completions`, `/responses`, `/messages` or `/model/{id}/converse-stream`), or marked
unsupported with a reason a user can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from skipjack.llm.types import Api, Price
from skipjack.models.catalog import Catalog, CatalogModel, CatalogPrice, CatalogProvider, CatalogTier
from skipjack.models.entries import FORMAT_VERSION, ModelEntry, PriceTier, ProviderEntry, RegistryData

ANTHROPIC_BASE_URL = "https://api.anthropic.com/v1"
GEMINI_BASE_URL = "https://generativelanguage.googleapis.com/v1beta"
# The core appends `/publishers/{google,anthropic}/models/{id}:…` (and maps the `global`
# location to its bare host); project and location come from the environment.
VERTEX_BASE_URL = (
    "https://${GOOGLE_VERTEX_LOCATION}-aiplatform.googleapis.com/v1"
    "/projects/${GOOGLE_VERTEX_PROJECT}/locations/${GOOGLE_VERTEX_LOCATION}"
)
# Vertex authenticates with OAuth tokens from Application Default Credentials, which the core
# obtains itself: these APIs take no key from a variable.
_VERTEX_APIS = {"google-vertex", "google-vertex-anthropic"}
_VERTEX_CLIENTS: dict[str, Api] = {
    "@ai-sdk/google-vertex": "google-vertex",
    "@ai-sdk/google-vertex/anthropic": "google-vertex-anthropic",
}
# The core fills `{region}` from AWS_REGION / AWS_DEFAULT_REGION / the AWS profile (else
# us-east-1), and signs with AWS credentials unless a Bedrock API key is set.
BEDROCK_BASE_URL = "https://bedrock-runtime.{region}.amazonaws.com"
BEDROCK_KEY_ENV = "AWS_BEARER_TOKEN_BEDROCK"
OPENAI_BASE_URL = "https://api.openai.com/v1"

# Clients that speak OpenAI chat completions to one fixed service; models.dev gives no base URL
# for them because the client knows it, so the registry has to.
_CHAT_CLIENT_URLS: dict[str, str] = {
    "@ai-sdk/openai": OPENAI_BASE_URL,
    "@ai-sdk/groq": "https://api.groq.com/openai/v1",
    "@ai-sdk/xai": "https://api.x.ai/v1",
    "@ai-sdk/mistral": "https://api.mistral.ai/v1",
    "@ai-sdk/cerebras": "https://api.cerebras.ai/v1",
    "@ai-sdk/deepinfra": "https://api.deepinfra.com/v1/openai",
    "@ai-sdk/togetherai": "https://api.together.xyz/v1",
    "@ai-sdk/perplexity": "https://api.perplexity.ai",
    "@ai-sdk/vercel": "https://api.v0.dev/v1",
    "@ai-sdk/gateway": "https://ai-gateway.vercel.sh/v1",
    "venice-ai-sdk-provider": "https://api.venice.ai/api/v1",
    "@aihubmix/ai-sdk-provider": "https://aihubmix.com/v1",
}
_AZURE_CLIENT = "@ai-sdk/azure"
# Azure OpenAI's v1 API on the user's resource; the variable naming the resource is the
# provider's `*RESOURCE_NAME` one (`AZURE_RESOURCE_NAME`), set in the environment or replaced
# by `base_url` under the provider in config.
_AZURE_BASE_URL = "https://${{{var}}}.openai.azure.com/openai/v1"
# Providers serving OpenAI's models, where the codex / -pro / reasoning models go over the
# Responses API (see `_model_entry`).
_OPENAI_FAMILY = {"openai", "azure", "azure-cognitive-services"}
_CHAT_CLIENTS_WITH_URL = {"@ai-sdk/openai-compatible", "@openrouter/ai-sdk-provider"}
_ANTHROPIC_CLIENTS = {"@ai-sdk/anthropic"}

_NATIVE_PROTOCOLS: dict[str, str] = {
    "@ai-sdk/amazon-bedrock/mantle": "uses Amazon Bedrock with AWS request signing",
    "@ai-sdk/cohere": "uses Cohere's native chat API",
}

# Providers whose endpoint speaks a supported protocol but does not accept a plain API key.
_PROVIDER_REASONS: dict[str, str] = {
    "github-copilot": "needs GitHub Copilot's OAuth token exchange and editor headers, which skipjack does not do",
}

# OpenAI serves these only over its Responses API, not chat completions.
_OPENAI_RESPONSES_ONLY = re.compile(r"(^o\d.*-pro$|-pro$|codex)")
# Responses-only too, but they refuse a request without OpenAI's hosted tools (web search, a
# computer), which skipjack does not offer.
_OPENAI_HOSTED_TOOLS_ONLY = re.compile(r"(deep-research|computer-use)")

_SPEAKS = (
    "skipjack speaks OpenAI chat completions and Responses, Anthropic messages, Gemini (also on Vertex AI)"
    " and Bedrock Converse"
)
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True)
class _Wire:
    api: Api | None
    base_url: str | None
    reason: str | None


def convert_catalog(catalog: Catalog, *, generated: str, source: dict[str, str]) -> RegistryData:
    providers: dict[str, ProviderEntry] = {}
    models: dict[str, ModelEntry] = {}
    for pid in sorted(catalog):
        cp = catalog[pid]
        wire = _provider_wire(pid, cp)
        providers[pid] = ProviderEntry(
            name=cp.name,
            env=list(cp.env),
            api_key_env=None
            if wire.api in _VERTEX_APIS
            else BEDROCK_KEY_ENV
            if wire.api == "bedrock-converse"
            else _key_env(cp.env, wire.base_url or cp.api),
            api=wire.api,
            base_url=wire.base_url,
            doc=cp.doc,
            unsupported=wire.reason,
        )
        for mid in sorted(cp.models):
            cm = cp.models[mid]
            if not _is_chat_model(cm):
                continue
            entry = _model_entry(pid, cp, cm, wire)
            if entry is not None:
                models[f"{pid}/{mid}"] = entry
    return RegistryData(generated=generated, format=FORMAT_VERSION, source=source, providers=providers, models=models)


def _provider_wire(pid: str, cp: CatalogProvider) -> _Wire:
    if pid in _PROVIDER_REASONS:
        return _Wire(None, None, _PROVIDER_REASONS[pid])
    if cp.npm == _AZURE_CLIENT and cp.api is None:
        resource = next((e for e in cp.env if e.endswith("RESOURCE_NAME")), None)
        if resource is None:
            hint = f"set base_url under [providers.{pid}] in config"
            return _Wire(None, None, f"names no resource variable in models.dev; {hint}")
        # Chat completions by default; `_model_entry` moves the Responses-only and reasoning
        # models to Responses, as for OpenAI itself.
        return _Wire("openai-chat", _AZURE_BASE_URL.format(var=resource), None)
    return _resolve(cp.npm, cp.api, None, first_party=cp.api is None, pid=pid)


def _resolve(npm: str, url: str | None, shape: str | None, *, first_party: bool, pid: str) -> _Wire:
    if npm == _AZURE_CLIENT and url is not None:
        # A model of an Azure provider with its own Azure OpenAI endpoint.
        return _Wire("openai-responses" if shape == "responses" else "openai-chat", url, None)
    hint = f"to use a compatible endpoint instead, set base_url and api under [providers.{pid}] in config"
    if shape == "responses" and npm not in _NATIVE_PROTOCOLS and npm not in _ANTHROPIC_CLIENTS:
        base = url or (OPENAI_BASE_URL if first_party and npm == "@ai-sdk/openai" else None)
        if base is None:
            return _Wire(None, None, f"has no base URL in models.dev; {hint}")
        return _Wire("openai-responses", base, None)
    if npm == "@ai-sdk/google":
        base = url or (GEMINI_BASE_URL if first_party else None)
        if base is None:
            return _Wire(None, None, f"has no base URL in models.dev; {hint}")
        return _Wire("google-gemini", base, None)
    if npm in _VERTEX_CLIENTS:
        return _Wire(_VERTEX_CLIENTS[npm], url or VERTEX_BASE_URL, None)
    if npm == "@ai-sdk/amazon-bedrock" and shape is None:
        return _Wire("bedrock-converse", url or BEDROCK_BASE_URL, None)
    if npm in _ANTHROPIC_CLIENTS:
        base = url or (ANTHROPIC_BASE_URL if first_party else None)
        if base is None:
            return _Wire(None, None, f"has no base URL in models.dev; {hint}")
        return _Wire("anthropic-messages", base, None)
    if npm in _CHAT_CLIENTS_WITH_URL:
        if url is None:
            return _Wire(None, None, f"has no base URL in models.dev; {hint}")
        return _Wire("openai-chat", url, None)
    if npm == "@ai-sdk/openai" and not (first_party or shape == "completions" or url == OPENAI_BASE_URL):
        # The OpenAI client talks to anyone but OpenAI itself over the Responses API
        # (Vivgrid, Perplexity's Agent API): so does skipjack.
        if url is None:
            return _Wire(None, None, f"has no base URL in models.dev; {hint}")
        return _Wire("openai-responses", url, None)
    if npm in _CHAT_CLIENT_URLS:
        base = url or (_CHAT_CLIENT_URLS[npm] if first_party else None)
        if base is None:
            return _Wire(None, None, f"has no base URL in models.dev; {hint}")
        return _Wire("openai-chat", base, None)
    what = _NATIVE_PROTOCOLS.get(npm, f"is used through the {npm} client, whose protocol is its own")
    return _Wire(None, None, f"{what}; {_SPEAKS}; {hint}")


def _model_entry(pid: str, cp: CatalogProvider, cm: CatalogModel, provider: _Wire) -> ModelEntry | None:
    """One model's entry. OpenAI's own models use the Responses API when they are served only
    there (codex, -pro) and when they reason: only Responses hands back the encrypted reasoning
    that the next request replays, and OpenAI documents that reasoning models reached over chat
    completions lose their reasoning between tool calls, which degrades agentic work. Other
    OpenAI models (gpt-4o, gpt-4.1, the -chat snapshots) keep chat completions, which serves them
    fully.
    """
    over = cm.provider
    if over is not None and (over.npm or over.api or over.shape):
        wire = _resolve(
            over.npm or cp.npm,
            over.api or provider.base_url or cp.api,
            over.shape,
            first_party=(over.npm or cp.npm) == cp.npm and cp.api is None,
            pid=pid,
        )
    else:
        wire = provider
    if wire.api is None and provider.api is None:
        # The provider is unsupported as a whole and says why; listing its models adds nothing.
        return None
    reason = wire.reason
    if reason is None and provider.api in _VERTEX_APIS and wire.api not in _VERTEX_APIS:
        reason = (
            "is served on Vertex AI's OpenAI-compatible endpoint, which needs a Google access token; "
            "skipjack obtains one only for Gemini and Claude on Vertex"
        )
    if reason is None and pid in _OPENAI_FAMILY and (pid == "openai" or wire.base_url == provider.base_url):
        if _OPENAI_HOSTED_TOOLS_ONLY.search(cm.id):
            reason = "needs OpenAI's hosted tools (web search, computer use), which skipjack does not offer"
        elif wire.api == "openai-chat" and (_OPENAI_RESPONSES_ONLY.search(cm.id) or _reasons_on_responses(cm)):
            wire = _Wire("openai-responses", wire.base_url, None)
    if reason is not None:
        return ModelEntry(name=cm.name or None, unsupported=reason)
    limit = cm.limit
    context = int(limit.context) if limit else 0
    max_input = int(limit.input) if limit and limit.input is not None else 0
    return ModelEntry(
        name=cm.name or None,
        api=wire.api if wire.api != provider.api else None,
        base_url=wire.base_url if wire.base_url != provider.base_url else None,
        context=context,
        max_input=max_input if 0 < max_input < context else 0,
        max_output=int(limit.output) if limit else 0,
        price=_price(cm),
        tiers=_tiers(cm),
        reasoning=cm.reasoning,
        images="image" in (cm.modalities.input if cm.modalities else []),
        tool_call=cm.tool_call,
        status=cm.status,
        released=cm.release_date,
    )


def _reasons_on_responses(cm: CatalogModel) -> bool:
    """An OpenAI reasoning model; the `-chat` snapshots are ChatGPT's tuned models, which take
    no reasoning parameters and gain nothing from Responses."""
    return cm.reasoning and "-chat" not in cm.id


def _is_chat_model(cm: CatalogModel) -> bool:
    """Text out, and not an embedding model (models.dev lists those with text output)."""
    if cm.modalities is not None and "text" not in cm.modalities.output:
        return False
    return "embed" not in (cm.family or "") and "embedding" not in cm.id


def _price(cm: CatalogModel) -> Price | None:
    c = cm.cost
    if c is None:
        return None
    return Price(input=c.input, output=c.output, cache_read=c.cache_read or 0.0, cache_write=c.cache_write or 0.0)


def _tiers(cm: CatalogModel) -> list[PriceTier]:
    c = cm.cost
    if c is None:
        return []
    found: list[tuple[int, CatalogPrice | CatalogTier]] = [
        (t.tier.size, t) for t in c.tiers if t.tier.type == "context"
    ]
    if not found and c.context_over_200k is not None:
        found = [(200_000, c.context_over_200k)]
    # A tier that omits a price keeps the base one.
    return sorted(
        (
            PriceTier(
                context_over=size,
                price=Price(
                    input=_or(p.input, c.input),
                    output=_or(p.output, c.output),
                    cache_read=_or(p.cache_read, c.cache_read),
                    cache_write=_or(p.cache_write, c.cache_write),
                ),
            )
            for size, p in found
        ),
        key=lambda t: t.context_over,
    )


def _or(value: float | None, fallback: float | None) -> float:
    if value is not None:
        return value
    return fallback or 0.0


def _key_env(env: list[str], base_url: str | None) -> str | None:
    """The variable holding the API key, not one of those filling in the base URL."""
    in_url = set(_PLACEHOLDER.findall(base_url or ""))
    candidates = [e for e in env if e not in in_url]
    for marker in ("API_KEY", "KEY", "TOKEN"):
        for e in candidates:
            if marker in e:
                return e
    return candidates[0] if candidates else None


def placeholders(url: str) -> list[str]:
    """The `${VAR}` names in a base URL."""
    return _PLACEHOLDER.findall(url)


def fill_placeholders(url: str, values: dict[str, str]) -> str:
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], url)
