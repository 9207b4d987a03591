"""Parse a shell command line into what it would run: simple commands, redirections, and
whether anything in it is out of sight.

Parsing uses tree-sitter-bash (the grammar Codex uses for the same job): a maintained,
complete bash grammar with wheels, which sees through substitutions, here-docs, functions
and compound commands where a regex or `shlex` would not. Rebuilding a bash parser by hand
is exactly how the old string matcher got `rm -fr` and `$(rm …)` wrong.

What comes out (`parse_command_line`):

- every simple command anywhere in the line (pipelines, lists, `$(…)`, backticks, `<(…)`,
  `>(…)`, subshells, `{ …; }`, `if/for/while/case`, function bodies, here-doc bodies), with
  `FOO=1 cmd` assignments split off and the name normalised (`/bin/rm`, `\\rm`, `'rm'` → `rm`);
- wrappers unwrapped: `env`, `sudo`, `doas`, `nice`, `nohup`, `timeout`, `time`, `command`,
  `builtin`, `exec`, `stdbuf`, `ionice`, `setsid`, `chroot`, `xargs` and `find -exec` yield
  both the wrapper and the command they run; `bash -c`/`sh -c`/… parse their string
  recursively (to `MAX_DEPTH`);
- every redirection, with whether it writes (`>`, `N>`, `>>`, `&>`, `&>>`, `>|`, `>&file`;
  duplications like `2>&1` and targets `/dev/null`, `/dev/stdout`, `/dev/stderr` do not);
- `opaque` reasons: anything whose effect cannot be read from the text (a parse error,
  `eval`, `source`/`.`, a command name that is a variable or glob, a shell reading a script
  or stdin, a wrapper flag this module does not know). An opaque line is never auto-allowed.
"""

from __future__ import annotations

import codecs
import os
import re
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache

import tree_sitter
import tree_sitter_bash

from skipjack.safety.command_line import ParsedLine, Redirect, SimpleCommand, normalize_name

__all__ = ["ParsedLine", "Redirect", "SimpleCommand", "normalize_name", "parse_command_line"]

MAX_DEPTH = 4
"""How deep `bash -c "bash -c '…'"` is followed before the line counts as opaque."""

SHELLS = frozenset({"bash", "sh", "zsh", "dash", "ksh", "mksh", "ash", "fish", "busybox"})
OPAQUE_COMMANDS = {
    "eval": "eval runs a string as code",
    "source": "source runs a file as code",
    ".": "`.` runs a file as code",
    "trap": "trap runs a string as code",
    "watch": "watch runs a string through a shell",
    "su": "su runs a string through a shell",
    "script": "script runs a string through a shell",
    "alias": "aliases change what later words mean",
    "enable": "enable changes what builtins mean",
}
# Programs that run another program after options this module does not parse: what they run
# cannot be read, so a line using one is opaque rather than judged by a guess.
OPAQUE_RUNNERS = frozenset(
    {"strace", "ltrace", "flock", "unshare", "nsenter", "chrt", "taskset", "prlimit", "systemd-run", "runuser",
     "firejail", "proot", "fakeroot", "faketime", "unbuffer", "parallel", "catchsegv", "torsocks", "proxychains",
     "proxychains4", "pkexec", "sg", "newgrp", "systemd-nspawn"}
)  # fmt: skip
# git subcommands, and their options, that run a command given as a string.
_GIT_RUNS: dict[str, re.Pattern[str]] = {
    "submodule": re.compile(r"^foreach$"),
    "bisect": re.compile(r"^run$"),
    "rebase": re.compile(r"^(?:-\w*x\w*|--exec(?:=.*)?)$"),
    "difftool": re.compile(r"^(?:-x|--extcmd(?:=.*)?)$"),
    "filter-branch": re.compile(r""),
    "filter-repo": re.compile(r""),
    "fetch": re.compile(r"^--upload-pack(?:=.*)?$"),
    "clone": re.compile(r"^(?:-u|--upload-pack(?:=.*)?)$"),
    "ls-remote": re.compile(r"^--upload-pack(?:=.*)?$"),
    "push": re.compile(r"^--receive-pack(?:=.*)?$"),
}
CHANGES_DIR = frozenset({"cd", "pushd", "popd"})
HARMLESS_TARGETS = frozenset({"/dev/null", "/dev/stdout", "/dev/stderr"})
_WRITE_OPS = frozenset({">", ">>", "&>", "&>>", ">|"})
_GLOB = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class _Word:
    value: str | None
    raw: str

    @property
    def text(self) -> str:
        return self.value if self.value is not None else self.raw


@dataclass
class _Acc:
    commands: list[SimpleCommand] = field(default_factory=list)
    redirects: list[Redirect] = field(default_factory=list)
    opaque: list[str] = field(default_factory=list)
    changes_dir: bool = False
    assignments: list[str] = field(default_factory=list)


def _text(node: tree_sitter.Node) -> str:
    # Lines are valid UTF-8 by the time they are parsed (see `_parse_into`); "replace" only
    # keeps a node that would cut a character from raising.
    return (node.text or b"").decode("utf-8", "replace")


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_UNENCODABLE = re.compile("[\ud800-\udfff]")


@cache
def _parser() -> tree_sitter.Parser:
    return tree_sitter.Parser(tree_sitter.Language(tree_sitter_bash.language()))


def parse_command_line(line: str) -> ParsedLine:
    acc = _Acc()
    try:
        _parse_into(line, acc, via=(), depth=0)
    except RecursionError:  # thousands of nested parentheses: too deep to read, so opaque
        acc.opaque.append("the command nests too deeply to check")
    return ParsedLine(
        tuple(acc.commands),
        tuple(acc.redirects),
        tuple(dict.fromkeys(acc.opaque)),
        acc.changes_dir,
        tuple(acc.assignments),
    )


def _parse_into(line: str, acc: _Acc, via: tuple[str, ...], depth: int) -> None:
    if depth > MAX_DEPTH:
        acc.opaque.append(f"shell strings nested deeper than {MAX_DEPTH}")
        return
    if "\x00" in line:
        acc.opaque.append("a NUL byte in the command")
        return
    if _UNENCODABLE.search(line):
        acc.opaque.append("a lone surrogate (text that is not Unicode) in the command")
        return
    if _ASTRAL.search(line):
        # tree-sitter-bash 0.25 crashes the process (SIGSEGV, not an exception) on some lines
        # holding characters beyond U+FFFF (emoji among them): such a line is not parsed, so a
        # model cannot kill skipjack with one, and is never allowed by a rule.
        acc.opaque.append("characters beyond U+FFFF (emoji) the parser cannot safely read")
        return
    tree = _parser().parse(line.encode("utf-8"))
    if tree.root_node.has_error:
        acc.opaque.append("the command does not parse as bash")
    _walk(tree.root_node, acc, via, depth)


def _walk(node: tree_sitter.Node, acc: _Acc, via: tuple[str, ...], depth: int) -> None:
    kind = node.type
    if kind == "command":
        _command(node, acc, via, depth)
        return
    if kind in ("declaration_command", "unset_command"):
        words = [_Word(_text(c), _text(c)) for c in node.children]
        name = words[0].text if words else kind
        acc.commands.append(SimpleCommand(argv=(name, *(w.text for w in words[1:])), via=via))
    elif kind == "variable_assignment":
        acc.assignments.append(_text(node))
    elif kind == "file_redirect":
        acc.redirects.append(_redirect(node))
    elif kind == "heredoc_redirect":
        _heredoc(node, acc)  # reads only; a nested file_redirect or substitution is found below
    elif kind == "ERROR":
        acc.opaque.append("the command does not parse as bash")
    for child in node.children:
        _walk(child, acc, via, depth)


def _command(node: tree_sitter.Node, acc: _Acc, via: tuple[str, ...], depth: int) -> None:
    assignments: list[str] = []
    words: list[_Word] = []
    for child in node.children:
        if child.type == "variable_assignment":
            acc.assignments.append(_text(child))
            assignments.append(_text(child))
        elif child.type == "command_name":
            words.append(_word(child.children[0] if child.children else child))
        elif child.is_named and child.type not in ("file_redirect", "herestring_redirect", "heredoc_redirect"):
            words.append(_word(child))
        # Substitutions anywhere in the command (name, arguments, assignments, redirections)
        # run too, and redirections may sit between the arguments.
        _inside_command(child, acc, via, depth)
    if words:
        _simple(words, tuple(assignments), acc, via, depth)


def _inside_command(node: tree_sitter.Node, acc: _Acc, via: tuple[str, ...], depth: int) -> None:
    if node.type in ("command_substitution", "process_substitution"):
        for inner in node.children:
            _walk(inner, acc, via, depth)
        return
    if node.type == "file_redirect":
        acc.redirects.append(_redirect(node))
    elif node.type == "heredoc_redirect":
        _heredoc(node, acc)
    elif node.type == "ERROR":
        acc.opaque.append("the command does not parse as bash")
    for child in node.children:
        _inside_command(child, acc, via, depth)


def _git_runs_a_string(args: list[str]) -> bool:
    # Any word may be the subcommand: git's global options take values (`-C dir`).
    for i, word in enumerate(args):
        pattern = _GIT_RUNS.get(word)
        if pattern is not None and (not pattern.pattern or any(pattern.match(a) for a in args[i + 1 :])):
            return True
    return False


def _heredoc(node: tree_sitter.Node, acc: _Acc) -> None:
    # The grammar parses `$(…)` in a here-doc body but not backticks, which bash runs too
    # (unless the delimiter is quoted): a body holding one cannot be read.
    start = next((_text(c) for c in node.children if c.type == "heredoc_start"), "")
    if any(q in start for q in "'\"\\"):
        return
    if any("`" in _text(c) for c in node.children if c.type == "heredoc_body"):
        acc.opaque.append("a here-doc with backticks")


def _simple(words: list[_Word], assignments: tuple[str, ...], acc: _Acc, via: tuple[str, ...], depth: int) -> None:
    """Record one simple command; unwrap it if it runs another."""
    if any(_BARE_NEWLINE.search(w.raw) for w in words if not w.raw.startswith(("'", '"', "$'", '$"'))):
        # tree-sitter-bash reads `true<newline>\\rm -rf x` as one command whose argument is
        # `<newline>rm`; bash runs `rm -rf x` on its own line. A line break inside an unquoted
        # word is never one word to bash, so the parse is wrong and cannot be trusted.
        acc.opaque.append("a line break inside a word (the parser may have misread the line)")
    head = words[0]
    if head.value is None:
        acc.opaque.append(f"the command name {head.raw!r} is decided at run time")
        acc.commands.append(SimpleCommand(argv=tuple(w.text for w in words), assignments=assignments, via=via))
        return
    name = normalize_name(head.value)
    if not name or _GLOB.search(name):
        acc.opaque.append(f"the command name {head.raw!r} is a pattern")
    argv = (name, *(w.text for w in words[1:]))
    dynamic = any(_dynamic(w) for w in words[1:])
    if name in OPAQUE_COMMANDS:
        acc.opaque.append(OPAQUE_COMMANDS[name])
    if name in OPAQUE_RUNNERS:
        acc.opaque.append(f"{name} runs a program this check does not parse out")
    if name == "git" and _git_runs_a_string([w.text for w in words[1:]]):
        acc.opaque.append("git runs a command given as a string")
    if name in CHANGES_DIR:
        acc.changes_dir = True
    unwrap = _UNWRAPPERS.get(name)
    if unwrap is None:
        acc.commands.append(SimpleCommand(argv, assignments, via, dynamic=dynamic))
        return
    acc.commands.append(SimpleCommand(argv, assignments, via, wrapper=name != "find", dynamic=dynamic))
    unwrap(words[1:], acc, (*via, name), depth)


# -- wrappers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Opts:
    """A getopt-style option spec: which short letters and long names take a value."""

    short_flag: str = ""
    short_arg: str = ""
    long_flag: frozenset[str] = frozenset()
    long_arg: frozenset[str] = frozenset()
    numeric: bool = False
    """`-10` is an option (nice)."""


def _split_options(args: list[_Word], opts: _Opts) -> tuple[list[tuple[str, str | None]], int] | str:
    """Options up to the first operand (wrappers stop there, like getopt with `+`): the
    (option, value) pairs and the operand's index, or a reason the line is opaque. Unknown
    options make it opaque: guessing whether one takes a value would guess the command."""
    found: list[tuple[str, str | None]] = []
    i = 0
    while i < len(args):
        word = args[i]
        text = word.value
        if text is None:
            return f"an option decided at run time ({word.raw})"
        if text == "--":
            return found, i + 1
        if text.startswith("--"):
            name, eq, value = text[2:].partition("=")
            full = _long_name(name, opts.long_flag | opts.long_arg)
            if full is None:
                return f"an option this check does not know: {text}"
            if full in opts.long_arg and not eq:
                i += 1
                if i >= len(args) or args[i].value is None:
                    return f"a value of {text} decided at run time"
                value = args[i].value or ""
            found.append((full, value if (eq or full in opts.long_arg) else None))
        elif text.startswith("-") and len(text) > 1:
            if opts.numeric and text[1:].isdigit():
                found.append((text[1:], None))
                i += 1
                continue
            j = 1
            while j < len(text):
                letter = text[j]
                if letter in opts.short_arg:
                    value = text[j + 1 :]
                    if not value:
                        i += 1
                        if i >= len(args) or args[i].value is None:
                            return f"a value of -{letter} decided at run time"
                        value = args[i].value or ""
                    found.append((letter, value))
                    break
                if letter not in opts.short_flag:
                    return f"an option this check does not know: -{letter}"
                found.append((letter, None))
                j += 1
        else:
            return found, i
        i += 1
    return found, i


def _long_name(name: str, known: frozenset[str]) -> str | None:
    # GNU getopt accepts any unambiguous prefix (`--recur` = `--recursive`).
    if name in known:
        return name
    matches = [k for k in known if k.startswith(name)] if name else []
    return matches[0] if len(matches) == 1 else None


def _run_rest(
    args: list[_Word],
    opts: _Opts,
    acc: _Acc,
    via: tuple[str, ...],
    depth: int,
    *,
    skip: int = 0,
    default: str | None = None,
    no_run: str = "",
) -> None:
    """Parse the wrapper's options, skip `skip` operands (`timeout`'s duration), and record
    the command that runs after them (`default` when none is given)."""
    parsed = _split_options(args, opts)
    if isinstance(parsed, str):
        acc.opaque.append(f"{via[-1]}: {parsed}")
        return
    found, start = parsed
    if any(opt in no_run for opt, _ in found if len(opt) == 1):
        return  # e.g. `command -v x` only looks x up
    rest = args[start + skip :]
    if rest:
        _simple(rest, (), acc, via, depth)
    elif default is not None and len(args) >= start + skip:
        _simple([_Word(default, default)], (), acc, via, depth)


_CLEARED_BY_ENV_I = ["GIT_CONFIG_COUNT="]
"""What `env -i` is recorded as unsetting: the variable that carries the git protection the
bash tool sets (`safe.bareRepository`); the rest of what it clears only takes power away."""


def _env(args: list[_Word], acc: _Acc, via: tuple[str, ...], depth: int) -> None:
    opts = _Opts(
        short_flag="i0v",
        short_arg="uCS",
        long_flag=frozenset({"ignore-environment", "null", "debug"}),
        long_arg=frozenset({"unset", "chdir", "split-string"}),
    )
    parsed = _split_options(args, opts)
    if isinstance(parsed, str):
        acc.opaque.append(f"env: {parsed}")
        return
    found, start = parsed
    # Unsetting a variable changes what a program does as much as setting it (`env -u
    # GIT_CONFIG_COUNT git status` drops the protection the bash tool gives git), so an unset
    # is recorded as an assignment to nothing; `-i` unsets them all, the bash tool's too.
    cleared: list[str] = []
    for opt, value in found:
        if opt in ("C", "chdir"):
            acc.changes_dir = True
        if opt in ("u", "unset") and value:
            cleared.append(f"{value}=")
        if opt in ("i", "ignore-environment"):
            cleared += _CLEARED_BY_ENV_I
        if opt in ("S", "split-string"):
            try:
                split = shlex.split(value or "")
            except ValueError:
                acc.opaque.append("env -S: a string that does not split")
                return
            args = [_Word(s, s) for s in split] + args[start:]
            start = 0
    rest = list(args[start:])
    assignments = cleared
    if rest and rest[0].value == "-":  # `env - cmd` is `env -i cmd`
        rest.pop(0)
        assignments += _CLEARED_BY_ENV_I
    while rest and rest[0].value is not None and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", rest[0].value or ""):
        assignments.append(rest.pop(0).text)
    if rest and rest[0].value == "-":
        rest.pop(0)
        assignments += _CLEARED_BY_ENV_I
    if rest:
        _simple(rest, tuple(assignments), acc, via, depth)


_Unwrap = Callable[[list[_Word], _Acc, tuple[str, ...], int], None]


def _simple_wrapper(opts: _Opts, *, skip: int = 0, default: str | None = None, no_run: str = "") -> _Unwrap:
    def unwrap(args: list[_Word], acc: _Acc, via: tuple[str, ...], depth: int) -> None:
        _run_rest(args, opts, acc, via, depth, skip=skip, default=default, no_run=no_run)

    return unwrap


def _sudo(args: list[_Word], acc: _Acc, via: tuple[str, ...], depth: int) -> None:
    opts = _Opts(
        short_flag="AbEHKknPSilsv",
        short_arg="CDghpRrtTUu",
        long_flag=frozenset({"askpass", "background", "preserve-env", "set-home", "login", "remove-timestamp",
                             "reset-timestamp", "non-interactive", "preserve-groups", "stdin", "shell", "validate"}),
        long_arg=frozenset({"close-from", "chdir", "group", "host", "prompt", "chroot", "role", "type",
                            "command-timeout", "other-user", "user"}),
    )  # fmt: skip
    parsed = _split_options(args, opts)
    if isinstance(parsed, str):
        acc.opaque.append(f"{via[-1]}: {parsed}")
        return
    found, start = parsed
    if start >= len(args):
        if any(opt in ("i", "s", "login", "shell") for opt, _ in found):
            acc.opaque.append(f"{via[-1]} starts a shell reading commands")
        return
    if any(opt in ("D", "chdir") for opt, _ in found):
        acc.changes_dir = True
    _simple(list(args[start:]), (), acc, via, depth)


def _xargs(args: list[_Word], acc: _Acc, via: tuple[str, ...], depth: int) -> None:
    opts = _Opts(
        short_flag="0prtxoile",
        short_arg="adEILnPs",
        long_flag=frozenset({"null", "interactive", "verbose", "exit", "no-run-if-empty", "open-tty",
                             "replace", "max-lines", "eof", "show-limits"}),
        long_arg=frozenset({"arg-file", "delimiter", "max-args", "max-procs", "max-chars", "process-slot-var"}),
    )  # fmt: skip
    _run_rest(args, opts, acc, via, depth, default="echo")


def _find(args: list[_Word], acc: _Acc, via: tuple[str, ...], depth: int) -> None:
    i = 0
    while i < len(args):
        if args[i].value in ("-exec", "-execdir", "-ok", "-okdir"):
            j = i + 1
            while j < len(args) and args[j].value not in (";", "+"):
                j += 1
            inner = args[i + 1 : j]
            if not inner:
                acc.opaque.append("find -exec without a command")
            else:
                _simple(list(inner), (), acc, (*via[:-1], f"find {args[i].value}"), depth)
            i = j
        i += 1


def _shell(args: list[_Word], acc: _Acc, via: tuple[str, ...], depth: int) -> None:
    """`bash -c STRING`: parse STRING as a command line. A shell given a script or stdin
    runs code this check cannot see."""
    has_c = False
    i = 0
    name = via[-1]
    while i < len(args):
        text = args[i].value
        if text is None:
            acc.opaque.append(f"{name}: an option decided at run time")
            return
        if text in ("-o", "+o", "-O", "+O"):
            i += 2
            continue
        if text in ("--rcfile", "--init-file"):
            acc.opaque.append(f"{name} {text} runs a file")
            return
        if text == "--":
            i += 1
            break
        if text.startswith("--"):
            i += 1
            continue
        if len(text) > 1 and text[0] in "-+":
            if "c" in text[1:]:
                has_c = True
            if "s" in text[1:] and text[0] == "-":
                acc.opaque.append(f"{name} -s reads commands from stdin")
                return
            i += 1
            continue
        break
    if name == "busybox" and not has_c:
        if i < len(args):
            _simple(list(args[i:]), (), acc, via, depth)
        return
    if not has_c:
        what = "a script file" if i < len(args) else "commands from stdin"
        acc.opaque.append(f"{name} runs {what}")
        return
    if i >= len(args):
        acc.opaque.append(f"{name} -c without a command string")
        return
    script = args[i].value
    if script is None:
        acc.opaque.append(f"{name} -c with a command string decided at run time")
        return
    _parse_into(script, acc, (*via[:-1], f"{name} -c"), depth + 1)


_UNWRAPPERS: dict[str, _Unwrap] = {
    "env": _env,
    "sudo": _sudo,
    "doas": _simple_wrapper(_Opts(short_flag="Lns", short_arg="Cu")),
    "nice": _simple_wrapper(_Opts(short_arg="n", long_arg=frozenset({"adjustment"}), numeric=True)),
    "nohup": _simple_wrapper(_Opts()),
    "timeout": _simple_wrapper(
        _Opts(
            short_flag="v",
            short_arg="sk",
            long_flag=frozenset({"preserve-status", "foreground", "verbose"}),
            long_arg=frozenset({"signal", "kill-after"}),
        ),
        skip=1,
    ),
    # GNU time's `-o FILE` writes a file, so it is left out and makes the line opaque.
    "time": _simple_wrapper(_Opts(short_flag="pvqa", short_arg="f", long_arg=frozenset({"format"}))),
    "command": _simple_wrapper(_Opts(short_flag="pvV"), no_run="vV"),
    "builtin": _simple_wrapper(_Opts()),
    "exec": _simple_wrapper(_Opts(short_flag="cl", short_arg="a")),
    "stdbuf": _simple_wrapper(_Opts(short_arg="ioe", long_arg=frozenset({"input", "output", "error"}))),
    "ionice": _simple_wrapper(_Opts(short_flag="t", short_arg="cn", long_arg=frozenset({"class", "classdata"}))),
    "setsid": _simple_wrapper(_Opts(short_flag="cfw", long_flag=frozenset({"ctty", "fork", "wait"}))),
    "chroot": _simple_wrapper(
        _Opts(long_flag=frozenset({"skip-chdir"}), long_arg=frozenset({"userspec", "groups"})), skip=1, default="sh"
    ),
    "xargs": _xargs,
    "find": _find,
    **{shell: _shell for shell in SHELLS},
}


# -- words and redirections -------------------------------------------------------------

_UNKNOWN = frozenset(
    {"simple_expansion", "expansion", "command_substitution", "process_substitution", "arithmetic_expansion",
     "brace_expression"}
)  # fmt: skip


def _word(node: tree_sitter.Node) -> _Word:
    raw = _text(node)
    return _Word(_value(node), raw)


def _value(node: tree_sitter.Node) -> str | None:
    """The word's value after quote removal, or None when an expansion decides it."""
    kind = node.type
    text = _text(node)
    if kind in _UNKNOWN:
        return None
    if kind == "word" or kind == "number":
        if "$" in text or "`" in text:
            return None
        return _unescape_unquoted(text)
    if kind == "raw_string":
        return text[1:-1]
    if kind == "ansi_c_string":
        return _ansi_c(text[2:-1])
    if kind == "string":
        parts = []
        for child in node.children:
            if child.type == '"':
                continue
            if child.type != "string_content":
                return None
            parts.append(_unescape_double(_text(child)))
        return "".join(parts)
    if kind == "concatenation":
        values = [_value(c) for c in node.children]
        if any(v is None for v in values):
            return None
        return "".join(v for v in values if v is not None)
    return None


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_BARE_NEWLINE = re.compile(r"(?<!\\)\n")
"""A newline not escaped by a backslash (`\\<newline>` continues the line)."""

_BRACES = re.compile(r"\{[^{}]*(?:,|\.\.)[^{}]*\}")
_QUOTED = re.compile(r"\\.|'[^']*'|\"(?:[^\"\\]|\\.)*\"", re.S)


def _dynamic(word: _Word) -> bool:
    if word.value is None:
        return True
    bare = _QUOTED.sub("", word.raw)
    return bool(_GLOB.search(bare) or _BRACES.search(bare))


def _unescape_unquoted(text: str) -> str:
    return re.sub(r"\\(\n|.)", lambda m: "" if m.group(1) == "\n" else m.group(1), text, flags=re.S)


def _unescape_double(text: str) -> str:
    return re.sub(r"\\([$`\"\\\n])", lambda m: "" if m.group(1) == "\n" else m.group(1), text)


def _ansi_c(body: str) -> str | None:
    try:
        return codecs.decode(body.encode("latin-1", "backslashreplace"), "unicode_escape")
    except (UnicodeDecodeError, ValueError):
        return None


def _redirect(node: tree_sitter.Node) -> Redirect:
    fd: str | None = None
    op = ""
    target: str | None = None
    for child in node.children:
        if child.type == "file_descriptor":
            fd = _text(child)
        elif not child.is_named:
            op = _text(child)
        elif target is None and op:
            # A glob in a target expands when it matches one file (`> .gi?/config`): unknown.
            word = _word(child)
            target = None if _dynamic(word) else word.value
    if op in (">&", "<&", ">&-", "<&-") and (target is None or target == "-" or target.isdigit()):
        if target is None and op in (">&", "<&"):
            return Redirect(op, fd, None, writes=op == ">&")  # `>&$X`: a file or a descriptor
        return Redirect(op, fd, target, writes=False)
    if op == ">&":
        op = "&>"  # `>&file` sends both streams to the file
    if target is not None and target.startswith(("/dev/tcp/", "/dev/udp/")):
        return Redirect(op, fd, target, writes=True)  # bash opens a network connection
    writes = op in _WRITE_OPS and (target is None or os.path.normpath(target) not in HARMLESS_TARGETS)
    return Redirect(op, fd, target, writes=writes)
