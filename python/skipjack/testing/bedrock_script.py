"""Amazon Bedrock test doubles: event-stream frames for scripted Converse replies, and a SigV4
check a loopback server runs on each request.

The encoder and the signature check are written from AWS's published formats with the standard
library only, independently of the Rust core, so a test that passes shows the core agrees with
the format rather than with itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
import zlib
from typing import Any
from urllib.parse import quote

from skipjack.testing.openai_script import ScriptedTurn
from skipjack.testing.sse_server import RecordedRequest, Reply

EVENTSTREAM = "application/vnd.amazon.eventstream"


def frame(headers: dict[str, str], payload: bytes) -> bytes:
    """One event-stream frame with string headers (type 7)."""
    hbytes = b""
    for name, value in headers.items():
        raw = value.encode()
        hbytes += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(raw)) + raw
    total = 16 + len(hbytes) + len(payload)
    prelude = struct.pack(">II", total, len(hbytes))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + hbytes + payload
    return body + struct.pack(">I", zlib.crc32(body))


def event(kind: str, payload: dict[str, Any]) -> bytes:
    headers = {":event-type": kind, ":content-type": "application/json", ":message-type": "event"}
    return frame(headers, json.dumps(payload, separators=(",", ":")).encode())


def exception(kind: str, message: str) -> bytes:
    headers = {":exception-type": kind, ":content-type": "application/json", ":message-type": "exception"}
    return frame(headers, json.dumps({"message": message}).encode())


def _pieces(text: str, step: int) -> list[str]:
    return [text[i : i + step] for i in range(0, len(text), step)]


def reasoning_signature(turn_index: int) -> str:
    return f"EqQBCkYIBhABGAIiQL{turn_index:04d}signature/+=="


def bedrock_turn(turn: ScriptedTurn, *, turn_index: int = 0) -> bytes:
    """The event-stream body `converse-stream` would answer for `turn`."""
    out = event("messageStart", {"role": "assistant"})
    step = max(1, turn.chunk_chars)
    index = 0
    if turn.thinking:
        for piece in _pieces(turn.thinking, step):
            out += event(
                "contentBlockDelta", {"contentBlockIndex": index, "delta": {"reasoningContent": {"text": piece}}}
            )
        sig = {"reasoningContent": {"signature": reasoning_signature(turn_index)}}
        out += event("contentBlockDelta", {"contentBlockIndex": index, "delta": sig})
        out += event("contentBlockStop", {"contentBlockIndex": index})
        index += 1
    if turn.text:
        for piece in _pieces(turn.text, step):
            out += event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": piece}})
        out += event("contentBlockStop", {"contentBlockIndex": index})
        index += 1
    for n, call in enumerate(turn.tool_calls):
        args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
        start = {"toolUse": {"toolUseId": call.id or f"tooluse_{turn_index}_{n}", "name": call.name}}
        out += event("contentBlockStart", {"contentBlockIndex": index, "start": start})
        for piece in _pieces(args, step):
            out += event("contentBlockDelta", {"contentBlockIndex": index, "delta": {"toolUse": {"input": piece}}})
        out += event("contentBlockStop", {"contentBlockIndex": index})
        index += 1
    stop = {"stop": "end_turn", "length": "max_tokens"}.get(turn.finish_reason or "", "")
    stop = stop or ("tool_use" if turn.tool_calls else "end_turn")
    out += event("messageStop", {"stopReason": stop})
    usage = {
        "inputTokens": turn.prompt_tokens,
        "outputTokens": turn.completion_tokens,
        "cacheReadInputTokens": turn.cached_tokens,
        "cacheWriteInputTokens": 0,
        "totalTokens": turn.prompt_tokens + turn.completion_tokens + turn.cached_tokens,
        **turn.extra_usage,
    }
    out += event("metadata", {"usage": usage, "metrics": {"latencyMs": 42}})
    return out


def bedrock_reply(turn: ScriptedTurn, *, turn_index: int = 0, chunk_size: int | None = None) -> Reply:
    body = bedrock_turn(turn, turn_index=turn_index)
    parts = [body] if chunk_size is None else [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
    return Reply(headers={"content-type": EVENTSTREAM}, body=list(parts))


def exception_reply(kind: str, message: str) -> Reply:
    """A 200 whose stream is one exception frame, as Bedrock sends mid-stream failures."""
    return Reply(headers={"content-type": EVENTSTREAM}, body=[exception(kind, message)])


# -- SigV4 ------------------------------------------------------------------------------


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _canonical_path(path: str) -> str:
    # Every service but S3 encodes each path segment twice: the request path arrives encoded
    # once, and is encoded once more here.
    return "/".join(quote(seg, safe="-_.~") for seg in path.split("?", 1)[0].split("/"))


def expected_signature(request: RecordedRequest, *, secret: str, region: str, service: str = "bedrock") -> str | None:
    """The signature AWS would compute for `request` from the parts its `authorization` header
    names, or None when the header is not a SigV4 one."""
    auth = request.headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return None
    fields = dict(part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 ") :].split(","))
    signed = fields["SignedHeaders"].split(";")
    amz_date = request.headers["x-amz-date"]
    day = amz_date[:8]
    canonical = "\n".join(
        [
            request.method,
            _canonical_path(request.path),
            "",
            *[f"{h}:{' '.join(request.headers.get(h, '').split())}" for h in signed],
            "",
            ";".join(signed),
            hashlib.sha256(request.body).hexdigest(),
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = _hmac(("AWS4" + secret).encode(), day)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def sigv4_problem(
    request: RecordedRequest, *, access_key: str, secret: str, region: str, session_token: str | None = None
) -> str | None:
    """Why `request` is not correctly signed for these credentials (None: it is), in the words a
    Bedrock endpoint would use."""
    auth = request.headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return "missing SigV4 authorization"
    fields = dict(part.strip().split("=", 1) for part in auth[len("AWS4-HMAC-SHA256 ") :].split(","))
    day = request.headers.get("x-amz-date", "")[:8]
    if fields.get("Credential") != f"{access_key}/{day}/{region}/bedrock/aws4_request":
        return f"credential scope mismatch: {fields.get('Credential')}"
    signed = fields.get("SignedHeaders", "").split(";")
    if "host" not in signed or "x-amz-date" not in signed:
        return "host and x-amz-date must be signed"
    if session_token is not None:
        if request.headers.get("x-amz-security-token") != session_token:
            return "missing or wrong x-amz-security-token"
        if "x-amz-security-token" not in signed:
            return "x-amz-security-token must be signed"
    want = expected_signature(request, secret=secret, region=region)
    if want != fields.get("Signature"):
        return "The request signature we calculated does not match the signature you provided"
    return None
