"""Small helpers shared by the tool tests."""

from __future__ import annotations

from skipjack.agent.tool import ToolOutput
from skipjack.llm.types import TextContent


def text_of(out: ToolOutput) -> str:
    return "\n".join(b.text for b in out.content if isinstance(b, TextContent))


def tags_by_line(read_text: str) -> dict[int, str]:
    """`{line number: "LINE:HASH"}` from a read tool's output."""
    tags: dict[int, str] = {}
    for line in read_text.splitlines():
        head, sep, _ = line.partition("|")
        if sep and ":" in head and head.split(":")[0].isdigit():
            tags[int(head.split(":")[0])] = head
    return tags
