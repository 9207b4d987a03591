"""Resolving the paths a model passes to tools, and showing paths back to it."""

from __future__ import annotations

import os
from pathlib import Path


def resolve_path(cwd: Path, raw: str) -> Path:
    """The real target of `raw`, a path a model passed to a tool running in `cwd`.

    This is the one path function: the tools use it to decide where they read and write,
    and the approval policy uses it to decide whether that place is inside the project, so
    the two can never disagree about a spelling. The rules, in order:

    - surrounding whitespace (spaces, tabs, newlines) is dropped: models pad paths by
      accident, and a path the tools would strip must be judged stripped;
    - a leading `~` or `~user` is the home directory, as in the shell (`os.path.expanduser`;
      an unknown user stays literal); `./~/x` is a directory literally named `~`;
    - a relative path is taken from `cwd`;
    - `..` and symlinks are resolved (`os.path.realpath`), including a symlinked parent
      and a dangling final symlink, which resolves to where a write would land: its target.

    Resolving also gives one file one key, whatever spelling reached it, so per-file locks
    and read records agree between `a.py`, `./a.py` and a symlink to it.
    """
    text = raw.strip()
    path = Path(os.path.expanduser(text)) if text.startswith("~") else Path(text)
    if not path.is_absolute():
        path = cwd / path
    return Path(os.path.realpath(path))


def display_path(path: Path, cwd: Path) -> str:
    """`path` relative to `cwd` when it lies inside it, else absolute."""
    try:
        rel = path.relative_to(cwd.resolve())
    except ValueError:
        return str(path)
    text = str(rel)
    return "." if text == "." else text


def is_within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def search_target(cwd: Path, raw: str | None) -> str | None:
    """How to name a search root to a subprocess run in `cwd`: relative when inside it.

    Returns None for `cwd` itself, so tools print `src/a.py` rather than `./src/a.py`.
    """
    if raw is None or raw.strip() in ("", "."):
        return None
    resolved = resolve_path(cwd, raw)
    root = cwd.resolve()
    if resolved == root:
        return None
    if is_within(resolved, root):
        return os.path.relpath(resolved, root)
    return str(resolved)
