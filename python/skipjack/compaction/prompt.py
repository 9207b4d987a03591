"""What the summariser is shown: a plain transcript of the history, and what to write.

The transcript leaves out the model's thinking entirely (it is the model's scratch work, can
be large, and signed thinking must never be replayed out of place), shortens tool results
and tool-call arguments, and lists the files the tools read and changed, so the summary can
name them even when their contents were cut.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from skipjack.llm.types import (
    AssistantMessage,
    InputContent,
    Message,
    TextContent,
    ToolCall,
    ToolResultMessage,
    UserMessage,
    text_of,
)
from skipjack.tools.apply_patch import patch_paths

TOOL_RESULT_CHARS = 2_000
TOOL_ARGS_CHARS = 1_000
READ_TOOLS = frozenset({"read", "grep", "find"})
WRITE_TOOLS = frozenset({"edit", "write"})

SYSTEM_PROMPT = """\
You write the working memory of a coding agent. The conversation below between a user and \
the agent is about to be removed from the agent's context; your summary replaces it, and the \
agent must be able to continue the work from the summary alone.

Write only the summary, in the markdown structure requested. Do not continue the \
conversation, answer questions in it, or call tools. Be concrete: exact file paths, \
function names, commands, error messages, numbers and user wording that matter. Omit \
pleasantries and anything that no longer matters."""

SECTIONS = """\
## Goal
What the user wants overall, in their terms.

## Constraints and preferences
Requirements, restrictions and preferences the user stated or the work revealed.

## Progress
### Done
### In progress

## Key decisions
Decisions made and why (including approaches tried and rejected).

## Next steps
What remains, in order.

## Files
### Read
### Modified
Paths, with a few words on what each holds or what changed.

## Critical context
Anything else the agent cannot continue correctly without: exact errors, values, \
identifiers, commands that work or fail, open questions for the user."""


def shorten(text: str, limit: int) -> str:
    """Head and tail of `text` within about `limit` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[... {omitted} characters omitted ...]\n{text[-tail:] if tail else ''}"


def _input_text(content: str | Sequence[InputContent]) -> str:
    return text_of(content, image="[image: {}]")


def _call_text(call: ToolCall) -> str:
    args = call.arguments if isinstance(call.arguments, str) else json.dumps(call.arguments, ensure_ascii=False)
    return f"[Tool call {call.name}] {shorten(args, TOOL_ARGS_CHARS)}"


def render_message(message: Message, *, tool_result_chars: int = TOOL_RESULT_CHARS) -> str:
    """One message as transcript text; thinking blocks are never included."""
    if isinstance(message, UserMessage):
        return f"[User]\n{_input_text(message.content)}"
    if isinstance(message, ToolResultMessage):
        label = "Tool error" if message.is_error else "Tool result"
        body = shorten(_input_text(message.content), tool_result_chars)
        return f"[{label} {message.tool_name}]\n{body}"
    parts = ["[Assistant]"]
    for block in message.content:
        if isinstance(block, TextContent) and block.text:
            parts.append(block.text)
        elif isinstance(block, ToolCall):
            parts.append(_call_text(block))
    if message.stop_reason in ("error", "aborted"):
        parts.append(f"[the reply {message.stop_reason}: {message.error_message or 'no message'}]")
    return "\n".join(parts)


def files_touched(messages: Sequence[Message]) -> tuple[list[str], list[str]]:
    """Paths the file tools read and modified, in first-use order."""
    read: dict[str, None] = {}
    modified: dict[str, None] = {}
    for m in messages:
        if not isinstance(m, AssistantMessage):
            continue
        for call in m.tool_calls:
            if not isinstance(call.arguments, dict):
                continue
            patch = call.arguments.get("input")
            if call.name == "apply_patch" and isinstance(patch, str):
                for name in patch_paths(patch):
                    modified.setdefault(name)
                continue
            path = call.arguments.get("path")
            if not isinstance(path, str) or not path:
                continue
            if call.name in WRITE_TOOLS:
                modified.setdefault(path)
            elif call.name in READ_TOOLS:
                read.setdefault(path)
    return list(read), list(modified)


def build_prompt(
    transcript: str,
    *,
    previous_summary: str | None,
    focus: str | None,
    read: Sequence[str] = (),
    modified: Sequence[str] = (),
) -> str:
    parts: list[str] = []
    if previous_summary:
        parts += ["<previous-summary>", previous_summary.strip(), "</previous-summary>", ""]
    parts += ["<conversation>", transcript, "</conversation>", ""]
    if read or modified:
        parts.append("Files the agent's tools touched in this part of the conversation:")
        if read:
            parts.append("- read: " + ", ".join(read))
        if modified:
            parts.append("- modified: " + ", ".join(modified))
        parts.append("")
    if previous_summary:
        parts.append(
            "The previous summary covers the conversation before the part above. Write one updated "
            "summary of both: keep everything from the previous summary that still matters, merge in "
            "what the new part adds or changes (progress made, decisions, files), and drop only what "
            "is now obsolete."
        )
    else:
        parts.append("Summarise the conversation above.")
    parts += ["Use exactly these sections:", "", SECTIONS]
    if focus:
        parts += ["", f"The user asked the summary to focus on: {focus.strip()}"]
    return "\n".join(parts)


PROMPT_OVERHEAD_CHARS = len(SYSTEM_PROMPT) + len(build_prompt("", previous_summary="x", focus=None)) + 2_000
"""The prompt around the transcript, with room for the file lists and a focus."""
