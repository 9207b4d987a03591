"""Gemini and Vertex AI through `skipjack.llm.stream` over real loopback HTTP: every fixture
chunked over a socket, signatures replayed on the next request, RESOURCE_EXHAUSTED retried
after its RetryInfo delay, cancel closing the socket, and Vertex's OAuth token obtained from a
service-account key (signed JWT → loopback token endpoint), cached and refreshed."""

from __future__ import annotations

import asyncio
import base64
import json
import time
from pathlib import Path
from urllib.parse import parse_qs

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from tests.conftest import SSE_FIXTURES
from tests.llm.helpers import collect, model_for, types

from skipjack.llm import (
    AssistantMessage,
    AuthError,
    Context,
    ContextOverflowError,
    RateLimitedError,
    ToolCall,
    ToolResultMessage,
    UserMessage,
    stream,
)
from skipjack.llm.errors import AbortedError
from skipjack.llm.events import Done, Error, Retry, TextDelta
from skipjack.testing import (
    Reply,
    ScriptedToolCall,
    ScriptedTurn,
    SSEServer,
    Stall,
    gemini_turn,
    thought_signature,
)

GEMINI = "google-gemini"
FIXTURES = sorted((SSE_FIXTURES / "google_gemini").glob("*.sse"))
FAILING = ("error", "truncated", "blocked", "malformed", "exhausted", "overflow")


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
async def test_every_gemini_fixture_over_http(sse_server: SSEServer, fixture: Path) -> None:
    sse_server.enqueue(Reply.sse(fixture.read_bytes(), chunk_size=7))
    model = model_for(sse_server.url, api=GEMINI)
    events, message, error = await collect(model, api_key="AIza-k")
    terminal = [e for e in events if isinstance(e, Done | Error)]
    assert len(terminal) == 1
    assert events[-1] is terminal[0]
    req = sse_server.requests[0]
    assert req.path == "/v1/models/test-model:streamGenerateContent?alt=sse"
    assert req.headers["x-goog-api-key"] == "AIza-k"
    assert "authorization" not in req.headers
    assert req.json()["contents"] == [{"role": "user", "parts": [{"text": "hi"}]}]
    failing = any(word in fixture.stem for word in FAILING)
    assert (error is not None) == failing, error
    assert message.api == GEMINI
    u = message.usage
    assert u.total_tokens == u.input + u.output + u.cache_read + u.cache_write


async def test_text_usage_and_cost(sse_server: SSEServer) -> None:
    turn = ScriptedTurn(text="Hello wörld 🦀", prompt_tokens=1000, completion_tokens=50, cached_tokens=200)
    sse_server.enqueue(Reply.sse(gemini_turn(turn), chunk_size=5))
    events, message, error = await collect(model_for(sse_server.url, api=GEMINI))
    assert error is None
    assert types(events)[0] == "start"
    assert types(events)[-1] == "done"
    assert "".join(e.delta for e in events if isinstance(e, TextDelta)) == "Hello wörld 🦀"
    u = message.usage
    assert (u.input, u.cache_read, u.output) == (800, 200, 50)
    assert u.cost.total == pytest.approx(800 * 3.0 / 1e6 + 200 * 0.3 / 1e6 + 50 * 15.0 / 1e6)


async def test_thought_signature_and_calls_are_replayed_on_the_next_request(sse_server: SSEServer) -> None:
    calls = [ScriptedToolCall("read", {"path": "a.py"}), ScriptedToolCall("read", {"path": "b.py"})]
    sse_server.enqueue(
        Reply.sse(gemini_turn(ScriptedTurn(thinking="Both files.", tool_calls=calls)), chunk_size=3),
        Reply.sse(gemini_turn(ScriptedTurn(text="done"), turn_index=1)),
    )
    model = model_for(sse_server.url, api=GEMINI, reasoning=True)
    first = stream(model, Context(system_prompt="sys", messages=[UserMessage("go")]))
    _ = [e async for e in first]
    turn: AssistantMessage = await first.result()
    assert turn.stop_reason == "tool_use"
    ids = [c.id for c in turn.tool_calls]
    assert len(set(ids)) == 2
    assert turn.tool_calls == [ToolCall(ids[0], "read", {"path": "a.py"}), ToolCall(ids[1], "read", {"path": "b.py"})]
    history = [UserMessage("go"), turn, ToolResultMessage(ids[0], "read", "A"), ToolResultMessage(ids[1], "read", "B")]
    second = stream(model, Context(system_prompt="sys", messages=history))
    _ = [e async for e in second]
    assert (await second.result()).text == "done"
    body = sse_server.requests[1].json()
    assert body["systemInstruction"] == {"parts": [{"text": "sys"}]}
    assert body["contents"] == [
        {"role": "user", "parts": [{"text": "go"}]},
        {
            "role": "model",
            "parts": [
                {"text": "Both files.", "thought": True},
                {"functionCall": {"name": "read", "args": {"path": "a.py"}}, "thoughtSignature": thought_signature(0)},
                {"functionCall": {"name": "read", "args": {"path": "b.py"}}},
            ],
        },
        {
            "role": "user",
            "parts": [
                {"functionResponse": {"name": "read", "response": {"output": "A"}}},
                {"functionResponse": {"name": "read", "response": {"output": "B"}}},
            ],
        },
    ]


def _exhausted(delay: str) -> dict[str, object]:
    return {
        "error": {
            "code": 429,
            "message": "You exceeded your current quota, please check your plan and billing details.",
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}],
        }
    }


async def test_resource_exhausted_waits_for_its_retry_info_delay(sse_server: SSEServer) -> None:
    sse_server.enqueue(Reply.error(429, [_exhausted("0.6s")]), Reply.sse(gemini_turn(ScriptedTurn(text="recovered"))))
    started = time.monotonic()
    events, message, error = await collect(model_for(sse_server.url, api=GEMINI))
    waited = time.monotonic() - started
    assert error is None
    retry = next(e for e in events if isinstance(e, Retry))
    assert retry.delay_ms == 600
    assert isinstance(retry.error, RateLimitedError)
    assert 0.55 < waited < 5
    assert message.text == "recovered"
    assert len(sse_server.requests) == 2


async def test_resource_exhausted_inside_the_stream_is_retried_too(sse_server: SSEServer) -> None:
    sse_server.enqueue(
        Reply.sse((SSE_FIXTURES / "google_gemini" / "resource_exhausted.sse").read_bytes().replace(b"7s", b"0.2s")),
        Reply.sse(gemini_turn(ScriptedTurn(text="second try"))),
    )
    events, message, error = await collect(model_for(sse_server.url, api=GEMINI))
    assert error is None
    assert [e.delay_ms for e in events if isinstance(e, Retry)] == [200]
    assert message.text == "second try"


async def test_overflow_and_a_bad_key_are_not_retried(sse_server: SSEServer) -> None:
    overflow = {
        "error": {
            "code": 400,
            "message": "The input token count (1201337) exceeds the maximum number of tokens allowed (1048576).",
            "status": "INVALID_ARGUMENT",
        }
    }
    bad_key = {
        "error": {
            "code": 400,
            "message": "API key not valid. Please pass a valid API key.",
            "status": "INVALID_ARGUMENT",
        }
    }
    sse_server.enqueue(Reply.error(400, [overflow]), Reply.error(400, bad_key))
    _, _, e1 = await collect(model_for(sse_server.url, api=GEMINI))
    _, _, e2 = await collect(model_for(sse_server.url, api=GEMINI))
    assert isinstance(e1, ContextOverflowError)
    assert isinstance(e2, AuthError)
    assert len(sse_server.requests) == 2


async def test_cancel_closes_the_socket_promptly_and_keeps_partial(sse_server: SSEServer) -> None:
    body = gemini_turn(ScriptedTurn(text="partial answer", chunk_chars=8))
    head = body[: body.index(b"finishReason")]
    head = head[: head.rindex(b"\r\n\r\n") + 4]
    sse_server.enqueue(Reply(body=[head, Stall()]))
    s = stream(model_for(sse_server.url, api=GEMINI), Context(messages=[UserMessage("hi")]))
    async for event in s:
        if isinstance(event, TextDelta):
            break
    cancelled_at = time.monotonic()
    s.cancel()
    events = [e async for e in s]
    assert isinstance(events[-1], Error)
    assert isinstance(events[-1].error, AbortedError)
    message = await s.result()
    assert message.stop_reason == "aborted"
    assert message.text.startswith("partial ")
    for _ in range(100):
        if sse_server.disconnects:
            break
        await asyncio.sleep(0.005)
    assert sse_server.disconnects, "the server never saw the connection close"
    assert sse_server.disconnects[0] - cancelled_at < 0.05


# -- Vertex AI: Application Default Credentials over loopback -------------------------------------


def _b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


@pytest.fixture
def service_account(tmp_path: Path, sse_server: SSEServer, monkeypatch: pytest.MonkeyPatch) -> rsa.RSAPublicKey:
    """A service-account key of our own whose `token_uri` is the loopback server."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    creds = {
        "type": "service_account",
        "project_id": "proj-1",
        "private_key_id": "kid-1",
        "private_key": pem.decode(),
        "client_email": "skipjack-test@proj-1.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"{sse_server.root_url}/token",
    }
    path = tmp_path / "sa with space.json"
    path.write_text(json.dumps(creds))
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(path))
    return key.public_key()


def _token(value: str, expires_in: int = 3600) -> Reply:
    return Reply.error(200, {"access_token": value, "expires_in": expires_in, "token_type": "Bearer"})


def _check_assertion(body: bytes, public_key: rsa.RSAPublicKey, audience: str) -> None:
    form = parse_qs(body.decode())
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    header, claims, signature = form["assertion"][0].split(".")
    public_key.verify(
        _b64url_decode(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()
    )  # raises when the JWT was not signed with the account's key
    decoded = json.loads(_b64url_decode(claims))
    assert decoded["iss"] == "skipjack-test@proj-1.iam.gserviceaccount.com"
    assert decoded["aud"] == audience
    assert decoded["scope"] == "https://www.googleapis.com/auth/cloud-platform"
    assert json.loads(_b64url_decode(header))["alg"] == "RS256"


def _vertex_base(server: SSEServer) -> str:
    return f"{server.root_url}/v1/projects/proj-1/locations/us-central1"


async def test_vertex_gemini_gets_a_signed_token_and_reuses_it(
    sse_server: SSEServer, service_account: rsa.RSAPublicKey
) -> None:
    sse_server.enqueue(
        _token("ya29.first"),
        Reply.sse(gemini_turn(ScriptedTurn(text="one"))),
        Reply.sse(gemini_turn(ScriptedTurn(text="two"), turn_index=1)),
    )
    model = model_for(_vertex_base(sse_server), api="google-vertex")
    _, m1, e1 = await collect(model)
    _, m2, e2 = await collect(model)
    assert (e1, e2) == (None, None)
    assert (m1.text, m2.text) == ("one", "two")
    token_req, *calls = sse_server.requests
    assert token_req.path == "/token"
    _check_assertion(token_req.body, service_account, f"{sse_server.root_url}/token")
    assert [r.path for r in calls] == [
        "/v1/projects/proj-1/locations/us-central1/publishers/google/models/test-model:streamGenerateContent?alt=sse"
    ] * 2
    assert all(r.headers["authorization"] == "Bearer ya29.first" for r in calls)
    assert all("x-goog-api-key" not in r.headers for r in calls)


async def test_a_token_about_to_expire_is_refreshed(sse_server: SSEServer, service_account: rsa.RSAPublicKey) -> None:
    # Ten seconds left is inside the refresh margin: the next request gets a new token.
    sse_server.enqueue(
        _token("ya29.short", expires_in=10),
        Reply.sse(gemini_turn(ScriptedTurn(text="one"))),
        _token("ya29.fresh"),
        Reply.sse(gemini_turn(ScriptedTurn(text="two"))),
        Reply.sse(gemini_turn(ScriptedTurn(text="three"))),
    )
    model = model_for(_vertex_base(sse_server), api="google-vertex")
    for _ in range(3):
        _, _, error = await collect(model)
        assert error is None
    paths = [r.path for r in sse_server.requests]
    assert paths.count("/token") == 2
    auth = [r.headers.get("authorization") for r in sse_server.requests if r.path != "/token"]
    assert auth == ["Bearer ya29.short", "Bearer ya29.fresh", "Bearer ya29.fresh"]


async def test_claude_on_vertex_uses_raw_predict_with_the_token(
    sse_server: SSEServer, service_account: rsa.RSAPublicKey
) -> None:
    body = (SSE_FIXTURES / "anthropic" / "text.sse").read_bytes()
    sse_server.enqueue(_token("ya29.claude"), Reply.sse(body, chunk_size=11))
    model = model_for(_vertex_base(sse_server), api="google-vertex-anthropic")
    _, message, error = await collect(model)
    assert error is None
    assert message.api == "google-vertex-anthropic"
    req = sse_server.requests[1]
    assert (
        req.path == "/v1/projects/proj-1/locations/us-central1/publishers/anthropic/models/test-model:streamRawPredict"
    )
    assert req.headers["authorization"] == "Bearer ya29.claude"
    sent = req.json()
    assert sent["anthropic_version"] == "vertex-2023-10-16"
    assert "model" not in sent


async def test_a_refused_token_request_is_an_auth_error_and_nothing_reaches_the_model(
    sse_server: SSEServer, service_account: rsa.RSAPublicKey
) -> None:
    sse_server.enqueue(Reply.error(400, {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}))
    _, message, error = await collect(model_for(_vertex_base(sse_server), api="google-vertex"))
    assert isinstance(error, AuthError)
    assert "Google access token" in str(error)
    assert message.stop_reason == "error"
    # gcp_auth retries the token endpoint a few times; the model is never asked.
    assert {r.path for r in sse_server.requests} == {"/token"}


async def test_a_missing_credentials_file_is_an_auth_error(
    sse_server: SSEServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "nope.json"))
    _, _, error = await collect(model_for(_vertex_base(sse_server), api="google-vertex"))
    assert isinstance(error, AuthError)
    assert "nope.json" in str(error)
    assert sse_server.requests == []
