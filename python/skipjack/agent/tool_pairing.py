"""Making a history valid for every wire API: each tool call answered once, right after it.

A run that was killed (SIGKILL, a power cut, a full disk) can leave a history whose last
assistant message asks for tools that have no results, results that belong to no call, or a
user message between a call and its result. Every provider rejects such a history (OpenAI:
HTTP 400 "an assistant message with 'tool_calls' must be followed by tool messages";
Anthropic: every `tool_use` needs its `tool_result` in the next message), so a session would
stay unresumable forever. `pair_tool_results` is the one place that mends it; session loading
and `Agent.replace_messages` both go through it.

The rules: after an assistant message with tool calls come exactly its results, one per
call, in call order (the k-th call with an id takes the k-th result with that id, since
models do not always send unique ids); a call without a recorded result gets a synthesized
error result saying it was interrupted; results matching no call of the assistant message
before them, and second results for a call, are dropped; other messages found between the
call and the next assistant message follow the results.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import TypeVar

from skipjack.llm.types import AssistantMessage, Message, TextContent, ToolCall, ToolResultMessage

T = TypeVar("T")

INTERRUPTED = (
    "interrupted: skipjack stopped before this call's result was recorded, so the tool did not "
    "run or its result was lost. Check its effects before running it again."
)


def interrupted_result(call: ToolCall, asked: AssistantMessage | None = None) -> ToolResultMessage:
    """The result given to a call that has none recorded; stamped with the time of the message
    that asked (`asked`), so mending the same history twice gives equal messages."""
    if asked is None:
        return ToolResultMessage(call.id, call.name, [TextContent(INTERRUPTED)], is_error=True)
    return ToolResultMessage(call.id, call.name, [TextContent(INTERRUPTED)], is_error=True, timestamp=asked.timestamp)


def pair_tool_results(messages: Sequence[Message]) -> list[Message]:
    """`messages` with every tool call answered exactly once, right after its message."""
    return pair_items(messages, lambda m: m, _synthesize)


def _synthesize(asked: Message, call: ToolCall) -> Message:
    return interrupted_result(call, asked if isinstance(asked, AssistantMessage) else None)


def pair_items(
    items: Sequence[T],
    message_of: Callable[[T], Message],
    synthesize: Callable[[T, ToolCall], T],
) -> list[T]:
    """The same repair over items that carry a message (e.g. session entries with their ids);
    `synthesize(assistant_item, call)` makes the item for a missing result."""
    out: list[T] = []
    i, n = 0, len(items)
    while i < n:
        item = items[i]
        message = message_of(item)
        i += 1
        if isinstance(message, ToolResultMessage):
            continue  # no assistant message before it asked for it
        out.append(item)
        if not isinstance(message, AssistantMessage) or not message.tool_calls:
            continue
        end = i
        while end < n and not isinstance(message_of(items[end]), AssistantMessage):
            end += 1
        results: dict[str, deque[T]] = {}
        others: list[T] = []
        for later in items[i:end]:
            m = message_of(later)
            if isinstance(m, ToolResultMessage):
                results.setdefault(m.tool_call_id, deque()).append(later)
            else:
                others.append(later)
        for call in message.tool_calls:
            queue = results.get(call.id)
            out.append(queue.popleft() if queue else synthesize(item, call))
        out += others
        i = end
    return out


def unanswered_calls(messages: Sequence[Message]) -> list[ToolCall]:
    """The calls of the last assistant message that no result after it answers (in order)."""
    for at in range(len(messages) - 1, -1, -1):
        last = messages[at]
        if isinstance(last, AssistantMessage):
            answered: dict[str, int] = {}
            for m in messages[at + 1 :]:
                if isinstance(m, ToolResultMessage):
                    answered[m.tool_call_id] = answered.get(m.tool_call_id, 0) + 1
            missing: list[ToolCall] = []
            for call in last.tool_calls:
                if answered.get(call.id, 0) > 0:
                    answered[call.id] -= 1
                else:
                    missing.append(call)
            return missing
    return []
