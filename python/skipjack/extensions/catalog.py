"""Finding every command, skill and agent definition of a session, with the problems found."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import msgspec

from skipjack.extensions.sources import Kind, Source, extension_dirs

if TYPE_CHECKING:
    from skipjack.extensions.commands import CustomCommand
    from skipjack.extensions.definitions import AgentDefinition
    from skipjack.extensions.skills import Skill

# Each kind's loader (and the front-matter parser) is imported only for a folder that exists:
# most projects have none, and a run should not pay for them at start.
T = TypeVar("T", "CustomCommand", "Skill", "AgentDefinition")
MAX_FILES = 1000
"""Per folder: a runaway tree (a symlink to `/`) must not stall startup."""


class ExtensionProblem(msgspec.Struct, frozen=True):
    """An extension file that could not be loaded."""

    path: Path
    message: str
    kind: str = ""
    """`commands`, `skills` or `agents`."""

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class Extensions(msgspec.Struct):
    """Every command, skill and agent definition found, by name."""

    commands: dict[str, CustomCommand] = msgspec.field(default_factory=dict)
    skills: dict[str, Skill] = msgspec.field(default_factory=dict)
    agents: dict[str, AgentDefinition] = msgspec.field(default_factory=dict)
    problems: list[ExtensionProblem] = msgspec.field(default_factory=list)
    searched: dict[str, list[Path]] = msgspec.field(default_factory=dict)
    """Kind → the folders looked in (for `skills list` and `/help`)."""


def load_extensions(*, user_config_dir: Path | None, project_root: Path | None, trusted: bool) -> Extensions:
    found = Extensions()

    def dirs(kind: Kind) -> list[Source]:
        sources = extension_dirs(kind, user_config_dir=user_config_dir, project_root=project_root, trusted=trusted)
        found.searched[kind] = [s.path for s in sources]
        return sources

    for s in dirs("commands"):
        _collect("commands", found.commands, found.problems, _files(s.path, "*.md"), functools.partial(_command, s))
    for s in dirs("skills"):
        if not s.path.is_dir():
            continue
        from skipjack.extensions.skills import SKILL_FILE

        _collect(
            "skills", found.skills, found.problems, _files(s.path, f"*/{SKILL_FILE}"), functools.partial(_skill, s)
        )
    for s in dirs("agents"):
        _collect("agents", found.agents, found.problems, _files(s.path, "*.md"), functools.partial(_definition, s))
    return found


def _command(source: Source, path: Path) -> CustomCommand:
    from skipjack.extensions.commands import load_command

    return load_command(path, source.path, source.origin)


def _skill(source: Source, path: Path) -> Skill:
    from skipjack.extensions.skills import load_skill

    return load_skill(path, source.origin)


def _definition(source: Source, path: Path) -> AgentDefinition:
    from skipjack.extensions.definitions import load_definition

    return load_definition(path, source.origin)


def _files(root: Path, pattern: str) -> list[Path]:
    if not root.is_dir():
        return []
    out: list[Path] = []
    glob = root.rglob(pattern) if pattern == "*.md" else root.glob(pattern)
    try:
        for path in glob:
            out.append(path)
            if len(out) >= MAX_FILES:
                break
    except OSError:
        pass
    return sorted(out)


def _collect(
    kind: Kind, into: dict[str, T], problems: list[ExtensionProblem], paths: list[Path], load: Callable[[Path], T]
) -> None:
    if not paths:
        return
    from skipjack.extensions.frontmatter import FrontMatterError

    for path in paths:
        try:
            item = load(path)
        except (FrontMatterError, ValueError) as e:
            problems.append(ExtensionProblem(path, str(e), kind))
            continue
        into[item.name] = item  # a later folder (the project's) wins a name
