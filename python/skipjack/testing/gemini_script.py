"""Builders for Gemini streams (`:streamGenerateContent?alt=sse`), for scripted models and tests.

The same `ScriptedTurn` as the chat builder, served as Gemini's chunks: thought parts, text
parts, whole `functionCall` parts (the first signed with a `thoughtSignature`, or the first text
part when there is no call, so a replay can be checked on the next request), then a chunk with
`finishReason` and `usageMetadata`.
"""

from __future__ import annotations

import json
from typing import Any

from skipjack.testing.openai_script import ScriptedTurn


def thought_signature(n: int) -> str:
    """The opaque signature scripted turn `n` carries (what a replay must send back)."""
    return f"c2lnbmF0dXJl-scripted-{n}"


def _chunk(parts: list[dict[str, Any]], turn_index: int, **extra: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
    candidate.update(extra.pop("candidate", {}))
    return {"candidates": [candidate], "modelVersion": "scripted", "responseId": f"scripted-{turn_index}", **extra}


def gemini_turn(turn: ScriptedTurn, *, turn_index: int = 0) -> bytes:
    """The SSE body a Gemini server would stream for `turn` (`\\r\\n` line ends, as Google's)."""
    step = max(1, turn.chunk_chars)
    chunks: list[dict[str, Any]] = []
    for i in range(0, len(turn.thinking), step):
        chunks.append(_chunk([{"text": turn.thinking[i : i + step], "thought": True}], turn_index))
    signature_pending = bool(turn.thinking)
    for i in range(0, len(turn.text), step):
        part: dict[str, Any] = {"text": turn.text[i : i + step]}
        if signature_pending and not turn.tool_calls:
            part["thoughtSignature"] = thought_signature(turn_index)
            signature_pending = False
        chunks.append(_chunk([part], turn_index))
    calls: list[dict[str, Any]] = []
    for call in turn.tool_calls:
        args = json.loads(call.arguments) if isinstance(call.arguments, str) else call.arguments
        function_call: dict[str, Any] = {"name": call.name, "args": args}
        if call.id:
            function_call["id"] = call.id
        part = {"functionCall": function_call}
        if signature_pending:
            part["thoughtSignature"] = thought_signature(turn_index)
            signature_pending = False
        calls.append(part)
    finish = {"length": "MAX_TOKENS", "content_filter": "SAFETY"}.get(turn.finish_reason or "", "STOP")
    usage: dict[str, Any] = {
        "promptTokenCount": turn.prompt_tokens,
        "candidatesTokenCount": turn.completion_tokens,
        "totalTokenCount": turn.prompt_tokens + turn.completion_tokens,
        **turn.extra_usage,
    }
    if turn.cached_tokens:
        usage["cachedContentTokenCount"] = turn.cached_tokens
    chunks.append(_chunk(calls, turn_index, candidate={"finishReason": finish}, usageMetadata=usage))
    return b"".join(
        b"data: " + json.dumps(c, separators=(",", ":"), ensure_ascii=False).encode() + b"\r\n\r\n" for c in chunks
    )
