"""`skipjack run` against a loopback Azure OpenAI: the user's deployment (named in config
with `base_model`) reached at a base URL override, the key in `api-key`, an Entra ID token as
a bearer token, and neither ever sent to a model that is not Azure's."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.cli.helpers import isolated_env, run_cli

from skipjack.testing import ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

KEY = "azure-key-5f1e"
TOKEN = "eyJ0eXAiOiJKV1Qi.entra.token"


def setup(tmp_path: Path, server: SSEServer, model: str) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        f"""model = "{model}"
[providers.azure]
base_url = "{server.url}"
[providers.azure.models.prod-codex]
base_model = "gpt-5.3-codex"
[providers.plain]
base_url = "{server.url}"
api = "openai-chat"
[providers.plain.models.m1]
context_window = 100000
"""
    )
    return root


def reply(server: SSEServer, api: str) -> None:
    server.enqueue(turn_reply(ScriptedTurn(text="hello from azure", prompt_tokens=10, completion_tokens=3), api=api))


def run(tmp_path: Path, root: Path, **env: str) -> dict[str, object]:
    out = run_cli("run", "--json", "say hi", cwd=root, env=isolated_env(tmp_path) | env)
    assert out.returncode == 0, out.stderr
    result: dict[str, object] = json.loads(out.stdout.splitlines()[-1])
    return result


def test_deployment_over_responses_with_the_key_in_api_key(tmp_path: Path, server: SSEServer) -> None:
    root = setup(tmp_path, server, "azure/prod-codex")
    reply(server, "openai-responses")
    result = run(tmp_path, root, AZURE_API_KEY=KEY, AZURE_OPENAI_AD_TOKEN="")
    assert result["text"] == "hello from azure"
    (request,) = server.requests
    assert request.path == "/v1/responses"
    assert request.json()["model"] == "prod-codex"
    assert request.headers.get("api-key") == KEY
    assert "authorization" not in request.headers
    # gpt-5.3-codex's prices came with the deployment: 10 in at $1.75, 3 out at $14 per Mtok.
    assert result["cost"] == pytest.approx((10 * 1.75 + 3 * 14.0) / 1e6)


def test_an_entra_id_token_alone_is_sent_as_a_bearer_token(tmp_path: Path, server: SSEServer) -> None:
    root = setup(tmp_path, server, "azure/prod-codex")
    reply(server, "openai-responses")
    run(tmp_path, root, AZURE_OPENAI_AD_TOKEN=TOKEN)
    (request,) = server.requests
    assert request.headers.get("authorization") == f"Bearer {TOKEN}"
    assert "api-key" not in request.headers


def test_neither_azure_credential_goes_to_another_provider(tmp_path: Path, server: SSEServer) -> None:
    root = setup(tmp_path, server, "plain/m1")
    reply(server, "openai-chat")
    run(tmp_path, root, AZURE_API_KEY=KEY, AZURE_OPENAI_AD_TOKEN=TOKEN)
    (request,) = server.requests
    raw = json.dumps(request.headers) + request.body.decode()
    assert KEY not in raw
    assert TOKEN not in raw


def test_no_credential_at_all_names_both_ways_to_give_one(tmp_path: Path, server: SSEServer) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (tmp_path / "config").mkdir()
    out = run_cli(
        "run",
        "--model",
        "azure/gpt-5",
        "hi",
        cwd=root,
        env=isolated_env(tmp_path) | {"AZURE_RESOURCE_NAME": "contoso", "AZURE_OPENAI_AD_TOKEN": ""},
    )
    assert out.returncode != 0
    assert "AZURE_API_KEY" in out.stderr
    assert "AZURE_OPENAI_AD_TOKEN" in out.stderr
    assert server.requests == []
