"""Markdown with YAML front matter, the format Claude Code, opencode and Agent Skills share.

PyYAML's `safe_load` rather than a hand-written `key: value` reader: descriptions in the wild
use quoting, folded lines and lists (`tools: [read, grep]`), and safe_load builds plain data
only (no object tags).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from skipjack.config.files import UnreadableFile, read_regular_file

_NAMES = re.compile(r"[^\s,()]+(?:\([^)]*\))?")
MAX_FILE_BYTES = 256 * 1024
"""A command or skill file is prose for a model; far larger is a mistake, not an extension."""


class FrontMatterError(Exception):
    """The file cannot be used; the message says why (reported, never fatal)."""


def parse(text: str) -> tuple[dict[str, Any], str]:
    """(front matter, body). A file without a leading `---` line has no front matter."""
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return {}, text
    for i, line in enumerate(lines[1:], start=1):
        if line.strip() == "---":
            head, body = "".join(lines[1:i]), "".join(lines[i + 1 :])
            break
    else:
        raise FrontMatterError("the front matter opened with `---` is never closed")
    # Imported by the first file with front matter: a run without extensions does not pay for it.
    import yaml

    try:
        meta = yaml.safe_load(head) if head.strip() else {}
    except yaml.YAMLError as e:
        raise FrontMatterError(f"front matter is not valid YAML: {_one_line(e)}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise FrontMatterError("front matter must be a mapping of `key: value` lines")
    return {str(k): v for k, v in meta.items()}, body


def read(path: Path) -> tuple[dict[str, Any], str]:
    try:
        raw = read_regular_file(path, MAX_FILE_BYTES)
    except UnreadableFile as e:
        raise FrontMatterError(str(e)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise FrontMatterError(f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    return parse(text)


def text_field(meta: dict[str, Any], key: str) -> str | None:
    """A string field; a number or date YAML read is taken as written, a list or mapping is an error."""
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, list | dict):
        raise FrontMatterError(f"`{key}` must be text, not a {type(value).__name__}")
    return str(value).strip()


def names_field(meta: dict[str, Any], key: str) -> list[str] | None:
    """A list of names, written as a YAML list or as `a, b c` text (Claude Code accepts both)."""
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        # `Read, Grep, Bash(git diff:*)`: a pattern in parentheses may hold spaces.
        items = _NAMES.findall(value)
    elif isinstance(value, list) and all(isinstance(v, str) for v in value):
        items = [v.strip() for v in value if v.strip()]
    else:
        raise FrontMatterError(f"`{key}` must be a list of names")
    return items


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split())
