"""Config files: where they are, reading them with precise errors, writing them back."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import platformdirs
import tomli_w

USER_CONFIG = "config.toml"
PROJECT_DIR = ".skipjack"


class ConfigError(Exception):
    """A config file or setting skipjack cannot use; says where, as precisely as it knows."""

    def __init__(
        self,
        message: str,
        *,
        path: Path | str | None = None,
        key: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.key = key
        self.line = line
        self.column = column
        where = str(path) if path is not None else ""
        if where and line is not None:
            where += f":{line}" + (f":{column}" if column is not None else "")
        parts = [p for p in (where, key) if p]
        super().__init__(": ".join([*parts, message]))


def user_config_path(env: Mapping[str, str]) -> Path:
    """`$SKIPJACK_CONFIG_DIR/config.toml`, else the platform's user config dir (XDG on Linux)."""
    override = env.get("SKIPJACK_CONFIG_DIR")
    base = Path(override) if override else Path(platformdirs.user_config_dir("skipjack"))
    return base / USER_CONFIG


def find_repo_root(start: Path) -> Path | None:
    """The nearest directory at or above `start` holding `.git` (a directory, or a worktree's file)."""
    start = start.resolve()
    for d in (start, *start.parents):
        if (d / ".git").exists():
            return d
    return None


def dirs_from_root(cwd: Path, repo_root: Path | None) -> list[Path]:
    """The directories from the repository root down to cwd (just cwd outside a repository)."""
    cwd = cwd.resolve()
    if repo_root is None:
        return [cwd]
    root = repo_root.resolve()
    if cwd != root and root not in cwd.parents:
        return [cwd]
    chain = [cwd, *[p for p in cwd.parents if p == root or root in p.parents]]
    return list(reversed(chain))


def project_config_paths(cwd: Path, repo_root: Path | None) -> list[Path]:
    """Every `.skipjack/config.toml` from the repository root down to cwd, outermost first."""
    return [p for d in dirs_from_root(cwd, repo_root) if (p := d / PROJECT_DIR / USER_CONFIG).is_file()]


_TOML_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed table and the source text; malformed TOML raises ConfigError with line and column."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"not UTF-8 text ({e.reason} at byte {e.start})", path=path) from e
    except OSError as e:
        raise ConfigError(f"cannot read: {e.strerror or e}", path=path) from e
    try:
        return tomllib.loads(text), text
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        line: int | None = getattr(e, "lineno", None)
        col: int | None = getattr(e, "colno", None)
        if (m := _TOML_POS.search(msg)) is not None:
            line, col = int(m.group(1)), int(m.group(2))
            msg = msg[: m.start()]
        elif (m := _TOML_END.search(msg)) is not None:
            line, col = text.count("\n") + 1, len(text.rsplit("\n", 1)[-1]) + 1
            msg = msg[: m.start()] + " at end of file"
        msg = getattr(e, "msg", None) or msg
        raise ConfigError(f"invalid TOML: {msg}", path=path, line=line, column=col) from e


def locate_key(text: str, dotted: str) -> int | None:
    """Best-effort line of a dotted key in TOML source, for error messages (None if not found)."""
    parts = [p for p in re.split(r"\.|\[\d+\]", dotted) if p]
    if not parts:
        return None
    lines = text.splitlines()
    leaf = re.escape(parts[-1])
    table = parts[:-1]
    start = 0
    for i in range(len(table), 0, -1):
        header = re.compile(r"^\s*\[+\s*" + r"\s*\.\s*".join(re.escape(p) for p in table[:i]) + r"\s*\]+")
        hit = next((n for n, ln in enumerate(lines) if header.match(ln)), None)
        if hit is not None:
            start = hit
            break
    # `leaf = ...`, `a.b.leaf = ...`, or inside an inline table `{ leaf = ... }`.
    assign = re.compile(r"(^\s*(?:[\w\"'-]+\s*\.\s*)*|[{,]\s*)[\"']?" + leaf + r"[\"']?\s*=")
    for n in range(start, len(lines)):
        if assign.search(lines[n]):
            return n + 1
    return None


def write_toml(path: Path, data: Mapping[str, Any]) -> None:
    """Write atomically (a crash never leaves half a config). Comments are not preserved."""
    body = tomli_w.dumps(dict(data))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(body)
            f.flush()
            os.fsync(f.fileno())
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
