"""Project instructions: `AGENTS.md` (else `CLAUDE.md`) from the repository root down to cwd.

Outer files come first, so the instructions nearest the work read last. A fingerprint of every
candidate path (present or not) lets a caller notice an edit, a new file or a removal with a
few stat calls, without re-reading anything.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeAlias

import msgspec

from skipjack.config.files import UnreadableFile, dirs_from_root, find_repo_root, read_regular_file

MAX_INSTRUCTIONS_BYTES = 1024 * 1024
"""Instructions go into every request; a file bigger than this is a mistake (or a symlink to one)."""
NAMES = ("AGENTS.md", "CLAUDE.md")
"""In order of preference within one directory."""

Fingerprint: TypeAlias = tuple[tuple[str, tuple[int, int, int] | None], ...]


class Instructions(msgspec.Struct, frozen=True):
    """The project's instruction files (`AGENTS.md`, else `CLAUDE.md`) as the system prompt carries them."""

    text: str
    """The files' contents, each under a header naming it; empty when there are none."""
    files: list[Path]
    fingerprint: Fingerprint
    warnings: list[str] = msgspec.field(default_factory=list)


def load_instructions(cwd: Path, repo_root: Path | None = None) -> Instructions:
    dirs = _dirs(cwd, repo_root)
    top = dirs[0]
    parts: list[str] = []
    files: list[Path] = []
    warnings: list[str] = []
    for d in dirs:
        for name in NAMES:
            path = d / name
            if not path.is_file():
                continue
            try:
                body = read_regular_file(path, MAX_INSTRUCTIONS_BYTES).decode("utf-8", errors="replace").strip()
            except UnreadableFile as e:
                warnings.append(f"{path} {e}; not used")
                break
            files.append(path)
            if body:
                label = path.relative_to(top).as_posix()
                parts.append(f"## Instructions from {label}\n\n{body}")
            break
    return Instructions("\n\n".join(parts), files, _fingerprint(dirs), warnings)


def instructions_fingerprint(cwd: Path, repo_root: Path | None = None) -> Fingerprint:
    return _fingerprint(_dirs(cwd, repo_root))


class InstructionsWatcher:
    """Holds the loaded instructions and says when the files behind them changed."""

    def __init__(self, cwd: Path, repo_root: Path | None = None) -> None:
        self._dirs = _dirs(cwd, repo_root)
        self._cwd = cwd
        self._root = repo_root
        self.current = load_instructions(cwd, repo_root)

    def changed(self) -> bool:
        return _fingerprint(self._dirs) != self.current.fingerprint

    def reload(self) -> Instructions:
        self.current = load_instructions(self._cwd, self._root)
        return self.current

    def poll(self) -> Instructions | None:
        """The new instructions if the files changed since the last load, else None."""
        return self.reload() if self.changed() else None


def _dirs(cwd: Path, repo_root: Path | None) -> list[Path]:
    return dirs_from_root(cwd, repo_root if repo_root is not None else find_repo_root(cwd))


def _fingerprint(dirs: list[Path]) -> Fingerprint:
    out: list[tuple[str, tuple[int, int, int] | None]] = []
    for d in dirs:
        for name in NAMES:
            path = d / name
            try:
                st = os.stat(path)
            except OSError:
                out.append((str(path), None))
            else:
                out.append((str(path), (st.st_mtime_ns, st.st_size, st.st_ino)))
    return tuple(out)
