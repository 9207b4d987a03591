"""The stream core's settings that `config.toml` holds: the wire APIs, prices, `[retry]`,
`[timeouts]`, `[limits]`.

A leaf outside the `llm` package on purpose: `skipjack.llm` loads the native core and asyncio
(tens of ms), and reading the config must not (`mcp.prestart` reads it to spawn the MCP
servers before a session's heavy imports). `skipjack.llm.types` re-exports every name here,
so `from skipjack.llm import RetryPolicy` is the same class.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

import msgspec

NonNegInt = Annotated[int, msgspec.Meta(ge=0)]
NonNegFloat = Annotated[float, msgspec.Meta(ge=0)]

Api: TypeAlias = Literal[
    "openai-chat",
    "anthropic-messages",
    "openai-responses",
    "google-gemini",
    "google-vertex",
    "google-vertex-anthropic",
    "bedrock-converse",
]


class Price(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """USD per million tokens."""

    input: NonNegFloat
    output: NonNegFloat
    cache_read: NonNegFloat = 0.0
    cache_write: NonNegFloat = 0.0


class RetryPolicy(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    max_retries: NonNegInt = 4
    base_delay_ms: NonNegInt = 1_000
    max_delay_ms: NonNegInt = 60_000
    """A server asking to wait longer than this fails fast with its figure."""


class Timeouts(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    connect_ms: NonNegInt = 15_000
    """Opening the connection, per attempt."""
    first_byte_ms: NonNegInt = 300_000
    """From sending the request to the response headers."""
    idle_ms: NonNegInt = 300_000
    """Longest wait for the next SSE event. Only bytes that carry events (`data:` lines)
    restart it: `: keep-alive` comments, blank lines and data-less `event:` lines do not."""
    total_ms: NonNegInt = 1_800_000
    """The whole request, retries and their waits included."""


ByteCount = Annotated[int, msgspec.Meta(ge=1, le=2**62)]
MiB = 1 << 20


class StreamLimits(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Caps on what a server may make the client hold. Past one, the stream ends with an
    `InvalidResponseError` naming the cap, and memory stays bounded."""

    max_event_bytes: ByteCount = 16 * MiB
    """One SSE line, and one event's data."""
    max_message_bytes: ByteCount = 64 * MiB
    """A message's whole content: text, thinking and tool calls together."""
    max_tool_args_bytes: ByteCount = 16 * MiB
    """One tool call's arguments."""
