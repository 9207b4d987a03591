"""Lookups, errors a user can act on, and config's custom providers merged over the registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from skipjack.config.schema import ModelConfig, ProviderConfig, Settings
from skipjack.llm.types import Price
from skipjack.models import (
    CustomProviderError,
    ProviderSetupError,
    Registry,
    UnknownModelError,
    UnsupportedProviderError,
    default_registry,
    registry_for,
    reset_default_registry,
)


@pytest.fixture(scope="module")
def reg() -> Registry:
    return Registry.bundled()


def test_misspelt_model_suggests_close_matches(reg: Registry) -> None:
    with pytest.raises(UnknownModelError) as exc:
        reg.get_model("anthropic/claude-sonet-4-5")
    assert exc.value.suggestions[0] == "anthropic/claude-sonnet-4-5"
    assert "did you mean anthropic/claude-sonnet-4-5" in str(exc.value)


def test_misspelt_provider_suggests_the_provider(reg: Registry) -> None:
    with pytest.raises(UnknownModelError, match="no provider 'antropic'") as exc:
        reg.get_model("antropic/claude-sonnet-4-5")
    assert exc.value.suggestions == ["anthropic/claude-sonnet-4-5"]


def test_a_bare_model_id_lists_the_providers_serving_it(reg: Registry) -> None:
    with pytest.raises(UnknownModelError, match="expected provider/model-id") as exc:
        reg.get_model("deepseek-chat")
    assert "deepseek/deepseek-chat" in exc.value.suggestions


def test_case_is_forgiven_when_unambiguous(reg: Registry) -> None:
    assert reg.get_model("OpenAI/GPT-4o").id == "gpt-4o"


def test_list_models_filters_by_provider_and_query(reg: Registry) -> None:
    anthropic = reg.list_models("anthropic")
    assert anthropic
    assert all(m.provider == "anthropic" for m in anthropic)
    assert [f"{m.provider}/{m.id}" for m in anthropic] == sorted(f"{m.provider}/{m.id}" for m in anthropic)
    hits = reg.list_models(query="Sonnet 4.5")
    assert any(m.provider == "anthropic" and m.id == "claude-sonnet-4-5" for m in hits)
    assert all("sonnet" in f"{m.id} {m.name}".lower() for m in hits)
    everything = reg.list_models()
    assert len(everything) > 1000
    # Unusable models are not listed; Responses-only ones are, with their API.
    assert not any(m.provider == "openai" and m.id == "o3-deep-research" for m in everything)
    assert [m.api for m in everything if m.provider == "openai" and m.id == "gpt-5-codex"] == ["openai-responses"]
    assert [m.api for m in everything if m.provider == "google" and m.id == "gemini-2.5-pro"] == ["google-gemini"]


def test_providers_counts_usable_models(reg: Registry) -> None:
    info = {p.id: p for p in reg.providers()}
    assert info["anthropic"].models == len(reg.list_models("anthropic"))
    assert info["google"].models == len(reg.list_models("google")) > 0
    assert info["amazon-bedrock"].models == len(reg.list_models("amazon-bedrock")) > 0
    assert info["github-copilot"].models == 0
    assert info["github-copilot"].unsupported
    assert info["openai"].env == ["OPENAI_API_KEY"]


def test_base_url_placeholders_come_from_the_environment(reg: Registry) -> None:
    ref = next(f"{m.provider}/{m.id}" for m in reg.list_models("cloudflare-workers-ai"))
    with pytest.raises(ProviderSetupError, match="CLOUDFLARE_ACCOUNT_ID"):
        reg.get_model(ref, env={})
    model = reg.get_model(ref, env={"CLOUDFLARE_ACCOUNT_ID": "acc123"})
    assert model.base_url == "https://api.cloudflare.com/client/v4/accounts/acc123/ai/v1"
    assert model.api_key_env == "CLOUDFLARE_API_KEY"


def test_custom_provider_adds_models(reg: Registry) -> None:
    custom = {
        "local": ProviderConfig(
            base_url="http://127.0.0.1:8080/v1",
            api="openai-chat",
            api_key_env="LOCAL_KEY",
            headers={"X-Team": "a"},
            models={
                "qwen-coder": ModelConfig(
                    context_window=32_768, max_output=4_096, price=Price(0.1, 0.2), reasoning=True
                )
            },
        )
    }
    merged = reg.with_custom(custom)
    m = merged.get_model("local/qwen-coder")
    assert (m.api, m.base_url, m.api_key_env) == ("openai-chat", "http://127.0.0.1:8080/v1", "LOCAL_KEY")
    assert (m.context_window, m.max_output, m.price, m.reasoning) == (32_768, 4_096, Price(0.1, 0.2), True)
    assert m.headers == {"X-Team": "a"}
    assert merged.facts(m).tool_call is True
    # The original registry is untouched.
    with pytest.raises(UnknownModelError):
        reg.get_model("local/qwen-coder")


def test_custom_settings_override_a_registry_provider_and_model(reg: Registry) -> None:
    merged = reg.with_custom(
        {
            "openai": ProviderConfig(
                base_url="https://proxy.example/v1",
                models={"gpt-4o": ModelConfig(context_window=64_000)},
            )
        }
    )
    m = merged.get_model("openai/gpt-4o")
    original = reg.get_model("openai/gpt-4o")
    assert m.base_url == "https://proxy.example/v1"
    assert m.context_window == 64_000
    assert (m.price, m.max_output, m.api_key_env) == (original.price, original.max_output, "OPENAI_API_KEY")
    assert merged.get_model("openai/gpt-4.1").base_url == "https://proxy.example/v1"


def test_pointing_an_unsupported_provider_at_a_compatible_endpoint_makes_it_usable(reg: Registry) -> None:
    with pytest.raises(UnsupportedProviderError):
        reg.get_model("cohere/my-command")
    merged = reg.with_custom(
        {
            "cohere": ProviderConfig(
                base_url="https://api.cohere.ai/compatibility/v1",
                api="openai-chat",
                models={"my-command": ModelConfig(context_window=256_000)},
            )
        }
    )
    m = merged.get_model("cohere/my-command")
    assert m.api == "openai-chat"
    assert m.api_key_env == "COHERE_API_KEY"


def test_a_new_provider_without_api_or_url_names_the_config_key(reg: Registry) -> None:
    with pytest.raises(CustomProviderError, match=r"providers\.mine: .*needs base_url and api"):
        reg.with_custom({"mine": ProviderConfig(models={"m": ModelConfig()})})
    with pytest.raises(CustomProviderError, match=r"providers\.mine: .*needs api"):
        reg.with_custom({"mine": ProviderConfig(base_url="http://x/v1")})


def test_custom_price_drops_the_registry_tiers(reg: Registry) -> None:
    assert reg.facts("openai/gpt-5.4").tiers
    merged = reg.with_custom({"openai": ProviderConfig(models={"gpt-5.4": ModelConfig(price=Price(1, 2))})})
    assert merged.facts("openai/gpt-5.4").tiers == []
    assert merged.get_model("openai/gpt-5.4").price == Price(1, 2)


def test_registry_for_settings_merges_config_providers(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SKIPJACK_CACHE_DIR", str(tmp_path))
    reset_default_registry()
    try:
        settings = Settings(
            providers={"lab": ProviderConfig(base_url="http://127.0.0.1:1/v1", api="anthropic-messages")},
        )
        reg = registry_for(settings).with_custom({"lab": ProviderConfig(models={"m1": ModelConfig()})})
        assert reg.get_model("lab/m1").api == "anthropic-messages"
        assert registry_for(Settings()) is default_registry()
    finally:
        reset_default_registry()
