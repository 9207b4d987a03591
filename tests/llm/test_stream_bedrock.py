"""Bedrock Converse through `skipjack.llm.stream` over real loopback HTTP: the binary fixtures
chunked over a socket, reasoning signatures replayed on the next request, throttling retried,
cancel closing the socket, and SigV4 signatures checked by an independent verifier."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec
import pytest
from tests.conftest import SSE_FIXTURES
from tests.llm.helpers import collect, model_for

from skipjack.llm import (
    AssistantMessage,
    AuthError,
    Context,
    ContextOverflowError,
    RateLimitedError,
    Tool,
    ToolCall,
    ToolResultMessage,
    UserMessage,
    stream,
)
from skipjack.llm.errors import AbortedError
from skipjack.llm.events import Error, Retry, TextDelta, ThinkingEnd
from skipjack.llm.types import RetryPolicy
from skipjack.testing import Reply, ScriptedToolCall, ScriptedTurn, SSEServer, Stall
from skipjack.testing.bedrock_script import (
    EVENTSTREAM,
    bedrock_reply,
    bedrock_turn,
    exception_reply,
    reasoning_signature,
    sigv4_problem,
)

BEDROCK = "bedrock-converse"
MODEL_ID = "us.anthropic.claude-sonnet-4-20250514-v1:0"
PATH = "/model/us.anthropic.claude-sonnet-4-20250514-v1%3A0/converse-stream"
FIXTURES = sorted((SSE_FIXTURES / "bedrock_converse").glob("*.bin"))
FAILING = ("truncated", "exception", "validation", "error", "bad_crc")

# AWS's documentation example credentials: never valid anywhere.
ACCESS_KEY = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No AWS credentials from the machine running the tests."""
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.stem)
async def test_every_bedrock_fixture_over_http(sse_server: SSEServer, fixture: Path) -> None:
    sse_server.enqueue(Reply(headers={"content-type": EVENTSTREAM}, body=[fixture.read_bytes()]))
    model = model_for(sse_server.root_url, api=BEDROCK)
    # No retries: an exception frame arrives once and ends the stream.
    events, message, error = await collect(model, api_key="br-key", retry=RetryPolicy(max_retries=0))
    assert events[-1].type in ("done", "error")
    assert sum(e.type in ("done", "error") for e in events) == 1
    req = sse_server.requests[0]
    assert req.path == "/model/test-model/converse-stream"
    assert req.headers["authorization"] == "Bearer br-key"
    assert req.headers["accept"] == EVENTSTREAM
    assert req.json()["messages"] == [{"role": "user", "content": [{"text": "hi"}]}]
    failing = any(word in fixture.stem for word in FAILING)
    assert (error is not None) == failing, error
    assert message.api == BEDROCK
    u = message.usage
    assert u.total_tokens == u.input + u.output + u.cache_read + u.cache_write
    if fixture.stem == "reasoning":
        # 10 in at $3/M, 200 out at $15/M, 1000 cache reads at $0.30/M, 500 writes at $3.75/M.
        assert (u.input, u.output, u.cache_read, u.cache_write) == (10, 200, 1000, 500)
        assert u.cost.total == pytest.approx(10 * 3e-6 + 200 * 15e-6 + 1000 * 0.3e-6 + 500 * 3.75e-6)


async def test_reasoning_signature_and_calls_are_replayed_exactly(sse_server: SSEServer) -> None:
    calls = [
        ScriptedToolCall("read", {"path": "a.py"}, id="tu_1"),
        ScriptedToolCall("read", {"path": "b.py"}, id="tu_2"),
    ]
    sse_server.enqueue(
        bedrock_reply(ScriptedTurn(thinking="Both files.", tool_calls=calls), chunk_size=3),
        bedrock_reply(ScriptedTurn(text="done"), turn_index=1),
    )
    model = model_for(sse_server.root_url, api=BEDROCK, reasoning=True)
    model = msgspec.structs.replace(model, id=MODEL_ID)
    tools = [Tool("read", "Read a file", {"type": "object", "properties": {"path": {"type": "string"}}})]
    first = stream(
        model, Context(system_prompt="sys", messages=[UserMessage("go")], tools=tools), api_key="k", reasoning="low"
    )
    events = [e async for e in first]
    turn: AssistantMessage = await first.result()
    thinking = next(e for e in events if isinstance(e, ThinkingEnd))
    assert (thinking.thinking, thinking.signature) == ("Both files.", reasoning_signature(0))
    assert turn.tool_calls == [ToolCall("tu_1", "read", {"path": "a.py"}), ToolCall("tu_2", "read", {"path": "b.py"})]
    assert turn.stop_reason == "tool_use"
    history = [UserMessage("go"), turn, ToolResultMessage("tu_1", "read", "A"), ToolResultMessage("tu_2", "read", "B")]
    second = stream(model, Context(system_prompt="sys", messages=history, tools=tools), api_key="k", reasoning="low")
    _ = [e async for e in second]
    assert (await second.result()).text == "done"
    req = sse_server.requests[1]
    assert req.path == PATH
    body = req.json()
    assert body["system"] == [{"text": "sys"}, {"cachePoint": {"type": "default"}}]
    assert body["additionalModelRequestFields"] == {
        "thinking": {"type": "enabled", "budget_tokens": 4096},
        "anthropic_beta": ["interleaved-thinking-2025-05-14"],
    }
    assert body["messages"] == [
        {"role": "user", "content": [{"text": "go"}]},
        {
            "role": "assistant",
            "content": [
                {"reasoningContent": {"reasoningText": {"text": "Both files.", "signature": reasoning_signature(0)}}},
                {"toolUse": {"toolUseId": "tu_1", "name": "read", "input": {"path": "a.py"}}},
                {"toolUse": {"toolUseId": "tu_2", "name": "read", "input": {"path": "b.py"}}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"toolResult": {"toolUseId": "tu_1", "content": [{"text": "A"}]}},
                {"toolResult": {"toolUseId": "tu_2", "content": [{"text": "B"}]}},
                {"cachePoint": {"type": "default"}},
            ],
        },
    ]


async def test_throttling_exception_and_429_are_retried(sse_server: SSEServer) -> None:
    sse_server.enqueue(
        exception_reply("throttlingException", "Too many requests, please wait before trying again."),
        Reply.error(429, {"message": "Too many tokens, please wait."}, headers={"retry-after": "0"}),
        exception_reply("serviceUnavailableException", "Service unavailable"),
        bedrock_reply(ScriptedTurn(text="recovered")),
    )
    events, message, error = await collect(model_for(sse_server.root_url, api=BEDROCK), api_key="k")
    assert error is None, error
    retries = [e for e in events if isinstance(e, Retry)]
    assert len(retries) == 3
    assert isinstance(retries[0].error, RateLimitedError)
    assert isinstance(retries[1].error, RateLimitedError)
    assert message.text == "recovered"
    assert len(sse_server.requests) == 4


async def test_too_long_is_an_overflow_and_not_retried(sse_server: SSEServer) -> None:
    sse_server.enqueue(
        exception_reply("validationException", "Input is too long for requested model."),
        Reply.error(400, {"message": "prompt is too long: 210000 tokens > 200000 maximum"}),
    )
    _, _, first = await collect(model_for(sse_server.root_url, api=BEDROCK), api_key="k")
    _, _, second = await collect(model_for(sse_server.root_url, api=BEDROCK), api_key="k")
    assert isinstance(first, ContextOverflowError)
    assert isinstance(second, ContextOverflowError)
    assert len(sse_server.requests) == 2


async def test_cancel_closes_the_socket_promptly_and_keeps_partial(sse_server: SSEServer) -> None:
    body = bedrock_turn(ScriptedTurn(text="partial answer", chunk_chars=8))
    head = body[: body.index(b"messageStop") - 40]
    sse_server.enqueue(Reply(headers={"content-type": EVENTSTREAM}, body=[head, Stall()]))
    s = stream(model_for(sse_server.root_url, api=BEDROCK), Context(messages=[UserMessage("hi")]), api_key="k")
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


async def test_sigv4_from_the_environment_verifies_and_a_wrong_secret_does_not(
    no_aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def check(request: object) -> str | None:
        return sigv4_problem(
            request, access_key=ACCESS_KEY, secret=SECRET, region="eu-central-1", session_token="tok/en"
        )  # type: ignore[arg-type]

    with SSEServer(validate=check) as server:
        server.enqueue(bedrock_reply(ScriptedTurn(text="signed ok")))
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
        monkeypatch.setenv("AWS_SESSION_TOKEN", "tok/en")
        monkeypatch.setenv("AWS_REGION", "eu-central-1")
        model = model_for(server.root_url, api=BEDROCK)
        model = msgspec.structs.replace(model, id=MODEL_ID)
        _, message, error = await collect(model)
        assert error is None, error
        assert message.text == "signed ok"
        assert not server.rejected
        assert server.requests[0].headers["authorization"].startswith(f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/")
        # The same verifier refuses a request signed with another secret.
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET + "x")
        _, message, error = await collect(model)
        assert error is not None
        assert "signature we calculated does not match" in str(error)
        assert len(server.rejected) == 1


async def test_sigv4_from_a_profile_file(no_aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "creds").write_text(f"[dev]\naws_access_key_id = {ACCESS_KEY}\naws_secret_access_key = {SECRET}\n")
    (tmp_path / "config").write_text("[profile dev]\nregion = ap-southeast-2\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "creds"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "dev")

    def check(request: object) -> str | None:
        return sigv4_problem(request, access_key=ACCESS_KEY, secret=SECRET, region="ap-southeast-2")  # type: ignore[arg-type]

    with SSEServer(validate=check) as server:
        server.enqueue(bedrock_reply(ScriptedTurn(text="profile ok")))
        _, message, error = await collect(model_for(server.root_url, api=BEDROCK))
        assert error is None, error
        assert message.text == "profile ok"


async def test_no_credentials_is_an_auth_error(no_aws: None, sse_server: SSEServer) -> None:
    _, message, error = await collect(model_for(sse_server.root_url, api=BEDROCK))
    assert isinstance(error, AuthError)
    assert "AWS_BEARER_TOKEN_BEDROCK" in str(error)
    assert message.stop_reason == "error"
    assert not sse_server.requests


def _credential_helper(
    tmp_path: Path, *, expiration: str | None, exit_code: int = 0, output: str | None = None
) -> Path:
    """A `credential_process` script that counts its runs in `runs`."""
    doc = {"Version": 1, "AccessKeyId": ACCESS_KEY, "SecretAccessKey": SECRET, "SessionToken": "from/helper"}
    if expiration is not None:
        doc["Expiration"] = expiration
    body = output if output is not None else msgspec.json.encode(doc).decode()
    script = tmp_path / "helper dir" / "creds.sh"
    script.parent.mkdir(exist_ok=True)
    script.write_text(
        f"#!/bin/sh\necho run >> '{tmp_path}/runs'\necho 'helper said no' >&2\nprintf '%s' '{body}'\nexit {exit_code}\n"
    )
    script.chmod(0o755)
    return script


def _use_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, command: str) -> None:
    (tmp_path / "config").write_text(f"[profile sso]\nregion = eu-west-1\ncredential_process = {command}\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_PROFILE", "sso")


def _runs(tmp_path: Path) -> int:
    path = tmp_path / "runs"
    return len(path.read_text().splitlines()) if path.exists() else 0


async def test_credential_process_signs_and_is_cached_until_near_expiry(
    no_aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The core caches by profile and command for the process's life: each test's command is
    # its own (its tmp_path), so no test sees another's credentials.
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    helper = _credential_helper(tmp_path, expiration=later)
    _use_profile(monkeypatch, tmp_path, f"'{helper}' --profile x")

    def check(request: object) -> str | None:
        return sigv4_problem(
            request, access_key=ACCESS_KEY, secret=SECRET, region="eu-west-1", session_token="from/helper"
        )  # type: ignore[arg-type]

    with SSEServer(validate=check) as server:
        server.enqueue(bedrock_reply(ScriptedTurn(text="one")), bedrock_reply(ScriptedTurn(text="two")))
        for want in ("one", "two"):
            _, message, error = await collect(model_for(server.root_url, api=BEDROCK))
            assert error is None, error
            assert message.text == want
        assert not server.rejected
        assert _runs(tmp_path) == 1  # the second request used the cached credentials

    # Credentials within five minutes of expiring are fetched again.
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 120))
    helper = _credential_helper(tmp_path, expiration=soon)
    _use_profile(monkeypatch, tmp_path, f"'{helper}' --profile y")
    with SSEServer(validate=check) as server:
        server.enqueue(bedrock_reply(ScriptedTurn(text="a")), bedrock_reply(ScriptedTurn(text="b")))
        for _ in range(2):
            _, _, error = await collect(model_for(server.root_url, api=BEDROCK))
            assert error is None, error
    assert _runs(tmp_path) == 3


@pytest.mark.parametrize(
    ("exit_code", "output", "expect"),
    [
        (3, None, "exited with status 3: helper said no"),
        (0, "not json", "printed no credentials"),
        (0, '{"Version": 2}', "printed no credentials"),
        (
            0,
            '{"Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S", "Expiration": "2020-01-01T00:00:00Z"}',
            "have expired",
        ),
    ],
)
async def test_a_failing_credential_process_is_an_auth_error_sending_nothing(
    no_aws: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    sse_server: SSEServer,
    exit_code: int,
    output: str | None,
    expect: str,
) -> None:
    helper = _credential_helper(tmp_path, expiration=None, exit_code=exit_code, output=output)
    _use_profile(monkeypatch, tmp_path, f"'{helper}'")
    _, message, error = await collect(model_for(sse_server.root_url, api=BEDROCK))
    assert isinstance(error, AuthError)
    assert expect in str(error)
    assert SECRET not in str(error)
    assert message.stop_reason == "error"
    assert not sse_server.requests


async def test_a_hanging_credential_process_times_out_and_is_killed(
    no_aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sse_server: SSEServer
) -> None:
    from skipjack.llm.types import Timeouts

    _use_profile(monkeypatch, tmp_path, f"echo $$ > '{tmp_path}/pid'; exec sleep 30")
    started = time.monotonic()
    _, _, error = await collect(model_for(sse_server.root_url, api=BEDROCK), timeouts=Timeouts(first_byte_ms=500))
    assert error is not None
    assert "no credentials within" in str(error)
    assert time.monotonic() - started < 5
    pid = int((tmp_path / "pid").read_text())
    for _ in range(150):  # up to 3 s for the kill to land
        if not Path(f"/proc/{pid}").exists():
            break
        await asyncio.sleep(0.02)
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert not sse_server.requests
