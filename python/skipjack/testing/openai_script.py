"""Builders for OpenAI-style chat-completion streams, for scripted models and benchmarks."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from skipjack.testing.sse_server import sse_body


@dataclass(frozen=True)
class ScriptedToolCall:
    name: str
    arguments: dict[str, Any] | str
    id: str = ""


@dataclass(frozen=True)
class ScriptedTurn:
    """One assistant turn: text, then tool calls, then a finish reason and usage."""

    text: str = ""
    thinking: str = ""
    tool_calls: Sequence[ScriptedToolCall] = ()
    finish_reason: str | None = None
    prompt_tokens: int = 10
    completion_tokens: int = 5
    cached_tokens: int = 0
    chunk_chars: int = 8
    extra_usage: dict[str, Any] = field(default_factory=dict)


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion.chunk",
        "model": "scripted",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def openai_turn(turn: ScriptedTurn) -> bytes:
    """The SSE body a chat-completions server would stream for `turn`."""
    chunks: list[dict[str, Any]] = [_chunk({"role": "assistant", "content": None})]
    step = max(1, turn.chunk_chars)
    for i in range(0, len(turn.thinking), step):
        chunks.append(_chunk({"reasoning_content": turn.thinking[i : i + step]}))
    for i in range(0, len(turn.text), step):
        chunks.append(_chunk({"content": turn.text[i : i + step]}))
    for n, call in enumerate(turn.tool_calls):
        args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
        call_id = call.id or f"call_{n}"
        first = {
            "index": n,
            "id": call_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        chunks.append(_chunk({"tool_calls": [first]}))
        for i in range(0, len(args), step):
            piece = {"index": n, "function": {"arguments": args[i : i + step]}}
            chunks.append(_chunk({"tool_calls": [piece]}))
    finish = turn.finish_reason or ("tool_calls" if turn.tool_calls else "stop")
    chunks.append(_chunk({}, finish))
    usage: dict[str, Any] = {
        "prompt_tokens": turn.prompt_tokens,
        "completion_tokens": turn.completion_tokens,
        "total_tokens": turn.prompt_tokens + turn.completion_tokens,
        **turn.extra_usage,
    }
    if turn.cached_tokens:
        usage["prompt_tokens_details"] = {"cached_tokens": turn.cached_tokens}
    chunks.append({"id": "chatcmpl-scripted", "object": "chat.completion.chunk", "choices": [], "usage": usage})
    return sse_body(chunks)


def text_deltas(n: int, *, delta: str = "x", usage: bool = True) -> bytes:
    """`n` one-delta chunks: the benchmark workload."""
    head = json.dumps(_chunk({"content": "§"}), separators=(",", ":"), ensure_ascii=False).encode()
    before, after = head.split("§".encode())
    piece = b"data: " + before + json.dumps(delta)[1:-1].encode() + after + b"\n\n"
    body = bytearray(piece * n)
    body += sse_body([_chunk({}, "stop")], done=False)
    if usage:
        u = {"prompt_tokens": 10, "completion_tokens": n, "total_tokens": 10 + n}
        body += sse_body([{"id": "x", "choices": [], "usage": u}], done=False)
    body += b"data: [DONE]\n\n"
    return bytes(body)
