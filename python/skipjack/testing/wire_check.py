"""Checking a request the way a provider does, so tests see the HTTP 400 a real one would send.

`openai_chat_problem(body)` applies OpenAI chat-completions' rules on tool messages: an
assistant message with `tool_calls` must be followed, before any other message, by one `tool`
message per call id, and a `tool` message must answer a call of the assistant message before
it. A history that breaks them is what left killed sessions unresumable; an `SSEServer`
created with `validate=openai_chat_problem` rejects it like OpenAI.
"""

from __future__ import annotations

from typing import Any

from skipjack.testing.sse_server import RecordedRequest

UNANSWERED = (
    "An assistant message with 'tool_calls' must be followed by tool messages responding to each "
    "'tool_call_id'. The following tool_call_ids did not have response messages: {ids}"
)
ORPHAN = "Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'."


def openai_chat_problem(body: Any) -> str | None:
    """The error message OpenAI would give for `body`'s messages, or None when they are valid."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        return "'messages' is a required property"
    open_ids: list[str] = []
    answering = False  # inside the run of tool messages after an assistant's calls
    for m in messages:
        role = m.get("role") if isinstance(m, dict) else None
        if role == "tool":
            call_id = m.get("tool_call_id")
            if not answering or call_id not in open_ids:
                return ORPHAN
            open_ids.remove(call_id)
            continue
        if open_ids:
            return UNANSWERED.format(ids=", ".join(open_ids))
        calls = m.get("tool_calls") if role == "assistant" else None
        open_ids = [str(c.get("id")) for c in calls or [] if isinstance(c, dict)]
        answering = bool(open_ids)
    if open_ids:
        return UNANSWERED.format(ids=", ".join(open_ids))
    return None


def check_openai_chat_request(request: RecordedRequest) -> str | None:
    """`openai_chat_problem` for a recorded request (the `SSEServer(validate=...)` signature)."""
    try:
        body = request.json()
    except ValueError:
        return "We could not parse the JSON body of your request."
    return openai_chat_problem(body)
