"""Write the Bedrock Converse event-stream fixtures (binary) under
crates/skipjack-llm/tests/fixtures/sse/bedrock_converse/.

Run from the repository root: `PYTHONPATH=python python scripts/gen_bedrock_fixtures.py`. The
frames are encoded by `skipjack.testing.bedrock_script` (standard library CRC-32), not by the
Rust core they test. Payload shapes follow the ConverseStream API reference.
"""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

from skipjack.testing.bedrock_script import event, exception, frame

OUT = Path("crates/skipjack-llm/tests/fixtures/sse/bedrock_converse")

START = event("messageStart", {"role": "assistant", "p": "abcdefgh"})


def delta(i: int, body: dict[str, object]) -> bytes:
    return event("contentBlockDelta", {"contentBlockIndex": i, "delta": body, "p": "abc"})


def stop(i: int) -> bytes:
    return event("contentBlockStop", {"contentBlockIndex": i})


def message_stop(reason: str) -> bytes:
    return event("messageStop", {"stopReason": reason})


def metadata(inp: int, out: int, read: int = 0, write: int = 0) -> bytes:
    usage = {"inputTokens": inp, "outputTokens": out, "totalTokens": inp + out + read + write}
    if read or write:
        usage |= {"cacheReadInputTokens": read, "cacheWriteInputTokens": write}
    return event("metadata", {"usage": usage, "metrics": {"latencyMs": 321}})


def with_odd_headers() -> bytes:
    """A text delta whose frame also carries non-string headers (bool, int, timestamp, uuid),
    which a decoder must skip by their sizes."""
    payload = b'{"contentBlockIndex":0,"delta":{"text":" world"}}'
    hb = b""
    for name, value in ((":event-type", "contentBlockDelta"), (":message-type", "event")):
        hb += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value)) + value.encode()
    hb += b"\x04flag\x00"  # bool true
    hb += b"\x03int\x04" + struct.pack(">i", -7)
    hb += b"\x02ts\x08" + struct.pack(">q", 1_700_000_000_000)
    hb += b"\x04uuid\x09" + bytes(range(16))
    hb += b"\x03blb\x06" + struct.pack(">H", 3) + b"\x00\xff\x01"
    total = 16 + len(hb) + len(payload)
    prelude = struct.pack(">II", total, len(hb))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + hb + payload
    return body + struct.pack(">I", zlib.crc32(body))


FIXTURES: dict[str, bytes] = {
    "text.bin": START
    + delta(0, {"text": "Hello"})
    + with_odd_headers()
    + delta(0, {"text": ", naïve café ☕"})
    + stop(0)
    + message_stop("end_turn")
    + metadata(25, 9),
    "tool_use.bin": START
    + delta(0, {"text": "Reading both."})
    + stop(0)
    + event(
        "contentBlockStart", {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "tooluse_A1", "name": "read"}}}
    )
    + delta(1, {"toolUse": {"input": '{"pa'}})
    + delta(1, {"toolUse": {"input": 'th": "a.py"}'}})
    + stop(1)
    + event(
        "contentBlockStart", {"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tooluse_B2", "name": "grep"}}}
    )
    + delta(2, {"toolUse": {"input": '{"pattern": "x"}'}})
    + stop(2)
    + message_stop("tool_use")
    + metadata(100, 40),
    "reasoning.bin": START
    + delta(0, {"reasoningContent": {"text": "Let me think"}})
    + delta(0, {"reasoningContent": {"text": " about it."}})
    + delta(0, {"reasoningContent": {"signature": "EqQBCkYIBxgCKkBsig+/=="}})
    + stop(0)
    + delta(1, {"reasoningContent": {"redactedContent": "RURBQkVFRg=="}})
    + stop(1)
    + delta(2, {"text": "42"})
    + stop(2)
    + message_stop("end_turn")
    + metadata(10, 200, read=1000, write=500),
    "max_tokens.bin": START + delta(0, {"text": "cut"}) + stop(0) + message_stop("max_tokens") + metadata(5, 1),
    "guardrail.bin": START + message_stop("guardrail_intervened") + metadata(5, 0),
    "no_metadata.bin": START + delta(0, {"text": "ok"}) + stop(0) + message_stop("end_turn"),
    "truncated.bin": START + delta(0, {"text": "partial"}),
    "truncated_mid_frame.bin": START + delta(0, {"text": "partial"}) + message_stop("end_turn")[:20],
    "throttling_exception.bin": exception("throttlingException", "Too many requests, please wait before trying again."),
    "validation_too_long.bin": exception("validationException", "Input is too long for requested model."),
    "validation_other.bin": exception("validationException", "The model returned the following errors: bad field"),
    "model_stream_error.bin": START
    + delta(0, {"text": "half an ans"})
    + exception("modelStreamErrorException", "The model stream failed."),
    "internal_server_exception.bin": exception("internalServerException", "Internal server error"),
    "service_unavailable_exception.bin": exception("serviceUnavailableException", "Service unavailable"),
    "error_frame.bin": START
    + frame({":message-type": "error", ":error-code": "InternalFailure", ":error-message": "boom"}, b""),
    "bad_crc.bin": START + delta(0, {"text": "x"})[:-1] + b"\x00",
}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in FIXTURES.items():
        (OUT / name).write_bytes(data)
    sys.stdout.write(f"wrote {len(FIXTURES)} fixtures to {OUT}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
