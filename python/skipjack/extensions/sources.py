"""Where extensions are looked for, in precedence order (a later folder's name wins).

The user's own folder always; a project's `.skipjack/<kind>/` and `.claude/<kind>/` only when
the user trusts the project: a cloned repository's commands, skills, agents and hooks are
someone else's instructions to the model and someone else's programs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import msgspec

Kind = Literal["commands", "skills", "agents"]
PROJECT_DIRS = (".claude", ".skipjack")
"""`.skipjack/` after `.claude/`, so skipjack's own definition wins a name both have."""


class Source(msgspec.Struct, frozen=True):
    """A folder extensions are looked for in."""

    origin: Literal["user", "project"]
    path: Path


def extension_dirs(
    kind: Kind, *, user_config_dir: Path | None, project_root: Path | None, trusted: bool
) -> list[Source]:
    sources: list[Source] = []
    if user_config_dir is not None:
        sources.append(Source("user", user_config_dir / kind))
    if trusted and project_root is not None:
        sources += [Source("project", project_root / d / kind) for d in PROJECT_DIRS]
    return sources
