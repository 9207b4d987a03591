"""Custom slash commands: markdown prompt templates that become `/name args`.

Front matter: `description`, `argument-hint`, `model`, `allowed-tools`. The body may use
`$ARGUMENTS` (everything after the name), `$1`..`$9` (shell-style words), `@path` (the file's
text) and `` !`command` `` (the command's output). Substitution happens once, left to right:
text that came from the arguments, a file or a command's output is never scanned again, so an
argument cannot smuggle in an include or a command.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from skipjack.extensions.frontmatter import FrontMatterError, names_field, read, text_field
from skipjack.extensions.names import check_name

RunShell = Callable[[str], Awaitable[str]]
"""A `!` command line → the text to put in its place (output, or why it did not run)."""
ReadInclude = Callable[[str], Awaitable[str]]
"""An `@path` → the text to put in its place (the file, or why it was not read)."""

_TOKEN = re.compile(r"!`(?P<shell>[^`\n]+)`|(?<![\w@`])@(?P<path>[\w./~-][^\s`]*)")
_INVOCATION = re.compile(r"\s*/([^\s/][^\s]*)(.*)\Z", re.DOTALL)
_ARG = re.compile(r"\$(ARGUMENTS|[1-9])")


@dataclass(frozen=True)
class CustomCommand:
    """A `/name` command defined by a markdown file."""

    name: str
    description: str
    body: str
    path: Path
    origin: str
    argument_hint: str | None = None
    model: str | None = None
    allowed_tools: tuple[str, ...] = ()


def load_command(path: Path, root: Path, origin: str) -> CustomCommand:
    """`root/git/commit.md` is `/git:commit`, as in Claude Code."""
    meta, body = read(path)
    relative = path.relative_to(root).with_suffix("")
    name = check_name(":".join(relative.parts))
    if not body.strip():
        raise FrontMatterError("the command's body (its prompt) is empty")
    return CustomCommand(
        name=name,
        description=" ".join((text_field(meta, "description") or _first_line(body)).split()),
        body=body,
        path=path,
        origin=origin,
        argument_hint=text_field(meta, "argument-hint"),
        model=text_field(meta, "model"),
        allowed_tools=tuple(names_field(meta, "allowed-tools") or ()),
    )


def split_invocation(text: str) -> tuple[str, str] | None:
    """`/name rest` → (name, rest); None when `text` is not a slash command."""
    m = _INVOCATION.match(text)
    return (m.group(1), m.group(2).strip()) if m else None


def substitute_arguments(template: str, arguments: str) -> str:
    try:
        words = shlex.split(arguments)
    except ValueError:  # an unbalanced quote: the user meant words, not a shell error
        words = arguments.split()

    def one(m: re.Match[str]) -> str:
        key = m.group(1)
        if key == "ARGUMENTS":
            return arguments
        index = int(key) - 1
        return words[index] if index < len(words) else ""

    return _ARG.sub(one, template)


async def expand(command: CustomCommand, arguments: str, *, run_shell: RunShell, read_include: ReadInclude) -> str:
    body = command.body.strip()
    out: list[str] = []
    position = 0
    for m in _TOKEN.finditer(body):
        out.append(substitute_arguments(body[position : m.start()], arguments))
        if m.group("shell") is not None:
            out.append(await run_shell(substitute_arguments(m.group("shell"), arguments)))
        else:
            out.append(await read_include(substitute_arguments(m.group("path"), arguments)))
        position = m.end()
    out.append(substitute_arguments(body[position:], arguments))
    text = "".join(out)
    if arguments and "$ARGUMENTS" not in body and not _ARG.search(body):
        # Claude Code's rule: a template that does not place its arguments gets them appended.
        text += f"\n\nARGUMENTS: {arguments}"
    return text


_CLAUDE_BASH = re.compile(r"\s*Bash\((.+)\)\s*\Z", re.IGNORECASE | re.DOTALL)
_SKIPJACK_BASH = re.compile(r"\s*bash\s*:\s*(.+?)\s*\Z", re.DOTALL)


def bash_patterns(allowed_tools: tuple[str, ...]) -> list[str]:
    """The command patterns `allowed-tools` grants a command's `!` lines: Claude Code's
    `Bash(git status:*)` (`git status *`) or skipjack's `bash: git diff *`. A bare `Bash` grants
    nothing here: a whole shell is for the approval policy to give."""
    out: list[str] = []
    for entry in allowed_tools:
        m = _CLAUDE_BASH.match(entry) or _SKIPJACK_BASH.match(entry)
        if m is None:
            continue
        pattern = m.group(1).strip()
        if pattern.endswith(":*"):
            pattern = pattern[:-2].rstrip() + " *"
        if pattern and pattern != "*":
            out.append(pattern)
    return out


def _first_line(body: str) -> str:
    for line in body.splitlines():
        if line.strip():
            return line.strip().lstrip("#").strip()[:100]
    return ""
