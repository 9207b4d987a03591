"""What the shell parser (`safety.commands`) makes of a command line: its simple commands
and redirections. Apart from the parser so that the approval policy, its rules and its
suggestions can be built without loading tree-sitter: a run parses its first command line
only when a command needs checking, long after its first request.
"""

from __future__ import annotations

import msgspec


class SimpleCommand(msgspec.Struct, frozen=True):
    """One program run by a command line."""

    argv: tuple[str, ...]
    """Name (normalised) and arguments; an argument whose value depends on an expansion is
    kept as its source text (`$HOME/x`)."""
    assignments: tuple[str, ...] = ()
    via: tuple[str, ...] = ()
    """The wrappers this command was found inside, outermost first (`sudo`, `bash -c`)."""
    wrapper: bool = False
    """True for the wrapper itself (`timeout 5` of `timeout 5 make`); its command follows."""
    dynamic: bool = False
    """Some argument is decided at run time (`$F`, `$(…)`, an unquoted glob such as `*`,
    which a file named `-rf` turns into a flag): the real argv may differ from `argv`."""

    @property
    def name(self) -> str:
        return self.argv[0]


class Redirect(msgspec.Struct, frozen=True):
    """One redirection of a command line."""

    op: str
    fd: str | None
    target: str | None
    """The file, or None when it depends on an expansion or a glob."""
    writes: bool


class ParsedLine(msgspec.Struct, frozen=True):
    """A command line taken apart for the policy."""

    commands: tuple[SimpleCommand, ...]
    redirects: tuple[Redirect, ...]
    opaque_reasons: tuple[str, ...]
    changes_dir: bool
    """The line changes directory (`cd`, `env -C`), so relative redirect targets are unknown."""
    assignments: tuple[str, ...] = ()
    """Every variable assignment anywhere in the line (`A=1 cmd`, `A=1;`, `export A=1`)."""

    @property
    def opaque(self) -> bool:
        return bool(self.opaque_reasons)

    @property
    def writes(self) -> tuple[Redirect, ...]:
        return tuple(r for r in self.redirects if r.writes)


def normalize_name(name: str) -> str:
    """`/usr/bin/rm` → `rm`: rules name programs, not where they are installed."""
    return name.rsplit("/", 1)[-1] if "/" in name.rstrip("/") else name
