"""Resolving the paths a model passes to tools, and showing paths back to it."""

from __future__ import annotations

import os
from pathlib import Path


def resolve_path(cwd: Path, raw: str) -> Path:
    """`raw` made absolute against `cwd` (with `~` expanded) and resolved through symlinks.

    Resolving makes one file have one key, whatever spelling reached it, so per-file locks
    and read records agree between `a.py`, `./a.py` and a symlink to it.
    """
    path = Path(raw.strip()).expanduser()
    if not path.is_absolute():
        path = cwd / path
    return path.resolve()


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
