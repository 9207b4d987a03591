"""Retrying a failed turn: the conversation as it was before the model's failed reply.

A run that failed (an error after the core's own retries, a cut stream) or was aborted before
the model's reply finished leaves the conversation ending `…, user, assistant(failed)`. Sending
the same words again would put the user's message in twice (the failed reply, empty, is not
replayed to the provider). A retry instead drops the failed reply and asks the model again.
"""

from __future__ import annotations

from collections.abc import Sequence

from skipjack.llm.types import AssistantMessage, Message, UserMessage

FAILED = ("error", "aborted")


def failed(message: Message) -> bool:
    return isinstance(message, AssistantMessage) and message.stop_reason in FAILED


def retry_point(messages: Sequence[Message]) -> int | None:
    """Length of the conversation to retry from (it then ends with the user's message), or
    None when there is no failed turn to retry: the conversation must end with failed replies
    directly after a user message (once a tool ran, the turn made progress: it is not redone)."""
    end = len(messages)
    while end and failed(messages[end - 1]):
        end -= 1
    if end == len(messages) or end == 0 or not isinstance(messages[end - 1], UserMessage):
        return None
    return end


def retried(messages: Sequence[Message]) -> set[int]:
    """Indexes of the failed replies a retry replaced in a recorded conversation (the session
    file keeps them): a failed reply directly followed by another reply, which only a retry
    writes."""
    return {
        i
        for i, m in enumerate(messages)
        if failed(m) and i + 1 < len(messages) and isinstance(messages[i + 1], AssistantMessage)
    }
