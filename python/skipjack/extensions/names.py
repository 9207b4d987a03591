"""The one spelling rule for command, skill and agent names."""

from __future__ import annotations

import re

from skipjack.extensions.frontmatter import FrontMatterError

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}")


def check_name(name: str) -> str:
    # A name becomes `/name` in a prompt and a line in the system prompt: no spaces, no slashes,
    # nothing that could pass for a path or break a line.
    if not _NAME.fullmatch(name):
        raise FrontMatterError(
            f"name {name!r} must be 1-64 letters, digits, `_`, `-`, `.` or `:`, starting with a letter or digit"
        )
    return name
