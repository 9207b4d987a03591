"""A session as markdown: the full history (compacted parts and summaries included) and its cost."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from skipjack.llm.types import (
    AssistantMessage,
    InputContent,
    TextContent,
    ThinkingContent,
    ToolCall,
    ToolResultMessage,
    UserMessage,
    text_of,
)
from skipjack.sessions.format import CompactionEntry, EventEntry, MessageEntry, ModelChangeEntry, UsageEntry
from skipjack.sessions.session import Session


def _time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fence(text: str, lang: str = "") -> str:
    # A fence longer than any backtick run inside, so content can never close it early.
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines() or [""])


def _input(content: str | list[InputContent]) -> str:
    return text_of(content, sep="\n\n", image="*[image: {}]*")


def _usd(x: float) -> str:
    return f"${x:.4f}"


def to_markdown(session: Session) -> str:
    totals = session.usage_totals()
    out = [
        f"# {session.title}",
        "",
        f"- Session: `{session.id}`",
        f"- Created: {_time(session.header.created)}",
        f"- Directory: `{session.cwd}`",
        f"- Model: `{session.model or 'unknown'}`",
        f"- Tokens: {totals.input:,} input, {totals.output:,} output, "
        f"{totals.cache_read:,} cache read, {totals.cache_write:,} cache write",
        f"- Cost: {_usd(totals.cost.total)}",
    ]
    if session.header.forked_from:
        f = session.header.forked_from
        out.append(f"- Forked from: `{f.session}` at entry `{f.entry}`")
    for entry in session.all_entries():
        out.append("")
        if isinstance(entry, MessageEntry):
            m = entry.message
            if isinstance(m, UserMessage):
                out += ["## User", "", _input(m.content)]
            elif isinstance(m, AssistantMessage):
                out += [f"## Assistant ({m.model_ref}, {_usd(m.usage.cost.total)})", ""]
                for block in m.content:
                    if isinstance(block, TextContent):
                        out += [block.text, ""]
                    elif isinstance(block, ThinkingContent):
                        if not block.redacted:
                            out += ["<details><summary>Thinking</summary>", "", block.thinking, "", "</details>", ""]
                    elif isinstance(block, ToolCall):
                        args = (
                            json.dumps(block.arguments, indent=2, ensure_ascii=False)
                            if isinstance(block.arguments, dict)
                            else block.arguments
                        )
                        out += [f"**Tool call** `{block.name}` (`{block.id}`)", "", _fence(args, "json"), ""]
                if m.stop_reason in ("error", "aborted"):
                    out.append(f"*{m.stop_reason}: {m.error_message or 'no message'}*")
            elif isinstance(m, ToolResultMessage):
                label = "Tool error" if m.is_error else "Tool result"
                out += [f"### {label}: `{m.tool_name}` (`{m.tool_call_id}`)", "", _fence(_input(m.content))]
        elif isinstance(entry, CompactionEntry):
            head = f"## Compaction ({entry.trigger}, {entry.tokens_before:,} tokens before"
            head += f", summary by {entry.model}, {_usd(entry.usage.cost.total)})"
            out += [head, ""]
            if entry.focus:
                out += [f"Focus: {entry.focus}", ""]
            out.append(_quote(entry.summary))
        elif isinstance(entry, ModelChangeEntry):
            out.append(f"*Model changed to `{entry.model}`*")
        elif isinstance(entry, UsageEntry):
            out.append(f"*{entry.reason}: {entry.model}, {_usd(entry.usage.cost.total)}*")
        elif isinstance(entry, EventEntry):
            detail = f": `{json.dumps(entry.data, ensure_ascii=False)}`" if entry.data else ""
            out.append(f"*{entry.name}{detail}*")
    return "\n".join(out).rstrip() + "\n"
