"""Test doubles shipped with skipjack: a loopback SSE server and scripted model streams."""

from skipjack.testing.gemini_script import gemini_turn, thought_signature
from skipjack.testing.openai_script import ScriptedToolCall, ScriptedTurn, openai_turn, text_deltas
from skipjack.testing.responses_script import encrypted_reasoning, responses_text_deltas, responses_turn
from skipjack.testing.scripted import SCRIPTED_PRICE, ScriptedModel, scripted_model, stalled_reply, turn_reply
from skipjack.testing.sse_server import (
    Pause,
    RecordedRequest,
    Reply,
    Reset,
    SSEServer,
    Stall,
    sse_body,
)
from skipjack.testing.wire_check import check_openai_chat_request, openai_chat_problem

__all__ = [
    "SCRIPTED_PRICE",
    "Pause",
    "RecordedRequest",
    "Reply",
    "Reset",
    "SSEServer",
    "ScriptedModel",
    "ScriptedToolCall",
    "ScriptedTurn",
    "Stall",
    "check_openai_chat_request",
    "encrypted_reasoning",
    "gemini_turn",
    "openai_chat_problem",
    "openai_turn",
    "responses_text_deltas",
    "responses_turn",
    "scripted_model",
    "sse_body",
    "stalled_reply",
    "text_deltas",
    "thought_signature",
    "turn_reply",
]
