"""The summary request: through `skipjack.llm.stream`, in chunks when the history is too big.

A history larger than the summariser's window is cut into chunks that each fit; chunk 1 is
summarised, then chunk 2 together with that running summary (asked to merge it), and so on,
so the last summary covers everything. Every request's usage is added up, failed ones too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import msgspec

from skipjack.compaction.errors import CompactionError as CompactionError
from skipjack.compaction.estimate import CHARS_PER_TOKEN
from skipjack.compaction.prompt import (
    PROMPT_OVERHEAD_CHARS,
    SYSTEM_PROMPT,
    TOOL_RESULT_CHARS,
    build_prompt,
    files_touched,
    render_message,
    shorten,
)
from skipjack.llm.stream import StreamOptions, stream
from skipjack.llm.types import AssistantMessage, Context, Message, Model, Usage, UserMessage
from skipjack.llm.usage import sum_usage

SUMMARY_MAX_TOKENS = 8_192
MIN_CHUNK_TOKENS = 512


@dataclass(frozen=True)
class Summary:
    text: str
    usage: Usage
    """Summed over every request made for it."""
    model: str
    """`provider/model-id` of the summariser."""
    replies: list[AssistantMessage] = field(default_factory=list)
    """One per request, in order (a chunked summary has several)."""

    @property
    def requests(self) -> int:
        return len(self.replies)


def summary_max_tokens(model: Model) -> int:
    limit = SUMMARY_MAX_TOKENS
    if model.max_output > 0:
        limit = min(limit, model.max_output)
    if model.context_window > 0:
        limit = min(limit, max(256, model.context_window // 4))
    return limit


def chunk_budget_chars(model: Model, max_tokens: int, running_summary: str | None) -> int | None:
    """Characters of transcript one request can carry; None when the window is unknown."""
    if model.context_window <= 0:
        return None
    # The prompt must fit the input limit, and prompt plus reply the window.
    prompt_room = min(model.input_limit, model.context_window - max_tokens)
    room = prompt_room - math.ceil((PROMPT_OVERHEAD_CHARS + len(running_summary or "")) / CHARS_PER_TOKEN)
    return max(MIN_CHUNK_TOKENS, room) * CHARS_PER_TOKEN


def _chunks(
    items: list[tuple[str, Message]], budget: int | None, *, first_budget: int | None
) -> list[list[tuple[str, Message]]]:
    """Greedy split keeping message order; an item too big for any chunk is shortened."""
    if budget is None:
        return [items] if items else []
    chunks: list[list[tuple[str, Message]]] = []
    current: list[tuple[str, Message]] = []
    size = 0
    limit = first_budget if first_budget is not None else budget
    for text, message in items:
        if len(text) > limit:
            text = shorten(text, limit - 100)
        if current and size + len(text) + 2 > limit:
            chunks.append(current)
            current, size, limit = [], 0, budget
            if len(text) > limit:
                text = shorten(text, limit - 100)
        current.append((text, message))
        size += len(text) + 2
    if current:
        chunks.append(current)
    return chunks


async def summarize(
    messages: Sequence[Message],
    model: Model,
    *,
    previous_summary: str | None = None,
    focus: str | None = None,
    options: StreamOptions | None = None,
    tool_result_chars: int = TOOL_RESULT_CHARS,
) -> Summary:
    """Summarise `messages` (merging `previous_summary`) with `model`.

    Raises `CompactionError` (carrying the usage spent) when a request fails or the model
    returns no text.
    """
    max_tokens = summary_max_tokens(model)
    items = [(render_message(m, tool_result_chars=tool_result_chars), m) for m in messages]
    ref = model.ref
    replies: list[AssistantMessage] = []
    running = previous_summary
    pending = _chunks(
        items, chunk_budget_chars(model, max_tokens, None), first_budget=chunk_budget_chars(model, max_tokens, running)
    )
    # Later chunks carry the running summary too, so they get the budget left beside it;
    # re-split what remains after each request, as the summary's size is only known then.
    while pending:
        chunk = pending.pop(0)
        transcript = "\n\n".join(text for text, _ in chunk)
        read, modified = files_touched([m for _, m in chunk])
        prompt = build_prompt(transcript, previous_summary=running, focus=focus, read=read, modified=modified)
        reply = await _request(model, prompt, max_tokens, options, replies, ref)
        running = reply.text.strip()
        if pending:
            rest = [item for c in pending for item in c]
            budget = chunk_budget_chars(model, max_tokens, running)
            pending = _chunks(rest, budget, first_budget=budget)
    if running is None:
        raise CompactionError("nothing to summarise", usage=Usage.zero(), requests=0, model=ref)
    return Summary(running, sum_usage(r.usage for r in replies), ref, replies)


async def _request(
    model: Model,
    prompt: str,
    max_tokens: int,
    options: StreamOptions | None,
    replies: list[AssistantMessage],
    ref: str,
) -> AssistantMessage:
    request_options = msgspec.structs.replace(options or StreamOptions(), max_tokens=max_tokens)
    context = Context(system_prompt=SYSTEM_PROMPT, messages=[UserMessage(prompt)])
    s = stream(model, context, options=request_options)
    reply = await s.result()
    replies.append(reply)
    if s.error is not None or not reply.text.strip():
        why = f"{s.error.kind}: {s.error}" if s.error is not None else f"no text (stop reason {reply.stop_reason})"
        raise CompactionError(
            f"the summary request to {ref} failed: {why}",
            usage=sum_usage(r.usage for r in replies),
            requests=len(replies),
            model=ref,
        ) from s.error
    return reply
