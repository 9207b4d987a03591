"""Azure OpenAI in the registry: both Azure providers usable, the base URL from the
resource variable (or config), deployment names as model ids, and a deployment named in
config inheriting a registry model's API, limits and prices."""

from __future__ import annotations

import pytest

from skipjack.config.schema import ModelConfig, ProviderConfig
from skipjack.models import ProviderSetupError
from skipjack.models.errors import CustomProviderError
from skipjack.models.registry import Registry


@pytest.mark.parametrize(
    ("provider", "resource_env", "key_env"),
    [
        ("azure", "AZURE_RESOURCE_NAME", "AZURE_API_KEY"),
        ("azure-cognitive-services", "AZURE_COGNITIVE_SERVICES_RESOURCE_NAME", "AZURE_COGNITIVE_SERVICES_API_KEY"),
    ],
)
def test_both_azure_providers_are_usable_from_the_resource_name(provider: str, resource_env: str, key_env: str) -> None:
    reg = Registry.bundled()
    info = {p.id: p for p in reg.providers()}[provider]
    assert info.unsupported is None
    assert info.models > 0
    m = reg.get_model(f"{provider}/gpt-4.1", {resource_env: "contoso"})
    assert (m.api, m.base_url, m.api_key_env) == ("openai-chat", "https://contoso.openai.azure.com/openai/v1", key_env)


def test_codex_and_reasoning_deployments_use_responses_and_chat_models_chat() -> None:
    reg = Registry.bundled()
    env = {"AZURE_RESOURCE_NAME": "contoso"}
    for mid in ("gpt-5.3-codex", "gpt-5", "gpt-5-pro", "codex-mini"):
        assert reg.get_model(f"azure/{mid}", env).api == "openai-responses", mid
    for mid in ("gpt-4o", "gpt-4.1", "gpt-5-chat"):
        assert reg.get_model(f"azure/{mid}", env).api == "openai-chat", mid
    # Models Azure serves through other APIs keep their own endpoints.
    assert reg.get_model("azure/claude-sonnet-4-5", env).api == "anthropic-messages"
    assert ".services.ai.azure.com" in reg.get_model("azure/deepseek-v4-pro", env).base_url


def test_a_missing_resource_name_says_what_to_set() -> None:
    with pytest.raises(ProviderSetupError, match=r"AZURE_RESOURCE_NAME.*base_url under \[providers.azure\]"):
        Registry.bundled().get_model("azure/gpt-5", {})
    # An empty or whitespace-free-but-empty value is not a resource name either.
    with pytest.raises(ProviderSetupError):
        Registry.bundled().get_model("azure/gpt-5", {"AZURE_RESOURCE_NAME": ""})


def test_config_base_url_replaces_the_resource_url() -> None:
    reg = Registry.bundled().with_custom({"azure": ProviderConfig(base_url="https://gw.example/openai/v1")})
    m = reg.get_model("azure/gpt-5", {})
    assert m.base_url == "https://gw.example/openai/v1"
    assert m.api == "openai-responses"


def test_a_deployment_named_in_config_inherits_its_base_model() -> None:
    custom = {
        "azure": ProviderConfig(
            models={
                "prod-codex": ModelConfig(base_model="gpt-5.3-codex"),
                "my-4o": ModelConfig(base_model="openai/gpt-4o", max_output=4096),
                "big-gpt": ModelConfig(base_model="openai/gpt-5.4"),
            }
        )
    }
    reg = Registry.bundled().with_custom(custom)
    env = {"AZURE_RESOURCE_NAME": "contoso"}
    codex = reg.get_model("azure/prod-codex", env)
    base = reg.get_model("azure/gpt-5.3-codex", env)
    # The deployment name is the id sent on the wire; everything else is the base model's.
    assert codex.id == "prod-codex"
    assert (codex.api, codex.context_window, codex.price, codex.reasoning) == (
        base.api,
        base.context_window,
        base.price,
        base.reasoning,
    )
    assert codex.base_url == "https://contoso.openai.azure.com/openai/v1"
    four_o = reg.get_model("azure/my-4o", env)
    assert (four_o.api, four_o.max_output, four_o.api_key_env) == ("openai-chat", 4096, "AZURE_API_KEY")
    # Another provider's model: never its base URL or key (OpenAI's would get Azure's key).
    assert four_o.base_url.startswith("https://contoso.openai.azure.com/")
    big = reg.get_model("azure/big-gpt", env)
    assert big.api == "openai-responses"
    assert big.max_input == 922_000
    assert [t.context_over for t in big.tiers] == [272_000]


@pytest.mark.parametrize(
    ("base_model", "words"),
    [("no-such-model", "not in the model registry"), ("openai/o3-deep-research", "unsupported")],
)
def test_a_bad_base_model_is_refused_by_name(base_model: str, words: str) -> None:
    custom = {"azure": ProviderConfig(models={"dep": ModelConfig(base_model=base_model)})}
    with pytest.raises(CustomProviderError, match=words) as exc:
        Registry.bundled().with_custom(custom)
    assert "providers.azure.models.dep" in str(exc.value)


def test_gpt5_carries_its_input_limit_and_tiered_models_their_tiers() -> None:
    reg = Registry.bundled()
    gpt5 = reg.get_model("openai/gpt-5")
    assert (gpt5.context_window, gpt5.max_input, gpt5.input_limit) == (400_000, 272_000, 272_000)
    sonnet = reg.get_model("openrouter/anthropic/claude-sonnet-4.5")
    assert sonnet.input_limit == sonnet.context_window
    assert [(t.context_over, t.price.input, t.price.cache_write) for t in sonnet.tiers] == [(200_000, 6.0, 7.5)]
