"""Canonical messages, usage and models: the Python face of the Rust core's types.

Field names and tags mirror the core's serde shapes exactly (`crates/skipjack-llm/src/
message.rs`, `usage.rs`, `model.rs`); a context is handed to Rust as msgspec-encoded JSON
once per request, and the core builds these objects directly for the final message.
Decoding is strict: usage must carry every canonical key, non-negative, and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Literal, TypeAlias

import msgspec

# Re-exported: the settings types live in a leaf the config reads without loading this package.
from skipjack.llm_settings import Api as Api
from skipjack.llm_settings import ByteCount as ByteCount
from skipjack.llm_settings import MiB as MiB
from skipjack.llm_settings import NonNegFloat as NonNegFloat
from skipjack.llm_settings import NonNegInt as NonNegInt
from skipjack.llm_settings import Price as Price
from skipjack.llm_settings import RetryPolicy as RetryPolicy
from skipjack.llm_settings import StreamLimits as StreamLimits
from skipjack.llm_settings import Timeouts as Timeouts

StopReason: TypeAlias = Literal["stop", "length", "tool_use", "content_filter", "error", "aborted"]
ReasoningEffort: TypeAlias = Literal["minimal", "low", "medium", "high"]
CostSource: TypeAlias = Literal["computed", "provider", "unknown"]
"""`unknown`: no price is known for the model, so its cost fields are 0 but are not a charge of $0."""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class Cost(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """USD, per canonical token field, and their total."""

    input: NonNegFloat
    output: NonNegFloat
    cache_read: NonNegFloat
    cache_write: NonNegFloat
    total: NonNegFloat


class Usage(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Token counts that do not overlap (`input` excludes cached tokens) and their cost."""

    input: NonNegInt
    output: NonNegInt
    cache_read: NonNegInt
    cache_write: NonNegInt
    total_tokens: NonNegInt
    cost: Cost

    @staticmethod
    def zero() -> Usage:
        return Usage(0, 0, 0, 0, 0, Cost(0.0, 0.0, 0.0, 0.0, 0.0))


class TextContent(msgspec.Struct, frozen=True, tag_field="type", tag="text", forbid_unknown_fields=True):
    text: str


class ThinkingContent(msgspec.Struct, frozen=True, tag_field="type", tag="thinking", forbid_unknown_fields=True):
    thinking: str
    signature: str | None = None
    redacted: bool = False


class ImageContent(msgspec.Struct, frozen=True, tag_field="type", tag="image", forbid_unknown_fields=True):
    data: str
    """Base64-encoded bytes."""
    mime_type: str


class ToolCall(msgspec.Struct, frozen=True, tag_field="type", tag="tool_call", forbid_unknown_fields=True):
    id: str
    name: str
    arguments: dict[str, Any] | str
    """A dict when `arguments_error` is None; otherwise the raw text the model sent."""
    arguments_error: str | None = None


AssistantContent: TypeAlias = TextContent | ThinkingContent | ToolCall
InputContent: TypeAlias = TextContent | ImageContent


def text_of(content: str | Sequence[InputContent], *, sep: str = "\n", image: str | None = None) -> str:
    """The text of user or tool-result content: a string as is, else its text blocks joined
    by `sep`. Images are left out unless `image` is given, a template such as
    `"[image: {}]"` filled with each image's MIME type."""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content:
        if isinstance(block, TextContent):
            parts.append(block.text)
        elif image is not None:
            parts.append(image.format(block.mime_type))
    return sep.join(parts)


def model_ref(provider: str, model_id: str) -> str:
    """The `provider/id` string users type, sessions store and the registry is keyed by."""
    return f"{provider}/{model_id}"


class UserMessage(msgspec.Struct, frozen=True, tag_field="role", tag="user", forbid_unknown_fields=True):
    content: str | list[InputContent]
    timestamp: int = msgspec.field(default_factory=now_ms)


class AssistantMessage(msgspec.Struct, frozen=True, tag_field="role", tag="assistant", forbid_unknown_fields=True):
    content: list[AssistantContent]
    api: str
    provider: str
    model: str
    usage: Usage
    stop_reason: StopReason
    error_message: str | None = None
    error_kind: str | None = None
    cost_source: CostSource = "computed"
    response_id: str | None = None
    timestamp: int = msgspec.field(default_factory=now_ms)

    @property
    def text(self) -> str:
        return "".join(b.text for b in self.content if isinstance(b, TextContent))

    @property
    def model_ref(self) -> str:
        """`provider/model` of the model that wrote this message."""
        return model_ref(self.provider, self.model)

    @property
    def tool_calls(self) -> list[ToolCall]:
        return [b for b in self.content if isinstance(b, ToolCall)]


class ToolResultMessage(msgspec.Struct, frozen=True, tag_field="role", tag="tool_result", forbid_unknown_fields=True):
    tool_call_id: str
    tool_name: str
    content: str | list[InputContent]
    is_error: bool = False
    timestamp: int = msgspec.field(default_factory=now_ms)


Message: TypeAlias = UserMessage | AssistantMessage | ToolResultMessage


class Tool(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A tool the model may call: its JSON Schema describes the arguments object."""

    name: str
    description: str
    parameters: dict[str, Any]


class Context(msgspec.Struct, forbid_unknown_fields=True):
    system_prompt: str | None = None
    messages: list[Message] = msgspec.field(default_factory=list)
    tools: list[Tool] = msgspec.field(default_factory=list)


class PriceTier(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The price of a request whose prompt (input incl. cached tokens) exceeds `context_over`
    tokens; the core bills the whole request at it (`usage::price_for_prompt`)."""

    context_over: NonNegInt
    price: Price


class Model(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The one model type every caller uses."""

    provider: str
    id: str
    api: Api
    base_url: str
    name: str | None = None
    context_window: NonNegInt = 0
    max_input: NonNegInt = 0
    """Largest prompt accepted when smaller than the context window (0: the window is the
    limit); gpt-5 takes 272k of its 400k. See `input_limit`."""
    max_output: NonNegInt = 0
    price: Price | None = None
    """None: no price is known, so requests are costed as unknown (never as free)."""
    tiers: list[PriceTier] = msgspec.field(default_factory=list)
    """Prices replacing `price` once a request's prompt exceeds a size."""
    reasoning: bool = False
    images: bool = False
    api_key_env: str | None = None
    """Environment variable holding this provider's key."""
    headers: dict[str, str] = msgspec.field(default_factory=dict)

    @property
    def input_limit(self) -> int:
        """The most prompt tokens a request may carry: `max_input` where it is set and
        smaller than the context window, else the window (0: unknown)."""
        if self.max_input > 0 and (self.context_window <= 0 or self.max_input < self.context_window):
            return self.max_input
        return self.context_window

    @property
    def ref(self) -> str:
        """`provider/id`, as users type it."""
        return model_ref(self.provider, self.id)
