"""Just enough shell parsing to judge a command line: split it into simple commands and
see whether any part could write. Hand-written because no library answers "is this
command line read-only"; `shlex` does the quoting."""

from __future__ import annotations

import re
import shlex

# Operators that join simple commands; each side is judged on its own.
_SEPARATORS = re.compile(r"\s*(?:&&|\|\||[;&|\n])\s*")
# Constructs whose effect can't be judged from the text: substitutions and redirections.
_OPAQUE = re.compile(r"\$\(|`|<\(|>\(|(?<![0-9&])>|>>|\beval\b|\bexec\b")

READ_ONLY_COMMANDS = frozenset(
    {"ls", "cat", "head", "tail", "wc", "pwd", "echo", "rg", "grep", "tree", "file", "stat", "du", "df",
     "which", "whoami", "date", "uname", "env", "printenv", "sort", "uniq", "cut", "diff", "less", "more",
     "basename", "dirname", "realpath", "true", "test"}
)  # fmt: skip
READ_ONLY_GIT = frozenset({"status", "log", "diff", "show", "branch", "blame", "ls-files", "rev-parse", "remote"})
_FIND_WRITES = frozenset({"-delete", "-exec", "-execdir", "-ok", "-okdir", "-fprint", "-fprintf", "-fls"})


def split_commands(command: str) -> list[str] | None:
    """The simple commands of a command line, or None when it has constructs (command
    substitution, redirection to a file) whose effect can't be read from the text."""
    if _OPAQUE.search(command):
        return None
    parts = [p.strip() for p in _SEPARATORS.split(command) if p.strip()]
    return parts or None


def is_read_only(command: str) -> bool:
    parts = split_commands(command)
    return parts is not None and all(_read_only_simple(p) for p in parts)


def _read_only_simple(part: str) -> bool:
    try:
        words = shlex.split(part)
    except ValueError:
        return False
    if not words:
        return True
    name = words[0]
    if name == "git":
        sub = next((w for w in words[1:] if not w.startswith("-")), None)
        return sub in READ_ONLY_GIT and "--output" not in " ".join(words)
    if name == "find":
        return not any(w in _FIND_WRITES for w in words)
    if name == "sed":
        return "-i" not in words and not any(w.startswith("--in-place") for w in words)
    return name in READ_ONLY_COMMANDS
