"""Builders for OpenAI Responses streams (`POST /responses`), for scripted models and benchmarks.

The same `ScriptedTurn` as the chat builder, served as the typed events the Responses API
streams: a reasoning item (summary deltas plus `encrypted_content`, so a replay can be checked
on the next request), a message item's text deltas, function-call items with argument deltas,
then `response.completed` with usage (or `response.incomplete` for a `length` finish).
"""

from __future__ import annotations

import json
from typing import Any

from skipjack.testing.openai_script import ScriptedTurn
from skipjack.testing.sse_server import sse_body

RESPONSE_ID = "resp_scripted"


def encrypted_reasoning(n: int) -> str:
    """The opaque payload scripted reasoning item `n` carries (what a replay must send back)."""
    return f"gAAAA-scripted-reasoning-{n}"


class _Events:
    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []
        self.names: list[str] = []

    def add(self, kind: str, **fields: Any) -> None:
        self.payloads.append({"type": kind, "sequence_number": len(self.payloads), **fields})
        self.names.append(kind)


def _pieces(text: str, step: int) -> list[str]:
    return [text[i : i + step] for i in range(0, len(text), step)]


def responses_turn(turn: ScriptedTurn, *, turn_index: int = 0) -> bytes:
    """The SSE body a Responses server would stream for `turn`; ids carry `turn_index` so
    several turns of one conversation stay distinct."""
    ev = _Events()
    step = max(1, turn.chunk_chars)
    response = {"id": f"{RESPONSE_ID}_{turn_index}", "object": "response", "status": "in_progress", "output": []}
    ev.add("response.created", response=response)
    ev.add("response.in_progress", response=response)
    index = 0
    if turn.thinking:
        rid = f"rs_{turn_index}"
        ev.add("response.output_item.added", output_index=index, item={"id": rid, "type": "reasoning", "summary": []})
        for piece in _pieces(turn.thinking, step):
            ev.add(
                "response.reasoning_summary_text.delta", item_id=rid, output_index=index, summary_index=0, delta=piece
            )
        item = {
            "id": rid,
            "type": "reasoning",
            "summary": [{"type": "summary_text", "text": turn.thinking}],
            "encrypted_content": encrypted_reasoning(turn_index),
        }
        ev.add("response.output_item.done", output_index=index, item=item)
        index += 1
    if turn.text:
        mid = f"msg_{turn_index}"
        ev.add(
            "response.output_item.added",
            output_index=index,
            item={"id": mid, "type": "message", "role": "assistant", "status": "in_progress", "content": []},
        )
        for piece in _pieces(turn.text, step):
            ev.add("response.output_text.delta", item_id=mid, output_index=index, content_index=0, delta=piece)
        part = {"type": "output_text", "text": turn.text, "annotations": []}
        item = {"id": mid, "type": "message", "role": "assistant", "status": "completed", "content": [part]}
        ev.add("response.output_item.done", output_index=index, item=item)
        index += 1
    for n, call in enumerate(turn.tool_calls):
        args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments)
        fid = f"fc_{turn_index}_{n}"
        item = {"id": fid, "type": "function_call", "call_id": call.id or f"call_{n}", "name": call.name}
        ev.add("response.output_item.added", output_index=index, item={**item, "arguments": ""})
        for piece in _pieces(args, step):
            ev.add("response.function_call_arguments.delta", item_id=fid, output_index=index, delta=piece)
        ev.add("response.function_call_arguments.done", item_id=fid, output_index=index, arguments=args)
        ev.add("response.output_item.done", output_index=index, item={**item, "arguments": args})
        index += 1
    usage: dict[str, Any] = {
        "input_tokens": turn.prompt_tokens,
        "input_tokens_details": {"cached_tokens": turn.cached_tokens},
        "output_tokens": turn.completion_tokens,
        "total_tokens": turn.prompt_tokens + turn.completion_tokens,
        **turn.extra_usage,
    }
    if turn.finish_reason == "length":
        details = {"reason": "max_output_tokens"}
        final = {**response, "status": "incomplete", "incomplete_details": details, "usage": usage}
        ev.add("response.incomplete", response=final)
    else:
        ev.add("response.completed", response={**response, "status": "completed", "usage": usage})
    return sse_body(ev.payloads, done=False, event_names=ev.names)


def responses_text_deltas(n: int, *, delta: str = "x") -> bytes:
    """`n` one-delta text events and a completion: the benchmark workload on this API."""
    head = {"type": "response.output_text.delta", "item_id": "msg_0", "output_index": 0, "content_index": 0}
    text = json.dumps({**head, "delta": "§"}, separators=(",", ":"), ensure_ascii=False)
    before, after = text.split("§")
    piece = f"event: response.output_text.delta\ndata: {before}{json.dumps(delta)[1:-1]}{after}\n\n".encode()
    usage = {"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": n}
    done = {"type": "response.completed", "response": {"id": "resp_bench", "status": "completed", "usage": usage}}
    return piece * n + sse_body([done], done=False, event_names=["response.completed"])
