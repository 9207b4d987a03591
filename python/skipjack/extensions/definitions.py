"""Subagent definitions: markdown files whose front matter names an agent type (`name`,
`description`, `tools`, `model`, `approval`) and whose body is its system prompt."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from skipjack.config.schema import ApprovalMode
from skipjack.extensions.frontmatter import FrontMatterError, names_field, read, text_field
from skipjack.extensions.names import check_name

# Claude Code's tool names, so its agent files grant the same tools here.
CLAUDE_TOOL_NAMES = {
    "Read": "read",
    "Grep": "grep",
    "Glob": "find",
    "LS": "find",
    "Edit": "edit",
    "MultiEdit": "edit",
    "Write": "write",
    "Bash": "bash",
    "WebFetch": "web_fetch",
    "TodoWrite": "todo",
    "Task": "task",
}


@dataclass(frozen=True)
class AgentDefinition:
    """A subagent defined by a markdown file."""

    name: str
    description: str
    system_prompt: str
    path: Path
    origin: str
    tools: tuple[str, ...] | None = None
    """None: the read-only default set."""
    model: str | None = None
    approval: ApprovalMode | None = None
    """At most this; the parent's mode is the ceiling."""


def load_definition(path: Path, origin: str) -> AgentDefinition:
    meta, body = read(path)
    name = check_name(text_field(meta, "name") or path.stem)
    description = text_field(meta, "description")
    if not description:
        raise FrontMatterError("`description` is missing: the model picks agents by their description")
    tools = names_field(meta, "tools")
    approval = text_field(meta, "approval")
    if approval is not None and approval not in get_args(ApprovalMode):
        raise FrontMatterError(f"`approval` {approval!r} is not one of {', '.join(get_args(ApprovalMode))}")
    model = text_field(meta, "model")
    if model in ("inherit", ""):
        model = None
    return AgentDefinition(
        name=name,
        description=" ".join(description.split()),
        system_prompt=body.strip(),
        path=path,
        origin=origin,
        tools=None if tools is None else tuple(dict.fromkeys(_tool_name(t) for t in tools)),
        model=model,
        approval=approval,  # type: ignore[arg-type]  # checked against ApprovalMode above
    )


def _tool_name(name: str) -> str:
    # `Bash(git status:*)` grants the tool; the pattern is the approval policy's business.
    bare = name.split("(", 1)[0].strip()
    return CLAUDE_TOOL_NAMES.get(bare, bare.lower())
