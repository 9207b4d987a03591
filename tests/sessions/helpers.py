"""Messages with real usage figures, and a project directory, for the session tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import msgspec

from skipjack.agent import Tool, ToolContext, ToolOutput
from skipjack.llm import (
    AssistantMessage,
    Cost,
    Message,
    Price,
    RetryPolicy,
    StreamOptions,
    TextContent,
    Timeouts,
    ToolCall,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from skipjack.testing import Reply, ScriptedToolCall, ScriptedTurn

PRICE = Price(input=3.0, output=15.0, cache_read=0.3, cache_write=3.75)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "sessions"


def usage(input: int = 0, output: int = 0, cache_read: int = 0, cache_write: int = 0, price: Price = PRICE) -> Usage:
    """Usage priced the way the core prices it: USD per million tokens, per field."""
    c = Cost(
        input=input * price.input / 1e6,
        output=output * price.output / 1e6,
        cache_read=cache_read * price.cache_read / 1e6,
        cache_write=cache_write * price.cache_write / 1e6,
        total=0.0,
    )
    total = c.input + c.output + c.cache_read + c.cache_write
    return Usage(
        input,
        output,
        cache_read,
        cache_write,
        input + output + cache_read + cache_write,
        Cost(c.input, c.output, c.cache_read, c.cache_write, total),
    )


def assistant(
    text: str = "",
    *,
    calls: list[ToolCall] | None = None,
    u: Usage | None = None,
    model: str = "test-model",
    provider: str = "test",
    stop: str = "stop",
) -> AssistantMessage:
    content: list[TextContent | ToolCall] = [TextContent(text)] if text else []
    content += calls or []
    return AssistantMessage(
        content=list(content),
        api="openai-chat",
        provider=provider,
        model=model,
        usage=u or usage(100, 10),
        stop_reason="tool_use" if calls else stop,  # type: ignore[arg-type]
    )


def call(call_id: str, name: str = "read", **args: object) -> ToolCall:
    return ToolCall(call_id, name, dict(args))


def result(call_id: str, text: str, name: str = "read") -> ToolResultMessage:
    return ToolResultMessage(call_id, name, text)


def user(text: str) -> UserMessage:
    return UserMessage(text)


def make_project(root: Path) -> Path:
    """A git-looking project with a subdirectory."""
    (root / ".git").mkdir(parents=True)
    (root / "src").mkdir()
    return root


def texts(messages: Sequence[Message]) -> list[str]:
    """Each message's text: a user's or tool's string content, an assistant's text blocks."""
    out = []
    for m in messages:
        if isinstance(m, AssistantMessage):
            out.append(m.text)
        elif isinstance(m.content, str):
            out.append(m.content)
        else:
            out.append("".join(b.text for b in m.content if isinstance(b, TextContent)))
    return out


# -- agent runs over the scripted loopback model -----------------------------------------

FAST = StreamOptions(
    retry=RetryPolicy(max_retries=0),
    timeouts=Timeouts(connect_ms=2_000, first_byte_ms=10_000, idle_ms=10_000),
)

OVERFLOW = Reply.error(
    400,
    {"error": {"message": "This model's maximum context length is 8192 tokens.", "code": "context_length_exceeded"}},
)


class EchoArgs(msgspec.Struct, forbid_unknown_fields=True):
    text: str


class EchoTool(Tool[EchoArgs]):
    """Returns its text; counts how often it really ran."""

    name: ClassVar[str] = "echo"
    description: ClassVar[str] = "Repeat text."
    Args = EchoArgs

    def __init__(self) -> None:
        self.calls: list[str] = []

    async def execute(self, args: EchoArgs, ctx: ToolContext) -> ToolOutput:
        self.calls.append(args.text)
        return ToolOutput.text(args.text)


def echo_turn(n: int, text: str = "", **kw: Any) -> ScriptedTurn:
    return ScriptedTurn(tool_calls=[ScriptedToolCall("echo", {"text": text or f"echo {n}"}, id=f"c{n}")], **kw)


def wire_texts(body: dict[str, Any]) -> list[str]:
    """The text of every message in an OpenAI-style request body, in order."""
    out: list[str] = []
    for m in body["messages"]:
        content = m.get("content")
        if isinstance(content, list):
            content = "".join(part.get("text", "") for part in content)
        out.append(content or "")
    return out
