"""`start_stream` takes the messages an earlier request already carried from a cache of
parsed messages (content-addressed: the same bytes, the same message). What goes on the wire
must be exactly what a cold parse gives, for every wire API, and nothing may get past the
validation a cold parse does by riding on a cached entry."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from tests.llm.helpers import model_for

from skipjack import _llm
from skipjack.llm import stream
from skipjack.llm.types import (
    AssistantMessage,
    Context,
    Message,
    TextContent,
    Tool,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from skipjack.testing import Reply, SSEServer

APIS = ["openai-chat", "anthropic-messages", "openai-responses", "google-gemini"]


def turn(i: int, nonce: str, api: str) -> list[Message]:
    call = ToolCall(f"c{i}", "read", {"path": f"f{i}.txt", "nonce": nonce, "quote": 'a"\\b\u00e9\U0001f980'})
    return [
        AssistantMessage(
            content=[TextContent(f"reading {i}"), call],
            api=api,
            provider="test",
            model="test-model",
            usage=Usage.zero(),
            stop_reason="tool_use",
        ),
        ToolResultMessage(f"c{i}", "read", [TextContent(f"line {i}\n\x00\t{nonce}\n")]),
    ]


def history(n: int, nonce: str, api: str) -> list[Message]:
    out: list[Message] = [UserMessage(f"task {nonce}")]
    for i in range(n):
        out += turn(i, nonce, api)
    return out


TOOLS = [Tool("read", "reads a file", {"type": "object", "properties": {"path": {"type": "string"}}})]


async def body_of(server: SSEServer, api: str, messages: list[Message], system: str = "be brief") -> bytes:
    """The request body the core sends for `messages` (the reply is an error: only the
    request matters here)."""
    before = len(server.requests)
    server.enqueue(Reply.error(400, {"error": {"message": "no"}}))
    s = stream(model_for(server.url, api=api), Context(system, messages, TOOLS), api_key="k")
    await s.result()
    assert len(server.requests) == before + 1
    return server.requests[-1].body


@pytest.mark.parametrize("api", APIS)
async def test_warm_requests_send_the_bytes_a_cold_one_sends(sse_server: SSEServer, api: str) -> None:
    nonce = uuid.uuid4().hex
    cold = await body_of(sse_server, api, history(3, nonce, api))
    warm = await body_of(sse_server, api, history(3, nonce, api))
    assert warm == cold
    # Growing by a turn: the earlier requests' messages come from the cache, the new ones
    # are parsed; the result equals a cold parse of the same history under a fresh nonce
    # (same structure), with only the nonce differing.
    grown = await body_of(sse_server, api, history(4, nonce, api))
    other = uuid.uuid4().hex
    fresh = await body_of(sse_server, api, history(4, other, api))
    assert grown == fresh.replace(other.encode(), nonce.encode())


@pytest.mark.parametrize("api", APIS)
async def test_reordered_and_repeated_cached_messages(sse_server: SSEServer, api: str) -> None:
    nonce = uuid.uuid4().hex
    base = history(2, nonce, api)
    await body_of(sse_server, api, base)
    shuffled = [base[0], *base[3:5], *base[1:3], base[0]]
    other = uuid.uuid4().hex
    cold = [*history(2, other, api)]
    cold = [cold[0], *cold[3:5], *cold[1:3], cold[0]]
    assert (await body_of(sse_server, api, shuffled)) == (await body_of(sse_server, api, cold)).replace(
        other.encode(), nonce.encode()
    )


async def test_a_message_changed_in_place_is_sent_as_changed(sse_server: SSEServer) -> None:
    """The cache is keyed by the bytes, not the Python object: arguments mutated after a
    request (a dict inside a frozen struct) go out as they are now."""
    nonce = uuid.uuid4().hex
    messages = history(1, nonce, "openai-chat")
    first = json.loads(await body_of(sse_server, "openai-chat", messages))
    call = messages[1].content[1]  # type: ignore[union-attr]
    assert isinstance(call, ToolCall)
    call.arguments["path"] = "changed.txt"
    second = json.loads(await body_of(sse_server, "openai-chat", messages))
    args = lambda b: json.loads(b["messages"][2]["tool_calls"][0]["function"]["arguments"])  # noqa: E731
    assert args(first)["path"] == "f0.txt"
    assert args(second)["path"] == "changed.txt"


def payload(context: dict[str, Any]) -> tuple[bytes, list[bytes]]:
    """`start_stream`'s parts for `context`: the head and each message (a `messages` that is
    not a list stays in the head, as a caller could send it)."""
    model = {"provider": "t", "id": "m", "api": "openai-chat", "base_url": "http://127.0.0.1:9"}
    messages = context.get("messages")
    if isinstance(messages, list):
        context = {k: v for k, v in context.items() if k != "messages"}
        return json.dumps({"model": model, "context": context}).encode(), [json.dumps(m).encode() for m in messages]
    return json.dumps({"model": model, "context": context}).encode(), []


def good_message(nonce: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"type": "text", "text": nonce}]}


@pytest.mark.parametrize(
    ("context", "where"),
    [
        ({"messages": None}, ""),
        ({"tools": None}, "context.tools"),
        ({"tools": [{"name": "x"}]}, "context.tools"),
        ({"messages": [], "extra": 1}, ""),
        ({"messages": "{}"}, ""),
        ({"messages": [{"role": "robot", "content": "x"}]}, "context.messages[1]"),
        ({"messages": [{"role": "user", "content": "x", "sneaky": True}]}, "context.messages[1]"),
        ({"messages": [{"role": "user", "content": 5}]}, "context.messages[1]"),
    ],
)
def test_invalid_requests_are_refused_next_to_cached_messages(context: dict[str, Any], where: str) -> None:
    nonce = uuid.uuid4().hex
    valid = payload({"messages": [good_message(nonce)]})
    _llm.start_stream(*valid).cancel()  # now cached
    if isinstance(context.get("messages"), list):
        context = {**context, "messages": [good_message(nonce), *context["messages"]]}
    with pytest.raises(ValueError, match="invalid stream request") as err:
        _llm.start_stream(*payload(context))
    assert where in str(err.value)
    # A refusal leaves nothing behind: the valid request still parses.
    _llm.start_stream(*valid).cancel()


def test_syntax_errors_anywhere_are_refused_even_in_cached_text() -> None:
    nonce = uuid.uuid4().hex
    head, messages = payload({"messages": [good_message(nonce), good_message(nonce + "2")]})
    _llm.start_stream(head, messages).cancel()
    text = messages[0].decode()
    broken = [
        text.replace(f'"{nonce}"', f'"{nonce}', 1),
        text[:-1],
        text + " x",
        text.replace('"content": [', '"content": [,', 1),
        text.replace(nonce, nonce + "\\q", 1),
        "",
    ]
    for b in broken:
        with pytest.raises(ValueError, match=r"invalid stream request: context.messages\[0\]"):
            _llm.start_stream(head, [b.encode(), messages[1]])
    for raw in (b"\xff\xfe", messages[0].replace(nonce.encode(), b"\xff" + nonce.encode()[1:])):
        with pytest.raises(ValueError, match=r"invalid stream request: context.messages\[1\]"):
            _llm.start_stream(head, [messages[0], raw])
    for bad_head in (
        head[:-1],
        head + b" x",
        b"",
        b"\xff",
        head.replace(b'"context": {', b'"context": {"messages": [], ', 1),
    ):
        with pytest.raises(ValueError, match="invalid stream request"):
            _llm.start_stream(bad_head, messages)
    with pytest.raises(TypeError):
        _llm.start_stream(head, [text])  # type: ignore[list-item]


async def test_a_request_of_many_megabytes_goes_out_whole(sse_server: SSEServer) -> None:
    """Over 4 MB the core parses off the GIL, over 32 MB without its cache: the body sent is
    the same either way, and the same as a warm request's."""
    nonce = uuid.uuid4().hex
    for size in (5 << 20, 33 << 20):
        big = [*history(1, nonce, "openai-chat"), ToolResultMessage("c9", "read", "x" * size + nonce)]
        cold = json.loads(await body_of(sse_server, "openai-chat", big))
        warm = json.loads(await body_of(sse_server, "openai-chat", big))
        assert warm == cold
        assert cold["messages"][-1]["content"].endswith(nonce)
        assert len(cold["messages"][-1]["content"]) == size + len(nonce)
