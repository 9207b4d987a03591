"""Config files: where they are, reading them with precise errors, writing them back.

Some imports are made where they are used: `mcp.prestart` reads the config first thing after
launch, which needs `tempfile` and `tomli_w` never (they write).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
    if override:
        return Path(override) / USER_CONFIG
    from skipjack.user_dirs import user_config_dir

    return user_config_dir() / USER_CONFIG


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """skipjack's data folder (sessions, spooled output, MCP logs and tokens)."""
    env = os.environ if env is None else env
    override = env.get("SKIPJACK_DATA_DIR")
    if override:
        return Path(override)
    from skipjack.user_dirs import user_data_dir

    return user_data_dir()


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


def config_present(path: Path) -> bool:
    """Whether something sits at a config path: a file, but also a directory, a FIFO or a dangling
    symlink, which `read_toml` then refuses by name instead of the config being silently ignored."""
    return os.path.lexists(path)


def project_config_paths(cwd: Path, repo_root: Path | None) -> list[Path]:
    """Every `.skipjack/config.toml` from the repository root down to cwd, outermost first."""
    return [p for d in dirs_from_root(cwd, repo_root) if config_present(p := d / PROJECT_DIR / USER_CONFIG)]


MAX_CONFIG_BYTES = 1024 * 1024
"""A config is a few kilobytes; a bigger file is a mistake, not something to parse."""
MAX_CONFIG_DEPTH = 32
"""Tables and arrays nested deeper than any setting needs. tomllib recurses once per level."""


class UnreadableFile(Exception):
    """A path that is not a readable regular file of acceptable size; the message says why."""


def read_regular_file(path: Path, limit: int) -> bytes:
    """The bytes of a regular file of at most `limit` bytes.

    Directories, FIFOs, sockets and devices are refused before anything blocks on them: the file
    is opened non-blocking (a FIFO without a writer would otherwise hang the open) and checked
    with fstat on the opened descriptor, so a swap between a check and the open cannot slip a
    device through. At most `limit + 1` bytes are read, so `/dev/zero` behind a symlink or a
    file growing while read cannot exhaust memory.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | getattr(os, "O_NOCTTY", 0))
    except IsADirectoryError as e:
        raise UnreadableFile("is a directory, not a file") from e
    except OSError as e:
        raise UnreadableFile(f"cannot be read ({e.strerror or e})") from e
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise UnreadableFile("is a directory, not a file")
        if not stat.S_ISREG(mode):
            raise UnreadableFile(f"is not a regular file (a {_kind(mode)})")
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, min(1024 * 1024, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise UnreadableFile(f"is larger than the {_size(limit)} limit")
        return b"".join(chunks)
    except OSError as e:
        raise UnreadableFile(f"cannot be read ({e.strerror or e})") from e
    finally:
        os.close(fd)


def _kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    return "special file"


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MiB" if n >= 1024 * 1024 else f"{n // 1024} KiB"


def nesting_depth(value: Any) -> int:
    """How deeply tables and arrays nest in a parsed document; iterative, so it cannot recurse."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_CONFIG_DEPTH:
            return deepest
        stack.extend((child, depth + 1) for child in children)
    return deepest


_TOML_POS = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


def read_toml(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed table and the source text; malformed TOML raises ConfigError with line and column."""
    try:
        text = read_regular_file(path, MAX_CONFIG_BYTES).decode("utf-8")
    except UnicodeDecodeError as e:
        raise ConfigError(f"not UTF-8 text ({e.reason} at byte {e.start})", path=path) from e
    except UnreadableFile as e:
        raise ConfigError(str(e), path=path) from e
    try:
        data = tomllib.loads(text)
    except RecursionError as e:
        # tomllib parses nested arrays and inline tables recursively.
        raise ConfigError(f"invalid TOML: nested more than {MAX_CONFIG_DEPTH} levels deep", path=path) from e
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
    if nesting_depth(data) > MAX_CONFIG_DEPTH:
        # Shallower than the recursion limit but still deeper than the recursive code that
        # validates and merges settings should ever be asked to walk.
        raise ConfigError(f"invalid TOML: nested more than {MAX_CONFIG_DEPTH} levels deep", path=path)
    return data, text


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
    import tempfile

    import tomli_w

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
