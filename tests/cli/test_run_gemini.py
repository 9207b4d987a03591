"""`skipjack run` end to end against a loopback Gemini server: a two-tool task (read, then
edit), with thought signatures replayed on the parts they came with, function responses sent
back in order, and the tool schemas sent in the subset Gemini accepts."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from tests.cli.helpers import isolated_env, run_cli

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer, thought_signature
from skipjack.testing.scripted import turn_reply

READ = ScriptedToolCall("read", {"path": "hello.py"})
EDIT = ScriptedToolCall("edit", {"path": "hello.py", "old_text": "world", "new_text": "skipjack"})
# Keywords Gemini rejects in a function declaration's parameters.
REJECTED = ("$ref", "$defs", "additionalProperties", "oneOf", "const", "$schema", "exclusiveMinimum")


@pytest.fixture
def gemini_repo(tmp_path: Path, server: SSEServer) -> Path:
    root = tmp_path / "repo"
    (root / ".skipjack").mkdir(parents=True)
    (root / "hello.py").write_text('print("hello world")\n')
    (root / ".skipjack" / "config.toml").write_text(
        f"""model = "gem/gemini-2.5-pro"
[providers.gem]
base_url = "{server.url}"
api = "google-gemini"
api_key_env = "GEMINI_API_KEY"
[providers.gem.models."gemini-2.5-pro"]
context_window = 1048576
max_output = 65536
reasoning = true
price = {{ input = 1.25, output = 10.0, cache_read = 0.125 }}
"""
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text(f"trusted_projects = [{str(root)!r}]\n")
    return root


def _script(server: SSEServer, api: str) -> None:
    server.enqueue(
        turn_reply(
            ScriptedTurn(thinking="Read it first.", tool_calls=[READ], prompt_tokens=1000, completion_tokens=30),
            api=api,
            turn_index=0,
            chunk_size=9,
        ),
        turn_reply(
            ScriptedTurn(
                thinking="Now edit.",
                text="Editing.",
                tool_calls=[EDIT],
                prompt_tokens=1300,
                cached_tokens=1000,
                completion_tokens=40,
            ),
            api=api,
            turn_index=1,
        ),
        turn_reply(
            ScriptedTurn(text="Done: it greets skipjack.", prompt_tokens=1500, cached_tokens=1200, completion_tokens=9),
            api=api,
            turn_index=2,
        ),
    )


def test_two_tool_task_over_the_gemini_api(tmp_path: Path, gemini_repo: Path, server: SSEServer) -> None:
    _script(server, "google-gemini")
    env = isolated_env(tmp_path) | {"GEMINI_API_KEY": "AIza-test-key"}
    out = run_cli("run", "--json", "--approval", "auto-edit", "make it greet skipjack", cwd=gemini_repo, env=env)
    assert out.returncode == 0, out.stderr
    assert (gemini_repo / "hello.py").read_text() == 'print("hello skipjack")\n'
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["stop_reason"] == "completed"
    assert result["turns"] == 3
    assert result["text"] == "Done: it greets skipjack."
    assert result["usage"]["input"] == 1000 + 300 + 300
    assert result["usage"]["cache_read"] == 1000 + 1200
    expected = (1600 * 1.25 + 2200 * 0.125 + 79 * 10.0) / 1e6
    assert result["cost"] == pytest.approx(expected)

    path = "/v1/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    assert [r.path for r in server.requests] == [path] * 3
    assert all(r.headers["x-goog-api-key"] == "AIza-test-key" for r in server.requests)
    first, second, third = (r.json() for r in server.requests)
    for body in (first, second, third):
        assert body["systemInstruction"]["parts"][0]["text"]
        declarations = body["tools"][0]["functionDeclarations"]
        assert {d["name"] for d in declarations} >= {"read", "edit"}
        text = json.dumps(declarations)
        assert not [k for k in REJECTED if f'"{k}"' in text], text
        assert body["generationConfig"]["thinkingConfig"]["includeThoughts"] is True
    # Turn 2 replays turn 1's thought and its signed call, then the read's response.
    model_turn, response_turn = second["contents"][1], second["contents"][2]
    assert model_turn["role"] == "model"
    assert model_turn["parts"] == [
        {"text": "Read it first.", "thought": True},
        {"functionCall": {"name": "read", "args": {"path": "hello.py"}}, "thoughtSignature": thought_signature(0)},
    ]
    assert response_turn["role"] == "user"
    [response] = response_turn["parts"]
    assert response["functionResponse"]["name"] == "read"
    assert "hello world" in response["functionResponse"]["response"]["output"]
    # Turn 3 carries both model turns, each signature on its own call.
    signed = [
        p["thoughtSignature"]
        for c in third["contents"]
        if c["role"] == "model"
        for p in c["parts"]
        if "thoughtSignature" in p
    ]
    assert signed == [thought_signature(0), thought_signature(1)]
    edit_turn = third["contents"][3]["parts"]
    assert edit_turn[1] == {"text": "Editing."}
    assert edit_turn[2]["functionCall"]["name"] == "edit"
    assert third["contents"][4]["parts"][0]["functionResponse"]["name"] == "edit"


def test_two_tool_task_on_vertex_with_a_service_account(tmp_path: Path, server: SSEServer) -> None:
    """The whole flow a Vertex user has: project and location from the environment, a service
    account key file, a token fetched once (its JWT signed with that key) and sent as a bearer
    token on every turn; no key variable at all."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from skipjack.testing import Reply

    root = tmp_path / "repo"
    (root / ".skipjack").mkdir(parents=True)
    (root / "hello.py").write_text('print("hello world")\n')
    (root / ".skipjack" / "config.toml").write_text(
        f"""model = "vtx/gemini-2.5-pro"
[providers.vtx]
base_url = "{server.root_url}/v1/projects/${{GOOGLE_VERTEX_PROJECT}}/locations/${{GOOGLE_VERTEX_LOCATION}}"
api = "google-vertex"
[providers.vtx.models."gemini-2.5-pro"]
reasoning = true
price = {{ input = 1.25, output = 10.0, cache_read = 0.125 }}
"""
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text(f"trusted_projects = [{str(root)!r}]\n")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    creds = tmp_path / "sa.json"
    creds.write_text(
        json.dumps(
            {
                "type": "service_account",
                "project_id": "proj-9",
                "private_key": pem.decode(),
                "client_email": "ci@proj-9.iam.gserviceaccount.com",
                "token_uri": f"{server.root_url}/token",
            }
        )
    )
    server.enqueue(Reply.error(200, {"access_token": "ya29.cli-token", "expires_in": 3600, "token_type": "Bearer"}))
    _script(server, "google-vertex")
    env = isolated_env(tmp_path) | {
        "GOOGLE_APPLICATION_CREDENTIALS": str(creds),
        "GOOGLE_VERTEX_PROJECT": "proj-9",
        "GOOGLE_VERTEX_LOCATION": "europe-west4",
    }
    out = run_cli("run", "--json", "--approval", "auto-edit", "make it greet skipjack", cwd=root, env=env)
    assert out.returncode == 0, out.stderr
    assert (root / "hello.py").read_text() == 'print("hello skipjack")\n'
    assert json.loads(out.stdout.splitlines()[-1])["turns"] == 3
    token, *turns = server.requests
    assert token.path == "/token"
    base = "/v1/projects/proj-9/locations/europe-west4"
    path = f"{base}/publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse"
    assert [r.path for r in turns] == [path] * 3
    assert all(r.headers["authorization"] == "Bearer ya29.cli-token" for r in turns)
    # The token went nowhere but the wire: not into the session files, config or output.
    for f in tmp_path.rglob("*"):
        if f.is_file() and f.suffix in {".jsonl", ".json", ".toml", ".log", ""}:
            assert b"ya29.cli-token" not in f.read_bytes(), f
    assert "ya29.cli-token" not in out.stdout + out.stderr
