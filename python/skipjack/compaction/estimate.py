"""How big a context is, and whether it is time to compact.

The provider's own count is the best figure there is: the last assistant message's usage
covers everything sent with that call (system prompt and tools included) plus its reply.
Only what was added after it is estimated, at four characters a token, which errs large for
code and English and so compacts a little early rather than overflowing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence

from skipjack.config.schema import CompactionSettings
from skipjack.llm.types import (
    AssistantMessage,
    ImageContent,
    InputContent,
    Message,
    Model,
    TextContent,
    ThinkingContent,
    ToolCall,
    Usage,
)

CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1_200
"""A typical image's cost on the major APIs; a fixed guess is all a character count allows."""


def _input_chars(content: str | Sequence[InputContent]) -> int:
    if isinstance(content, str):
        return len(content)
    chars = 0
    for block in content:
        if isinstance(block, TextContent):
            chars += len(block.text)
        elif isinstance(block, ImageContent):
            chars += IMAGE_TOKENS * CHARS_PER_TOKEN
    return chars


def estimate_tokens(message: Message) -> int:
    """chars/4 of everything the message sends back to the model."""
    if isinstance(message, AssistantMessage):
        chars = 0
        for block in message.content:
            if isinstance(block, TextContent):
                chars += len(block.text)
            elif isinstance(block, ThinkingContent):
                chars += len(block.thinking)
            elif isinstance(block, ToolCall):
                args = block.arguments if isinstance(block.arguments, str) else json.dumps(block.arguments)
                chars += len(block.name) + len(args)
    else:
        chars = _input_chars(message.content)
    return math.ceil(chars / CHARS_PER_TOKEN)


def usage_tokens(usage: Usage) -> int:
    return usage.input + usage.cache_read + usage.cache_write + usage.output


def estimate_context_tokens(messages: Sequence[Message], *, usage_from: int = 0) -> int:
    """The last reported usage (of an assistant message at index >= `usage_from`) plus an
    estimate of every message after it; all estimated when there is none.

    `usage_from` marks where figures are current: after a compaction, the kept assistant
    messages report the size of the context before it, which no longer exists.
    """
    for i in range(len(messages) - 1, usage_from - 1, -1):
        m = messages[i]
        if isinstance(m, AssistantMessage) and m.stop_reason not in ("error", "aborted"):
            reported = usage_tokens(m.usage)
            if reported > 0:
                return reported + sum(estimate_tokens(x) for x in messages[i + 1 :])
    return sum(estimate_tokens(m) for m in messages)


def context_limit(model: Model, settings: CompactionSettings) -> int | None:
    """The most the context may hold before compacting: the model's input limit (its
    `max_input` where that is smaller than the window, as gpt-5's 272k of 400k) minus the
    reply's reserve, since the reply joins the next request's prompt. None when the model's
    window is unknown (0)."""
    limit = model.input_limit
    if limit <= 0:
        return None
    return max(0, limit - settings.reserve_tokens)


def should_compact(
    messages: Sequence[Message],
    model: Model,
    settings: CompactionSettings | None = None,
    *,
    usage_from: int = 0,
) -> bool:
    settings = settings or CompactionSettings()
    limit = context_limit(model, settings)
    if not settings.enabled or limit is None or not messages:
        return False
    return estimate_context_tokens(messages, usage_from=usage_from) > limit
