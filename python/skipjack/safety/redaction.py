"""The redactor as agent hooks: tool output, and the provider's error messages (which may echo
the request's key), are scrubbed of known secrets before they enter the conversation, and
therefore before the session file, `--json` output, a compaction summary or a UI sees them."""

from __future__ import annotations

from typing import Any

import msgspec

from skipjack.agent.hooks import Hooks, UpdateFilter
from skipjack.agent.tool import ToolOutput
from skipjack.llm.types import TextContent, ToolCall
from skipjack.safety.secrets import Redactor


def redact_output(output: ToolOutput, redactor: Redactor) -> ToolOutput:
    if not redactor:
        return output
    content = [TextContent(redactor.redact(b.text)) if isinstance(b, TextContent) else b for b in output.content]
    details = _redact_value(output.details, redactor) if output.details is not None else None
    return ToolOutput(content, is_error=output.is_error, details=details)


def _redact_value(value: Any, redactor: Redactor) -> Any:
    if isinstance(value, str):
        return redactor.redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v, redactor) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v, redactor) for v in value]
    return value


def with_redaction(hooks: Hooks, redactor: Redactor) -> Hooks:
    """`hooks` with every tool output (after any existing `after_tool_call`) and every streamed
    chunk scrubbed. Later `msgspec.structs.replace` of other hooks keeps these."""
    if not redactor:
        return hooks
    inner = hooks.after_tool_call

    async def after_tool_call(call: ToolCall, output: ToolOutput) -> ToolOutput:
        if inner is not None:
            output = await inner(call, output)
        return redact_output(output, redactor)

    def tool_update_filter(call: ToolCall) -> UpdateFilter:
        return redactor.stream()

    return msgspec.structs.replace(
        hooks, after_tool_call=after_tool_call, tool_update_filter=tool_update_filter, scrub_text=redactor.redact
    )
