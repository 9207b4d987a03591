"""An API key goes only to its own provider."""

from __future__ import annotations

import pytest

from skipjack.config import Settings, api_key_source, missing_key_hint, resolve_api_key
from skipjack.config.schema import ModelConfig, ProviderConfig
from skipjack.llm.types import Model
from skipjack.models import Registry


@pytest.fixture(scope="module")
def reg() -> Registry:
    return Registry.bundled()


@pytest.fixture
def claude(reg: Registry) -> Model:
    return reg.get_model("anthropic/claude-sonnet-4-5")


@pytest.fixture
def gpt(reg: Registry) -> Model:
    return reg.get_model("openai/gpt-4o")


def test_the_providers_own_env_var_is_used(claude: Model, gpt: Model) -> None:
    env = {"ANTHROPIC_API_KEY": "sk-ant", "OPENAI_API_KEY": "sk-oai"}
    assert resolve_api_key(claude, Settings(), env) == "sk-ant"
    assert resolve_api_key(gpt, Settings(), env) == "sk-oai"
    assert api_key_source(claude, Settings(), env) == "env ANTHROPIC_API_KEY"


def test_an_openai_key_is_never_sent_to_anthropic(claude: Model) -> None:
    env = {"OPENAI_API_KEY": "sk-oai", "OPENROUTER_API_KEY": "sk-or"}
    settings = Settings(keys={"openai": "sk-oai-config", "openrouter": "sk-or-config"})
    assert resolve_api_key(claude, settings, env) is None
    assert api_key_source(claude, settings, env) is None
    assert "ANTHROPIC_API_KEY" in missing_key_hint(claude)


def test_config_keys_are_a_fallback_by_provider_id(claude: Model) -> None:
    settings = Settings(keys={"anthropic": "sk-ant-config"})
    assert resolve_api_key(claude, settings, {}) == "sk-ant-config"
    assert api_key_source(claude, settings, {}) == "config [keys] anthropic"
    # The environment wins; an empty variable does not count.
    assert resolve_api_key(claude, settings, {"ANTHROPIC_API_KEY": "sk-env"}) == "sk-env"
    assert resolve_api_key(claude, settings, {"ANTHROPIC_API_KEY": "  "}) == "sk-ant-config"


def test_a_shared_gateway_key_reaches_only_the_gateway(reg: Registry) -> None:
    via_openrouter = reg.get_model("openrouter/anthropic/claude-sonnet-4")
    env = {"ANTHROPIC_API_KEY": "sk-ant", "OPENROUTER_API_KEY": "sk-or"}
    assert resolve_api_key(via_openrouter, Settings(), env) == "sk-or"
    assert resolve_api_key(via_openrouter, Settings(), {"ANTHROPIC_API_KEY": "sk-ant"}) is None


def test_custom_provider_key_variable(reg: Registry) -> None:
    merged = reg.with_custom(
        {
            "local": ProviderConfig(
                base_url="http://127.0.0.1:8080/v1",
                api="openai-chat",
                api_key_env="LOCAL_LLM_KEY",
                models={"m": ModelConfig()},
            )
        }
    )
    model = merged.get_model("local/m")
    assert resolve_api_key(model, Settings(), {"LOCAL_LLM_KEY": "k", "OPENAI_API_KEY": "o"}) == "k"
    assert resolve_api_key(model, Settings(), {"OPENAI_API_KEY": "o"}) is None
