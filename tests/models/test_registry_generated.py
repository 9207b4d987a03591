"""The committed registry.json is exactly what the generator makes of the snapshot, and its
figures match the models.dev TOML they came from."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from _registry_paths import COMMITTED, SCRIPT

from skipjack.llm.types import Price
from skipjack.models import Registry, UnsupportedModelError, UnsupportedProviderError


def test_committed_registry_equals_a_fresh_generation(snapshot: Path, tmp_path: Path) -> None:
    out = tmp_path / "registry.json"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(snapshot), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == COMMITTED.read_bytes(), (
        "python/skipjack/models/registry.json differs from the generator's output: "
        "run `python scripts/gen_registry.py` instead of editing it by hand"
    )


def test_header_names_the_snapshot_and_forbids_hand_edits(snapshot: Path) -> None:
    doc = json.loads(COMMITTED.read_bytes())
    commit = (snapshot / "SOURCE.txt").read_text().split("commit ")[1].split()[0]
    assert commit in doc["_generated"]
    assert "Do not edit by hand" in doc["_generated"]
    assert doc["source"]["commit"] == commit
    assert next(iter(doc)) == "_generated"
    # One provider or model per line keeps diffs of a regeneration reviewable.
    lines = COMMITTED.read_text().splitlines()
    assert len(lines) == len(doc["providers"]) + len(doc["models"]) + 5


def _toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text())


def _price(cost: dict[str, Any]) -> Price:
    return Price(
        input=cost["input"],
        output=cost["output"],
        cache_read=cost.get("cache_read", 0.0),
        cache_write=cost.get("cache_write", 0.0),
    )


@pytest.mark.parametrize(
    ("ref", "provider_file", "lab_file"),
    [
        ("anthropic/claude-sonnet-4-5", "providers/anthropic/models/claude-sonnet-4-5.toml", None),
        (
            "anthropic/claude-sonnet-4-20250514",
            "providers/anthropic/models/claude-sonnet-4-20250514.toml",
            None,
        ),
        ("openai/gpt-4o", "providers/openai/models/gpt-4o.toml", None),
        # gpt-5's provider file holds only the price; limits come from the lab file via base_model.
        ("openai/gpt-5", "providers/openai/models/gpt-5.toml", "models/openai/gpt-5.toml"),
        ("deepseek/deepseek-chat", "providers/deepseek/models/deepseek-chat.toml", None),
        (
            "openrouter/anthropic/claude-sonnet-4",
            "providers/openrouter/models/anthropic/claude-sonnet-4.toml",
            None,
        ),
    ],
)
def test_prices_and_limits_match_the_source_toml(
    snapshot: Path, ref: str, provider_file: str, lab_file: str | None
) -> None:
    src = _toml(snapshot / provider_file)
    lab = _toml(snapshot / lab_file) if lab_file else {}
    if lab_file:
        assert src["base_model"] == lab_file.removeprefix("models/").removesuffix(".toml")
    limit = src.get("limit") or lab["limit"]
    modalities = src.get("modalities") or lab["modalities"]

    model = Registry.bundled().get_model(ref)

    assert model.price == _price(src["cost"])
    assert model.context_window == limit["context"]
    assert model.max_output == limit["output"]
    assert model.reasoning == src.get("reasoning", lab.get("reasoning"))
    assert model.images == ("image" in modalities["input"])
    assert model.name == src.get("name", lab.get("name"))


def test_price_tiers_are_kept_for_cost(snapshot: Path) -> None:
    reg = Registry.bundled()
    src = _toml(snapshot / "providers/openrouter/models/anthropic/claude-sonnet-4.toml")
    [tier] = src["cost"]["tiers"]
    [got] = reg.facts("openrouter/anthropic/claude-sonnet-4").tiers
    assert got.context_over == tier["tier"]["size"] == 200_000
    assert got.price == _price(tier)

    # A tier that omits cache_write keeps the base price's (gpt-5.4 has none at all).
    src = _toml(snapshot / "providers/openai/models/gpt-5.4.toml")
    [tier] = src["cost"]["tiers"]
    [got] = reg.facts("openai/gpt-5.4").tiers
    assert got.context_over == 272_000
    assert got.price == Price(tier["input"], tier["output"], tier["cache_read"], 0.0)
    assert reg.facts("openai/gpt-5.4").max_input == src["limit"]["input"]
    assert reg.facts("anthropic/claude-sonnet-4-5").tiers == []


def test_wire_apis_and_base_urls() -> None:
    reg = Registry.bundled()
    cases = {
        "anthropic/claude-sonnet-4-5": (
            "anthropic-messages",
            "https://api.anthropic.com/v1",
            "ANTHROPIC_API_KEY",
        ),
        "openai/gpt-4o": ("openai-chat", "https://api.openai.com/v1", "OPENAI_API_KEY"),
        "deepseek/deepseek-chat": ("openai-chat", "https://api.deepseek.com", "DEEPSEEK_API_KEY"),
        "openrouter/anthropic/claude-sonnet-4": (
            "openai-chat",
            "https://openrouter.ai/api/v1",
            "OPENROUTER_API_KEY",
        ),
        "groq/llama-3.3-70b-versatile": ("openai-chat", "https://api.groq.com/openai/v1", "GROQ_API_KEY"),
        # An OpenAI-compatible gateway serving Claude over the Anthropic API per model.
        "opencode/claude-sonnet-4-5": (
            "anthropic-messages",
            "https://opencode.ai/zen/v1",
            "OPENCODE_API_KEY",
        ),
    }
    for ref, (api, base_url, key_env) in cases.items():
        m = reg.get_model(ref)
        assert (m.api, m.base_url, m.api_key_env) == (api, base_url, key_env), ref


@pytest.mark.parametrize(
    ("provider", "words"),
    [
        ("github-copilot", "OAuth token exchange"),
    ],
)
def test_providers_skipjack_cannot_speak_to_say_why(provider: str, words: str) -> None:
    reg = Registry.bundled()
    info = {p.id: p for p in reg.providers()}[provider]
    assert info.unsupported is not None
    assert words in info.unsupported
    with pytest.raises(UnsupportedProviderError) as exc:
        reg.get_model(f"{provider}/some-model")
    assert words in str(exc.value)
    assert exc.value.provider == provider


@pytest.mark.parametrize(
    "ref",
    [
        "amazon-bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0",
        "amazon-bedrock/au.anthropic.claude-sonnet-4-6",
        "amazon-bedrock/amazon.nova-pro-v1:0",
        "amazon-bedrock/deepseek.r1-v1:0",
    ],
)
def test_bedrock_models_are_usable_over_converse(ref: str) -> None:
    reg = Registry.bundled()
    model = reg.get_model(ref)
    assert model.api == "bedrock-converse"
    # The core fills the region in from the AWS settings.
    assert model.base_url == "https://bedrock-runtime.{region}.amazonaws.com"
    assert model.api_key_env == "AWS_BEARER_TOKEN_BEDROCK"
    assert model.price.input > 0
    # Listed among the usable models, as `skipjack models search` shows them.
    assert ref in {m.ref for m in reg.list_models("amazon-bedrock")}


@pytest.mark.parametrize(
    "ref", ["openai/gpt-5-codex", "openai/gpt-5.3-codex", "openai/gpt-5.1-codex-max", "openai/o3-pro", "openai/gpt-5"]
)
def test_openai_codex_pro_and_reasoning_models_use_the_responses_api(ref: str) -> None:
    model = Registry.bundled().get_model(ref)
    assert model.api == "openai-responses"
    assert model.base_url == "https://api.openai.com/v1"
    assert model.api_key_env == "OPENAI_API_KEY"
    assert model.price.input > 0


def test_openai_chat_models_stay_on_chat_completions() -> None:
    assert Registry.bundled().get_model("openai/gpt-4.1").api == "openai-chat"
    assert Registry.bundled().get_model("openai/gpt-5-chat-latest").api == "openai-chat"


def test_models_needing_openais_hosted_tools_are_refused_with_the_reason() -> None:
    with pytest.raises(UnsupportedModelError, match="hosted tools"):
        Registry.bundled().get_model("openai/o3-deep-research")


@pytest.mark.parametrize(
    ("ref", "api"),
    [
        ("google/gemini-2.5-pro", "google-gemini"),
        ("google-vertex/gemini-2.5-pro", "google-vertex"),
        ("google-vertex/claude-sonnet-4-5@20250929", "google-vertex-anthropic"),
        ("google-vertex-anthropic/claude-sonnet-4-5@20250929", "google-vertex-anthropic"),
    ],
)
def test_google_and_vertex_models_are_usable(ref: str, api: str) -> None:
    env = {"GOOGLE_VERTEX_PROJECT": "my-proj", "GOOGLE_VERTEX_LOCATION": "us-east5"}
    model = Registry.bundled().get_model(ref, env=env)
    assert model.api == api
    assert model.price.input > 0
    if api == "google-gemini":
        assert model.base_url == "https://generativelanguage.googleapis.com/v1beta"
        assert model.api_key_env == "GOOGLE_API_KEY"
    else:
        assert model.base_url == "https://us-east5-aiplatform.googleapis.com/v1/projects/my-proj/locations/us-east5"
        # Vertex takes OAuth tokens the core obtains, never a variable's value: not even the
        # credentials file's path may be sent as a key.
        assert model.api_key_env is None


def test_vertex_needs_project_and_location_and_says_so() -> None:
    with pytest.raises(Exception, match="GOOGLE_VERTEX_PROJECT"):
        Registry.bundled().get_model("google-vertex/gemini-2.5-pro", env={"GOOGLE_VERTEX_LOCATION": "global"})


def test_vertex_openai_compatible_models_say_why_they_are_unusable() -> None:
    with pytest.raises(UnsupportedModelError, match="Google access token"):
        Registry.bundled().get_model("google-vertex/meta/llama-3.3-70b-instruct-maas")


@pytest.mark.parametrize("provider", ["vivgrid", "perplexity-agent"])
def test_responses_only_providers_are_usable(provider: str) -> None:
    info = {p.id: p for p in Registry.bundled().providers()}[provider]
    assert info.unsupported is None
    assert info.api == "openai-responses"


def test_symlinked_provider_models_carry_their_targets_data(snapshot: Path) -> None:
    link = snapshot / "providers/vercel/models/openai/gpt-4o.toml"
    assert "openai/models/gpt-4o.toml" in link.read_text() or link.is_symlink()
    reg = Registry.bundled()
    via_vercel, direct = reg.get_model("vercel/openai/gpt-4o"), reg.get_model("openai/gpt-4o")
    assert via_vercel.price == direct.price
    assert via_vercel.context_window == direct.context_window
    assert via_vercel.base_url == "https://ai-gateway.vercel.sh/v1"


def test_a_catalog_in_api_json_form_converts_to_the_same_registry(snapshot: Path, gen_registry: ModuleType) -> None:
    """The refresh path (api.json) and the generator share one conversion."""
    api_json = json.dumps(gen_registry.load_catalog(snapshot)).encode()
    from_api = Registry.from_catalog(api_json, "api.json")
    bundled = Registry.bundled()
    assert from_api.data.providers == bundled.data.providers
    assert from_api.data.models == bundled.data.models


def test_embedding_and_image_output_models_are_left_out() -> None:
    reg = Registry.bundled()
    assert "openai/text-embedding-3-small" not in reg.data.models
    assert "openai/gpt-image-1" not in reg.data.models
    assert "openai/gpt-4o" in reg.data.models
