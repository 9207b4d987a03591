"""The generator's rules, on a small models.dev-shaped tree written into tmp_path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from _registry_paths import SCRIPT


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


MODEL = """
name = "{name}"
attachment = false
reasoning = false
tool_call = true
release_date = "2025-01-01"
last_updated = "2025-01-01"
open_weights = false
[cost]
input = 1.0
output = 2.0
[limit]
context = 100_000
output = 8_000
[modalities]
input = ["text"]
output = ["text"]
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    _write(root, "SOURCE.txt", "models.dev data snapshot, commit 0123456789abcdef (2026-01-02), MIT\n")
    _write(
        root,
        "models/acme/brain-1.toml",
        """
name = "Brain 1"
reasoning = true
tool_call = true
attachment = true
release_date = "2025-05-05"
last_updated = "2025-05-05"
open_weights = false
[limit]
context = 400_000
input = 272_000
output = 128_000
[modalities]
input = ["text", "image"]
output = ["text"]
[[benchmarks]]
name = "x"
score = 1
""",
    )
    # A chat-compatible provider; one model inherits from the lab file and drops limit.input.
    _write(
        root,
        "providers/hub/provider.toml",
        'name = "Hub"\nenv = ["HUB_API_KEY"]\n'
        'npm = "@ai-sdk/openai-compatible"\napi = "https://hub.example/v1"\ndoc = "d"\n',
    )
    _write(
        root,
        "providers/hub/models/acme/brain-1.toml",
        'base_model = "acme/brain-1"\nbase_model_omit = ["limit.input"]\n'
        "[cost]\ninput = 2.0\noutput = 8.0\ncache_read = 0.2\n"
        "[[cost.tiers]]\ntier = { size = 200_000 }\ninput = 4.0\noutput = 16.0\n",
    )
    _write(root, "providers/hub/models/plain.toml", MODEL.format(name="Plain"))
    _write(
        root,
        "providers/hub/models/claude-x.toml",
        MODEL.format(name="Claude X") + '[provider]\nnpm = "@ai-sdk/anthropic"\n',
    )
    _write(
        root,
        "providers/hub/models/gpt-r.toml",
        MODEL.format(name="GPT R") + '[provider]\nnpm = "@ai-sdk/openai"\n',
    )
    _write(
        root,
        "providers/hub/models/embed-1.toml",
        MODEL.format(name="Embed").replace('name = "Embed"', 'name = "Embed"\nfamily = "text-embedding"'),
    )
    _write(
        root,
        "providers/hub/models/painter.toml",
        MODEL.format(name="Painter").replace('output = ["text"]', 'output = ["image"]'),
    )
    # The same model through a real symlink, a link stored as text (a checkout without
    # symlinks), and a link whose target is gone.
    (root / "providers/hub/models/linked.toml").symlink_to("plain.toml")
    _write(root, "providers/hub/models/text-linked.toml", "plain.toml\n")
    _write(root, "providers/hub/models/dangling.toml", "../../gone/models/x.toml\n")
    # Google's Gemini client without a URL: the Gemini API's own.
    _write(
        root,
        "providers/gem/provider.toml",
        'name = "Gem"\nenv = ["GEM_KEY"]\nnpm = "@ai-sdk/google"\ndoc = "d"\n',
    )
    # A native protocol skipjack does not speak.
    _write(
        root,
        "providers/coh/provider.toml",
        'name = "Coh"\nenv = ["COH_KEY"]\nnpm = "@ai-sdk/cohere"\ndoc = "d"\n',
    )
    _write(root, "providers/coh/models/c1.toml", MODEL.format(name="C1"))
    _write(root, "providers/gem/models/g1.toml", MODEL.format(name="G1"))
    # A base URL that needs an account id from the environment.
    _write(
        root,
        "providers/acct/provider.toml",
        'name = "Acct"\nenv = ["ACCT_ID", "ACCT_API_KEY"]\nnpm = "@ai-sdk/openai-compatible"\n'
        'api = "https://api.example/${ACCT_ID}/v1"\ndoc = "d"\n',
    )
    _write(root, "providers/acct/models/m.toml", MODEL.format(name="M"))
    # First-party Anthropic: no api in models.dev, the client's default URL applies.
    _write(
        root,
        "providers/anthropic/provider.toml",
        'name = "Anthropic"\nenv = ["ANTHROPIC_API_KEY"]\nnpm = "@ai-sdk/anthropic"\ndoc = "d"\n',
    )
    _write(root, "providers/anthropic/models/claude-a.toml", MODEL.format(name="Claude A"))
    return root


def _generate(tree: Path, out: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(tree), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "dangling.toml" in proc.stderr
    doc: dict[str, Any] = json.loads(out.read_text())
    return doc


def test_generated_registry_follows_the_rules(tree: Path, tmp_path: Path) -> None:
    doc = _generate(tree, tmp_path / "out.json")
    providers, models = doc["providers"], doc["models"]
    assert "0123456789abcdef" in doc["_generated"]

    brain = models["hub/acme/brain-1"]
    # Inherited from the lab file, with the provider's price and limit.input omitted.
    assert brain["name"] == "Brain 1"
    assert (brain["context"], brain["max_output"]) == (400_000, 128_000)
    assert "max_input" not in brain
    assert brain["reasoning"]
    assert brain["images"]
    assert brain["tool_call"]
    assert brain["price"] == {"input": 2.0, "output": 8.0, "cache_read": 0.2, "cache_write": 0.0}
    # The tier leaves cache_read unset, so the base price applies to it.
    assert brain["tiers"] == [
        {
            "context_over": 200_000,
            "price": {"input": 4.0, "output": 16.0, "cache_read": 0.2, "cache_write": 0.0},
        }
    ]

    assert models["hub/linked"] == models["hub/plain"] == models["hub/text-linked"]
    assert "hub/dangling" not in models
    assert "hub/embed-1" not in models
    assert "hub/painter" not in models

    # Per-model client override: Anthropic messages at the provider's base URL.
    assert models["hub/claude-x"]["api"] == "anthropic-messages"
    assert "base_url" not in models["hub/claude-x"]
    # The OpenAI client pointed at anyone but OpenAI speaks Responses, at the provider's URL.
    assert models["hub/gpt-r"]["api"] == "openai-responses"
    assert "base_url" not in models["hub/gpt-r"]
    assert "unsupported" not in models["hub/gpt-r"]

    assert providers["hub"]["api"] == "openai-chat"
    assert providers["anthropic"]["base_url"] == "https://api.anthropic.com/v1"
    assert providers["gem"]["api"] == "google-gemini"
    assert providers["gem"]["base_url"] == "https://generativelanguage.googleapis.com/v1beta"
    assert "unsupported" not in models["gem/g1"]
    assert "Cohere" in providers["coh"]["unsupported"]
    assert not any(k.startswith("coh/") for k in models)
    assert providers["acct"]["base_url"] == "https://api.example/${ACCT_ID}/v1"
    assert providers["acct"]["api_key_env"] == "ACCT_API_KEY"


def test_generation_is_deterministic(tree: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    _generate(tree, a)
    os.utime(tree / "providers/hub/models/plain.toml", (0, 0))
    _generate(tree, b)
    assert a.read_bytes() == b.read_bytes()


def test_a_missing_base_model_fails_loudly(tree: Path, tmp_path: Path) -> None:
    _write(tree, "providers/hub/models/orphan.toml", 'base_model = "acme/nope"\n')
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--data", str(tree), "--out", str(tmp_path / "o.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "acme/nope" in proc.stderr
    assert not (tmp_path / "o.json").exists()


def test_openai_models_pick_responses_where_it_serves_them_better(tree: Path, tmp_path: Path) -> None:
    _write(
        tree,
        "providers/openai/provider.toml",
        'name = "OpenAI"\nenv = ["OPENAI_API_KEY"]\nnpm = "@ai-sdk/openai"\ndoc = "d"\n',
    )
    reasoning = MODEL.replace("reasoning = false", "reasoning = true")
    for mid in ("gpt-9-codex", "gpt-9-pro", "o9-pro", "gpt-9", "gpt-9-chat-latest"):
        _write(tree, f"providers/openai/models/{mid}.toml", reasoning.format(name=mid))
    for mid in ("gpt-4.9", "gpt-9-codex-plain"):
        _write(tree, f"providers/openai/models/{mid}.toml", MODEL.format(name=mid))
    for mid in ("o9-deep-research", "computer-use-preview"):
        _write(tree, f"providers/openai/models/{mid}.toml", reasoning.format(name=mid))
    # A Responses-shaped model at an OpenAI-compatible host, and one behind AWS signing.
    _write(
        tree,
        "providers/hub/models/fugu.toml",
        MODEL.format(name="Fugu") + '[provider]\nshape = "responses"\n',
    )
    _write(
        tree,
        "providers/hub/models/signed.toml",
        MODEL.format(name="Signed") + '[provider]\nnpm = "@ai-sdk/amazon-bedrock/mantle"\nshape = "responses"\n',
    )
    doc = _generate(tree, tmp_path / "out.json")
    providers, models = doc["providers"], doc["models"]
    assert providers["openai"]["api"] == "openai-chat"
    assert providers["openai"]["base_url"] == "https://api.openai.com/v1"
    # Responses-only (codex, -pro, whatever the reasoning flag says) and reasoning models.
    for mid in ("gpt-9-codex", "gpt-9-pro", "o9-pro", "gpt-9", "gpt-9-codex-plain"):
        assert models[f"openai/{mid}"]["api"] == "openai-responses", mid
        assert "unsupported" not in models[f"openai/{mid}"], mid
    # Plain chat models and ChatGPT's -chat snapshots stay on chat completions.
    for mid in ("gpt-4.9", "gpt-9-chat-latest"):
        assert "api" not in models[f"openai/{mid}"], mid
    for mid in ("o9-deep-research", "computer-use-preview"):
        assert "hosted tools" in models[f"openai/{mid}"]["unsupported"], mid
    assert models["hub/fugu"]["api"] == "openai-responses"
    assert "AWS request signing" in models["hub/signed"]["unsupported"]
