"""Agent Skills: folders holding a `SKILL.md` (front matter `name`, `description`).

Only names, descriptions and paths reach the system prompt; the model reads a skill's body and
its other files with the read tool when a task needs it, so unused skills cost a line each.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from skipjack.extensions.frontmatter import FrontMatterError, read, text_field
from skipjack.extensions.names import check_name

SKILL_FILE = "SKILL.md"
MAX_DESCRIPTION = 1024
"""The Agent Skills spec's limit; a longer one would bloat every request."""


@dataclass(frozen=True)
class Skill:
    """An Agent Skill: a folder with a SKILL.md."""

    name: str
    description: str
    path: Path
    """The SKILL.md file."""
    origin: str


def load_skill(path: Path, origin: str) -> Skill:
    meta, _body = read(path)
    name = text_field(meta, "name") or path.parent.name
    check_name(name)
    description = text_field(meta, "description")
    if not description:
        raise FrontMatterError("`description` is missing: the model picks skills by their description")
    if len(description) > MAX_DESCRIPTION:
        raise FrontMatterError(f"`description` is {len(description)} characters; the limit is {MAX_DESCRIPTION}")
    return Skill(name, " ".join(description.split()), path, origin)


def skills_prompt(skills: list[Skill]) -> str:
    """The system prompt's section: one line per skill."""
    if not skills:
        return ""
    lines = [
        "Skills: folders of instructions and files for particular tasks. When a task matches a "
        "skill's description, read its SKILL.md with the read tool first and follow it (it may "
        "point to more files in its folder). Do not read skills the task does not need.",
    ]
    lines += [f"- {s.name}: {s.description} ({s.path})" for s in skills]
    return "\n".join(lines)
