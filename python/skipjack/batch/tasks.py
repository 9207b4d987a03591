"""The tasks file: one JSON object per line, checked before anything runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import msgspec

from skipjack.errors import UserError
from skipjack.user_paths import expand_user

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Task(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    id: str
    """Names the task's folder under the output dir: letters, digits, `.`, `_`, `-`."""
    repo: str
    """A local path or a git URL."""
    prompt: str
    ref: str = "HEAD"
    setup: str | None = None
    """A shell command run in the workspace before the agent."""
    check: str | None = None
    """A shell command run after the agent; exit 0 passes the task."""
    model: str | None = None
    max_turns: Annotated[int, msgspec.Meta(gt=0)] | None = None
    max_cost: Annotated[float, msgspec.Meta(ge=0)] | None = None
    env: list[str] = msgspec.field(default_factory=list)
    """Names of environment variables passed through to setup, the agent and check."""


_decoder = msgspec.json.Decoder(Task)


def load_tasks(path: Path, base: Path) -> list[Task]:
    """Every task in `path`, relative local repos resolved against `base`; a bad line is a
    `UserError` naming it (nothing runs until the whole file is good)."""
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}") from e
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(raw.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith(b"#"):
            continue
        try:
            task = _decoder.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as e:
            raise UserError(f"{path}:{number}: {e}") from e
        if not _ID.match(task.id) or task.id in (".", ".."):
            raise UserError(f"{path}:{number}: task id {task.id!r} must be letters, digits, '.', '_' or '-'")
        if task.id in seen:
            raise UserError(f"{path}:{number}: task id {task.id!r} is already used on line {seen[task.id]}")
        if not task.prompt.strip():
            raise UserError(f"{path}:{number}: task {task.id!r} has an empty prompt")
        bad = [n for n in task.env if not _ENV_NAME.match(n)]
        if bad:
            raise UserError(f"{path}:{number}: not environment variable names: {', '.join(bad)}")
        if task.ref.startswith("-"):
            raise UserError(f"{path}:{number}: ref {task.ref!r} looks like an option")
        seen[task.id] = number
        tasks.append(msgspec.structs.replace(task, repo=_resolve_repo(task.repo, base)))
    if not tasks:
        raise UserError(f"{path} holds no tasks")
    return tasks


def _resolve_repo(repo: str, base: Path) -> str:
    if "://" in repo or re.match(r"^[\w.-]+@[\w.-]+:", repo):
        return repo  # a URL, or scp-like `git@host:path`
    path = expand_user(repo)
    return str(path if path.is_absolute() else (base / path).resolve())
