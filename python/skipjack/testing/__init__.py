"""Test doubles shipped with skipjack: a loopback SSE server and scripted model streams."""

from skipjack.testing.openai_script import ScriptedToolCall, ScriptedTurn, openai_turn, text_deltas
from skipjack.testing.sse_server import (
    Pause,
    RecordedRequest,
    Reply,
    Reset,
    SSEServer,
    Stall,
    sse_body,
)

__all__ = [
    "Pause",
    "RecordedRequest",
    "Reply",
    "Reset",
    "SSEServer",
    "ScriptedToolCall",
    "ScriptedTurn",
    "Stall",
    "openai_turn",
    "sse_body",
    "text_deltas",
]
