"""What a `bash:` rule pattern means, matched against one parsed simple command.

A pattern is words, split like a shell line (`shlex`):

- the first word names the program, normalised like the command (`/bin/rm` = `rm`); it may
  be a glob (`*` matches every program);
- words starting with `-` are flags the command must have, in any order, spelling and
  combination: `rm -rf *` matches `rm -fr x`, `rm -r -f x`, `rm -Rf x`, `rm -rfv x`,
  `rm --recursive --force x` and `rm --recur --forc x` (GNU abbreviations), because short
  and long spellings of the same flag are one flag for the programs in `_FLAG_NAMES`;
- the other words are the command's non-flag arguments, in order from the first, each a
  glob over one argument (`git status *` needs `status` as the first argument, so
  `git -C /elsewhere status` does not match);
- a last word `*`, or a last word ending in `*`, lets any further arguments and flags
  follow. Without it the command must have exactly the pattern's flags and arguments
  (`bash: ls -la` matches `ls -al`, not `ls -la /etc`).

Redirections are not part of a pattern: a writing redirection is judged as a file write
to its target (see `policy`).
"""

from __future__ import annotations

import fnmatch
import shlex

import msgspec

from skipjack.safety.command_line import SimpleCommand, normalize_name

# Short flags that are spellings of a long one, for the programs rules most often name.
_FLAG_NAMES: dict[str, dict[str, str]] = {
    "rm": {"r": "recursive", "R": "recursive", "f": "force", "i": "interactive", "v": "verbose", "d": "dir"},
    "cp": {"r": "recursive", "R": "recursive", "f": "force", "a": "archive", "v": "verbose", "n": "no-clobber"},
    "mv": {"f": "force", "v": "verbose", "n": "no-clobber", "i": "interactive"},
    "chmod": {"R": "recursive", "v": "verbose", "f": "silent"},
    "chown": {"R": "recursive", "v": "verbose", "f": "silent"},
    "chgrp": {"R": "recursive", "v": "verbose", "f": "silent"},
    "ln": {"s": "symbolic", "f": "force", "v": "verbose"},
    "mkdir": {"p": "parents", "v": "verbose"},
    "git": {"f": "force", "d": "delete", "a": "all", "m": "message", "n": "dry-run", "q": "quiet", "v": "verbose"},
    "sed": {"i": "in-place", "n": "quiet", "e": "expression", "E": "regexp-extended"},
    "curl": {"o": "output", "O": "remote-name", "X": "request", "d": "data"},
    "sort": {"o": "output", "r": "reverse", "u": "unique"},
}
_LONG_ONLY: dict[str, set[str]] = {
    "rm": {"no-preserve-root", "preserve-root", "one-file-system"},
    "git": {"force-with-lease", "hard", "soft", "mixed"},
}


# Wrappers that only change how their command runs: the command they run is judged instead.
# `sudo`, `doas` and `chroot` change who or where, so they need a rule of their own.
TRANSPARENT_WRAPPERS = frozenset(
    {"env", "nice", "nohup", "timeout", "time", "command", "builtin", "exec", "stdbuf", "ionice", "setsid", "xargs",
     "bash", "sh", "zsh", "dash", "ksh", "mksh", "ash", "fish", "busybox"}
)  # fmt: skip


class CommandPattern(msgspec.Struct, frozen=True):
    """A parsed `bash(...)` rule: a program, its flags and arguments."""

    name: str
    flags: frozenset[str]
    args: tuple[str, ...]
    open_ended: bool

    def matches(self, command: SimpleCommand) -> bool:
        if not fnmatch.fnmatchcase(command.name, self.name):
            return False
        flags, args = split_flags(command.name, command.argv[1:])
        if not self.flags <= flags:
            return False
        if len(args) < len(self.args):
            return False
        if not all(fnmatch.fnmatchcase(a, p) for a, p in zip(args, self.args, strict=False)):
            return False
        if self.open_ended:
            return True
        return flags == self.flags and len(args) == len(self.args)

    def could_match(self, command: SimpleCommand) -> bool:
        """The command might match once its run-time arguments are known: same program, and
        some argument comes from an expansion or glob the pattern's words could depend on."""
        if not command.dynamic or not fnmatch.fnmatchcase(command.name, self.name):
            return False
        return bool(self.flags or self.args) and not self.matches(command)


def compile_pattern(pattern: str) -> CommandPattern:
    """Raises ValueError for a pattern that does not split like a shell line."""
    words = shlex.split(pattern)
    if not words:
        return CommandPattern("*", frozenset(), (), open_ended=True)
    name = normalize_name(words[0])
    rest = words[1:]
    open_ended = not rest and name == "*"
    if rest and rest[-1].endswith("*"):
        open_ended = True
        if rest[-1] == "*":
            rest = rest[:-1]
    flags, args = split_flags(name, rest)
    return CommandPattern(name, flags, tuple(args), open_ended)


def split_flags(name: str, words: tuple[str, ...] | list[str]) -> tuple[frozenset[str], list[str]]:
    """The flags (canonical spellings: `--recursive`, or `-x` for a short flag with no known
    long name) and the other arguments, in order. After `--` everything is an argument."""
    names = _FLAG_NAMES.get(name, {})
    longs = set(names.values()) | _LONG_ONLY.get(name, set())
    flags: set[str] = set()
    args: list[str] = []
    rest_are_args = False
    for word in words:
        if rest_are_args or word == "-" or not word.startswith("-"):
            args.append(word)
        elif word == "--":
            rest_are_args = True
        elif word.startswith("--"):
            long = word[2:].split("=", 1)[0]
            matches = [k for k in longs if k.startswith(long)] if long not in longs else [long]
            flags.add("--" + (matches[0] if len(matches) == 1 else long))
        else:
            for letter in word[1:]:
                flags.add("--" + names[letter] if letter in names else "-" + letter)
    return frozenset(flags), args


def covers_line(patterns: list[CommandPattern], commands: tuple[SimpleCommand, ...] | list[SimpleCommand]) -> bool:
    """Every command of a parsed line matches one of `patterns` (a transparent wrapper such as
    `timeout` is judged by the command it runs, which is in the list too)."""
    return bool(commands) and all(
        (c.wrapper and c.name in TRANSPARENT_WRAPPERS) or any(p.matches(c) for p in patterns) for c in commands
    )
