"""Prompt completion: `/command` at the start of the prompt, `@path` anywhere.

Pure functions over the text before the cursor, so they are tested without a terminal.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_ITEMS = 50
_SKIP_DIRS = frozenset({".git", "__pycache__", "node_modules", ".venv", ".mypy_cache", ".ruff_cache"})


@dataclass(frozen=True)
class Item:
    value: str
    """Replaces the token being completed."""
    label: str


@dataclass(frozen=True)
class Completion:
    token: str
    """The text before the cursor that `Item.value` replaces."""
    items: list[Item]


def complete(before_cursor: str, cwd: Path, commands: Sequence[tuple[str, str]]) -> Completion | None:
    """`commands` are `(name, help)` pairs, names without the slash."""
    if before_cursor.startswith("/") and not any(c.isspace() for c in before_cursor):
        typed = before_cursor[1:]
        items = [Item(f"/{name} ", f"/{name}  {help_}") for name, help_ in commands if name.startswith(typed)]
        return Completion(before_cursor, items) if items else None
    at = before_cursor.rfind("@")
    if at < 0 or (at > 0 and not before_cursor[at - 1].isspace()):
        return None
    partial = before_cursor[at + 1 :]
    if any(c.isspace() for c in partial):
        return None
    items = path_items(partial, cwd)
    return Completion(before_cursor[at:], items) if items else None


def path_items(partial: str, cwd: Path) -> list[Item]:
    folder, _, base = partial.rpartition("/")
    directory = (cwd / folder) if folder else cwd
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return []
    found: list[tuple[bool, str]] = []
    for entry in entries:
        name = entry.name
        if not name.startswith(base) or (name.startswith(".") and not base.startswith(".")):
            continue
        try:
            is_dir = entry.is_dir()
        except OSError:
            continue
        if is_dir and name in _SKIP_DIRS:
            continue
        found.append((not is_dir, name))
    found.sort()
    prefix = f"{folder}/" if folder else ""
    items: list[Item] = []
    for is_file, name in found[:MAX_ITEMS]:
        rel = prefix + name + ("" if is_file else "/")
        # A file is finished (a space follows); a folder stays open for the next level.
        items.append(Item(f"@{rel}" + (" " if is_file else ""), rel))
    return items
