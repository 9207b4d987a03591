"""The approval policy: mode + allow/deny rules → allow, ask, or deny for each tool call.

Decisions, by mode (deny rules win over everything, in every mode):

| action                                    | plan          | ask   | auto-edit | yolo  |
|-------------------------------------------|---------------|-------|-----------|-------|
| read, grep, find, todo                    | allow         | allow | allow     | allow |
| read/grep/find of a credential store⁴     | ask           | ask   | ask       | allow |
| edit/write inside the project             | deny          | ask¹  | allow     | allow |
| edit/write in .git/ or .skipjack/         | deny          | ask   | ask       | allow |
| edit/write outside the project            | deny          | ask   | ask       | allow |
| shell, every command allowed by a rule²   | allow³        | allow | allow     | allow |
| shell, other                              | allow³        | ask   | ask       | allow |
| shell with `sandbox: false`               | deny          | ask   | ask       | allow |
| shell with `cwd` outside the project      | deny          | ask   | ask       | allow |
| web fetch and other tools                 | deny          | ask¹  | ask¹      | allow |
| MCP tool with `readOnlyHint`⁵             | allow         | ask¹  | ask¹      | allow |
| other MCP tools⁵                          | deny          | ask¹  | ask¹      | allow |

¹ unless an allow rule matches. ² and no writing redirection the write rules would not
allow, and nothing opaque (`eval`, `$CMD`, …; see `commands`). ³ only with an OS sandbox,
which runs plan-mode commands read-only. Without a sandbox (`sandboxed=False`) every shell
command asks in plan, ask and auto-edit: nothing would confine it, so an allow rule alone
does not run it. ⁴ `~/.ssh`, `~/.aws`, skipjack's own config, … (`secret_files`), or a search
whose root holds one: the sandbox hides the same list from commands. ⁵ `mcp__<server>__<tool>`;
rules name them `mcp: server/tool` (a glob: `mcp: github/*` is every tool of that server).

Rules are `tool: pattern`. For `bash` the pattern is matched against every simple command
of the parsed line (see `rules` for the pattern language); for file tools it is a glob over
the target path, relative to the project root when inside it (absolute otherwise), after
the one path function (`tools._paths.resolve_path`) has resolved `~`, whitespace, `..`
and symlinks; for other tools it is a glob over the tool's main argument (the URL, …).
"""

from __future__ import annotations

import contextlib
import fnmatch
import functools
import os
import re
import stat
from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Any

import msgspec

from skipjack.config.schema import ApprovalMode, Rule, parse_rule
from skipjack.safety.command_line import ParsedLine, Redirect, SimpleCommand
from skipjack.safety.rules import TRANSPARENT_WRAPPERS, CommandPattern, compile_pattern
from skipjack.safety.secret_files import enclosing_secret_location, home_dir, secret_location_texts
from skipjack.safety.suggest import suggest_rule
from skipjack.tools._paths import is_within, resolve_path

READ_TOOLS = frozenset({"read", "grep", "find", "todo"})
WRITE_TOOLS = frozenset({"edit", "write", "apply_patch"})
DELEGATING_TOOLS = frozenset({"task"})
"""Allowed in every mode (a deny rule still switches them off): a subagent's own calls are
each checked under a mode no looser than this one, so starting one grants nothing."""
USER_PROMPT_DIRS = ("skills", "commands", "agents")
"""Folders of the user's skipjack config dir the read tools may read (`extensions`)."""
PROTECTED_DIRS = frozenset({".git", ".skipjack"})
"""Inside the project, but writing there can run programs (git hooks, `core.fsmonitor`) or
change skipjack's own settings."""


# Environment variables that make an allowed program run other code (a preloaded library, a
# git directory whose config names an fsmonitor, a shell startup file): a command carrying
# one is not allowed by a rule naming only the program. Compiled at the first command judged
# rather than at every start.
@functools.cache
def risky_assignments() -> re.Pattern[str]:
    return re.compile(
        r"^(LD_\w*|DYLD_\w*|GIT_\w*|BASH_ENV|ENV|PATH|PROMPT_COMMAND|SHELLOPTS|BASHOPTS|PS4|IFS|"
        r"\w*PAGER|EDITOR|VISUAL|PYTHONSTARTUP|PERL5OPT|RUBYOPT|NODE_OPTIONS|BASH_FUNC_\w*|"
        # Where programs read their configuration from: `HOME=. git status` reads `./.gitconfig`,
        # which the project (or the model, in auto-edit) can fill with `core.fsmonitor = <cmd>`;
        # likewise XDG dirs, zsh's dotfiles, rg's config (`--pre`), less's input filter, tar's
        # options (`--to-command`), npm's config and Python's site dirs (`sitecustomize`).
        r"HOME|XDG_\w*|ZDOTDIR|INPUTRC|LESSOPEN|LESSCLOSE|LESSKEY\w*|RIPGREP_CONFIG_PATH|TAR_OPTIONS|"
        r"WGETRC|CURL_HOME|PYTHONHOME|PYTHONUSERBASE|[Nn][Pp][Mm]_[Cc][Oo][Nn][Ff][Ii][Gg]_\w*)="
    )


# git options that load configuration or a repository from elsewhere (`-c core.fsmonitor=…`).
RISKY_GIT_OPTIONS = ("-c", "--config-env", "--git-dir", "--work-tree", "--exec-path", "--namespace", "-C")


class Decision(Enum):
    ALLOW = "allow"
    ASK = "ask"
    DENY = "deny"


class Verdict(msgspec.Struct, frozen=True):
    """The policy's decision on one tool call."""

    decision: Decision
    reason: str
    subject: str
    """What was judged: the command line (with its `cwd` and sandbox choice), the path or the URL."""
    suggested_rules: tuple[str, ...] = ()
    """Allow rules that would let calls like this one run ("always allow"); empty when no
    rule narrow enough exists."""

    @property
    def suggested_rule(self) -> str | None:
        """The suggestions as one line for display; `allow_always` accepts it back."""
        return "; ".join(self.suggested_rules) if self.suggested_rules else None


class ApprovalPolicy:
    def __init__(
        self,
        mode: ApprovalMode,
        project_root: Path,
        *,
        sandboxed: bool,
        cwd: Path | None = None,
        allow: Sequence[str] = (),
        deny: Sequence[str] = (),
        user_config_dir: Path | None = None,
    ) -> None:
        """`cwd`: where the tools run (relative paths start there); the project root by default.
        `sandboxed`: shell commands run inside an OS sandbox (read-only in plan mode).
        `user_config_dir`: skipjack's own config (it may hold keys), a credential store like
        `~/.ssh` that the read tools ask before reading."""
        self.mode: ApprovalMode = mode
        # Relative roots are taken from the process's directory, as the tools' would be.
        self.project_root = Path(os.path.realpath(project_root))
        self.cwd = Path(os.path.realpath(cwd)) if cwd is not None else self.project_root
        self.sandboxed = sandboxed
        self._allow: list[Rule] = []
        self._deny: list[Rule] = []
        self._allow_cmd: list[tuple[str, CommandPattern]] = []
        self._deny_cmd: list[tuple[str, CommandPattern]] = []
        for text in allow:
            self.allow_always(text)
        for text in deny:
            rule = parse_rule(text)
            self._deny.append(rule)
            if rule.tool == "bash":
                self._deny_cmd.append((text.strip(), _compile(rule)))
        self._protected = self._protected_dirs()
        self._user_config_dir = user_config_dir
        self.mcp_tools: dict[str, tuple[str, str, bool]] = {}
        """Exposed MCP tool name → (server, tool, read-only hint); the controller keeps it
        current as servers start and their tool lists change."""

    def allow_always(self, rule: str) -> None:
        """Add allow rules for the rest of the session (the user's "always allow"); several
        may be given separated by `; ` (as `Verdict.suggested_rule` shows them)."""
        for text in _split_rules(rule):
            parsed = parse_rule(text)
            self._allow.append(parsed)
            if parsed.tool == "bash":
                self._allow_cmd.append((text, _compile(parsed)))

    # -- the one entry point ---------------------------------------------------------------

    def check(self, tool: str, args: Any) -> Verdict:
        if tool in self.mcp_tools or tool.startswith("mcp__"):
            return self._check_mcp(tool)
        if tool == "bash":
            return self._check_shell(args)
        if tool in WRITE_TOOLS:
            return self._check_write(tool, _write_paths(tool, args))
        subject = _field(args, "path", "url", "pattern", "command") or ""
        if _matches(self._deny, tool, subject):
            return Verdict(Decision.DENY, f"a deny rule forbids {tool}: {subject}", subject)
        if self.mode == "yolo":
            return Verdict(Decision.ALLOW, "yolo mode", subject)
        if tool in DELEGATING_TOOLS:
            return Verdict(Decision.ALLOW, "a subagent's calls are checked one by one", subject)
        if tool in READ_TOOLS:
            secret = self._reads_secret(tool, args)
            if secret is not None:
                return Verdict(Decision.ASK, secret, subject)
            return Verdict(Decision.ALLOW, "reads nothing outside what it is shown", subject)
        if self.mode == "plan":
            return Verdict(Decision.DENY, f"plan mode is read-only: {tool} is not allowed", subject)
        if _matches(self._allow, tool, subject):
            return Verdict(Decision.ALLOW, "an allow rule matches", subject)
        return Verdict(Decision.ASK, f"{tool} needs approval", subject, (f"{tool}: {subject}",))

    # -- MCP tools ---------------------------------------------------------------------------

    def _check_mcp(self, tool: str) -> Verdict:
        """A server's tool: `mcp: server/tool` rules; only its own `readOnlyHint` lets it run
        in plan mode. A name the controller does not know (no server offers it now) is
        judged by its name alone and never counts as read-only."""
        known = self.mcp_tools.get(tool)
        if known is not None:
            server, remote, read_only = known
        else:
            server, _, remote = tool.removeprefix("mcp__").partition("__")
            read_only = False
        subject = f"{server}/{remote}"
        if _matches(self._deny, "mcp", subject) or _matches(self._deny, tool, "*"):
            return Verdict(Decision.DENY, f"a deny rule forbids mcp: {subject}", subject)
        if self.mode == "yolo":
            return Verdict(Decision.ALLOW, "yolo mode", subject)
        if self.mode == "plan":
            if read_only:
                return Verdict(Decision.ALLOW, "plan mode: the server marks this tool read-only", subject)
            return Verdict(
                Decision.DENY, f"plan mode is read-only: MCP tool {subject} is not marked read-only", subject
            )
        if _matches(self._allow, "mcp", subject) or _matches(self._allow, tool, "*"):
            return Verdict(Decision.ALLOW, "an allow rule matches", subject)
        return Verdict(Decision.ASK, f"MCP tool {subject} needs approval", subject, (f"mcp: {subject}",))

    # -- paths -------------------------------------------------------------------------------

    def target(self, raw: str, cwd: Path | None = None) -> Path:
        """Where a tool given `raw` would write: the tools' own path function."""
        return resolve_path(cwd or self.cwd, raw)

    def boundary(self, path: Path) -> str | None:
        """Why a write to the resolved `path` needs approval even in auto-edit, or None."""
        if not is_within(path, self.project_root):
            return f"{path} is outside the project"
        parts = path.relative_to(self.project_root).parts
        # Compared case-blind: on a case-insensitive file system `.GIT/config` is `.git/config`.
        hit = next((p for p in parts if p.casefold() in PROTECTED_DIRS), None)
        if hit is not None:
            return f"{path} is inside {hit}/ (git hooks and config, and skipjack's settings, can run programs)"
        for gitdir in self._protected:
            if is_within(path, gitdir):
                return f"{path} is inside the repository's git directory"
        home = home_dir()
        if is_within(home, self.project_root) and is_within(path, home) and path != home:
            first = path.relative_to(home).parts[0]
            if first.startswith(".") and first not in PROTECTED_DIRS:
                # The project holds the home directory (skipjack run in `~`): its dot files
                # are the user's shell startup files and program config, not project files.
                return f"{path} is one of your home directory's dot files"
        return None

    def _protected_dirs(self) -> list[Path]:
        """A `.git` *file* (worktree, submodule) points at the real git directory, and that
        one's `commondir` at the shared one: writes to either are writes to `.git`."""
        found: list[Path] = []
        dotgit = self.project_root / ".git"
        try:
            if not dotgit.is_file():
                return found
            m = re.match(r"gitdir:\s*(.+)", dotgit.read_text(encoding="utf-8", errors="replace").strip())
            if m is None:
                return found
            gitdir = resolve_path(self.project_root, m.group(1))
            found.append(gitdir)
            common = gitdir / "commondir"
            if common.is_file():
                found.append(resolve_path(gitdir, common.read_text(encoding="utf-8", errors="replace")))
        except (OSError, ValueError):
            pass
        return found

    def _reads_secret(self, tool: str, args: Any) -> str | None:
        """Why a read tool's call would show the model a credential store, or None.

        The sandbox hides these from shell commands; the read tools run in skipjack itself, so
        the same list (`secret_files`) is checked here: a file inside one, or a search (grep,
        find) whose root holds one (`grep -r token ~`). Resolved by the one path function, so
        a symlink the repository ships (`docs/key -> ~/.ssh/id_ed25519`) is seen for what it is.
        """
        if tool == "todo":
            return None
        raw = _field(args, "path")
        try:
            target = self.target(raw if raw is not None else ".")
        except ValueError:
            return None
        parts = target.parts
        if parts[:2] == ("/", "proc") and (len(parts) < 3 or parts[2].isdigit() or parts[2] in ("self", "thread-self")):
            # The read tools run in skipjack: /proc/self/environ is its environment, keys and all.
            return f"{tool} of {target} reads a process's environment or memory"
        shown = str(target)
        extra: tuple[str, ...] = ()
        if self._user_config_dir is not None:
            config_dir = os.path.realpath(self._user_config_dir)
            # Its skills, commands and agents are the user's prompts for the model (no keys):
            # a skill's SKILL.md is read on demand. `target` is a real path, so a symlink in
            # there to config.toml is still judged as config.toml.
            if not any(_path_within(shown, os.path.join(config_dir, d)) for d in USER_PROMPT_DIRS):
                extra = (config_dir,)
        # Compared as text (both sides are real, normalised paths): this runs at every read
        # tool call, where `Path` objects cost more than the comparisons.
        inside = enclosing_secret_location(shown, extra)
        if inside is not None:
            return f"{tool} of {target} reads a credential store ({inside})"
        if tool != "read":
            for where in secret_location_texts(extra):
                if _path_within(where, shown) and os.path.lexists(where):
                    return f"{tool} in {target} would search a credential store ({where})"
        return None

    def _shown(self, path: Path) -> str:
        return str(path.relative_to(self.project_root)) if is_within(path, self.project_root) else str(path)

    # -- file writes -------------------------------------------------------------------------

    def _check_write(self, tool: str, raws: list[str]) -> Verdict:
        if not raws:
            subject = "(no path)"
            if self.mode == "yolo":
                return Verdict(Decision.ALLOW, "yolo mode", subject)
            if self.mode == "plan":
                return Verdict(Decision.DENY, "plan mode is read-only: no file changes", subject)
            return Verdict(Decision.ASK, f"{tool}: cannot tell which files it changes", subject)
        try:
            paths = [self.target(raw) for raw in raws]
        except ValueError as e:  # a NUL byte: no tool could write there either
            return Verdict(Decision.DENY, f"{tool}: not a usable path ({e})", ", ".join(raws))
        shown = [self._shown(p) for p in paths]
        subject = ", ".join(shown)
        for raw, name in zip(raws, shown, strict=True):
            for rule_tool in _DENY_ALIASES.get(tool, (tool,)):
                if _matches(self._deny, rule_tool, name) or _matches(self._deny, rule_tool, raw.strip()):
                    return Verdict(Decision.DENY, f"a deny rule forbids {rule_tool}: {name}", subject)
        if self.mode == "yolo":
            return Verdict(Decision.ALLOW, "yolo mode", subject)
        if self.mode == "plan":
            return Verdict(Decision.DENY, "plan mode is read-only: no file changes", subject)
        for path in paths:
            why = self.boundary(path)
            if why is not None:
                return Verdict(Decision.ASK, why, subject)
        if self.mode == "auto-edit":
            return Verdict(Decision.ALLOW, "file changes inside the project are allowed", subject)
        if all(_matches(self._allow, tool, name) for name in shown):
            return Verdict(Decision.ALLOW, "an allow rule matches", subject)
        return Verdict(
            Decision.ASK, f"{tool} of {subject} needs approval", subject, tuple(f"{tool}: {n}" for n in shown)
        )

    # -- shell -------------------------------------------------------------------------------

    def _check_shell(self, args: Any) -> Verdict:
        command = _field(args, "command") or ""
        cwd_raw = _field(args, "cwd")
        sandbox = _field(args, "sandbox", kind=bool)
        sandbox = True if sandbox is None else sandbox
        try:
            run_cwd = self.cwd if cwd_raw is None else self.target(cwd_raw)
        except ValueError:
            run_cwd = None
        subject = command
        if cwd_raw is not None:
            subject += f"  (in {run_cwd if run_cwd is not None else cwd_raw!r})"
        if not sandbox:
            subject += "  (outside the sandbox)"
        from skipjack.safety.commands import parse_command_line  # tree-sitter: at the first command

        parsed = parse_command_line(command)

        denied = self._denied_by(parsed, run_cwd)
        if denied is not None:
            return Verdict(Decision.DENY, denied, subject)
        maybe = self._maybe_denied(parsed)
        if maybe is not None:
            return Verdict(Decision.ASK, maybe, subject)
        if self._deny_cmd and parsed.opaque:
            # In every mode: plan's read-only sandbox would otherwise run what a deny rule forbids.
            return Verdict(Decision.ASK, _opaque_reason(parsed) + ", so the deny rules cannot be checked", subject)
        if self.mode == "yolo":
            return Verdict(Decision.ALLOW, "yolo mode", subject)
        if not sandbox:
            if self.mode == "plan":
                return Verdict(Decision.DENY, "plan mode runs commands only inside the sandbox", subject)
            return Verdict(Decision.ASK, "the command asks to run outside the sandbox", subject)
        if run_cwd is None or not is_within(run_cwd, self.project_root):
            if self.mode == "plan":
                return Verdict(Decision.DENY, f"plan mode: cwd {cwd_raw!r} is outside the project", subject)
            return Verdict(Decision.ASK, f"cwd {cwd_raw!r} is outside the project", subject)
        if self.mode == "plan":
            if self.sandboxed:
                return Verdict(Decision.ALLOW, "plan mode: the sandbox runs it read-only", subject)
            return Verdict(Decision.ASK, "plan mode without an OS sandbox: every command needs approval", subject)
        if not self.sandboxed:
            return Verdict(Decision.ASK, "no OS sandbox is available, so every command needs approval", subject)
        if parsed.opaque:
            return Verdict(Decision.ASK, _opaque_reason(parsed), subject)
        risky = [a.split("=", 1)[0] for a in parsed.assignments if risky_assignments().match(a)]
        if risky:
            return Verdict(
                Decision.ASK, f"the command sets {', '.join(risky)}, which changes what programs run", subject
            )
        nested = self._nested_repository(parsed, run_cwd)
        if nested is not None:
            return Verdict(Decision.ASK, nested, subject)
        unallowed = [c for c in parsed.commands if not self._command_allowed(c)]
        bad_writes = [r for r in parsed.writes if not self._redirect_allowed(r, run_cwd, parsed.changes_dir)]
        if not unallowed and not bad_writes:
            return Verdict(Decision.ALLOW, "allow rules match every command", subject)
        if unallowed:
            names = ", ".join(dict.fromkeys(c.name for c in unallowed))
            reason = f"shell commands need approval ({names})"
        else:
            reason = "the command writes to " + ", ".join(r.target or "a file decided at run time" for r in bad_writes)
        suggestions = [None if _risky(c) else suggest_rule(c) for c in unallowed]
        rules = () if bad_writes or None in suggestions else tuple(dict.fromkeys(s for s in suggestions if s))
        return Verdict(Decision.ASK, reason, subject, rules)

    def _denied_by(self, parsed: ParsedLine, run_cwd: Path | None) -> str | None:
        for command in parsed.commands:
            for text, pattern in self._deny_cmd:
                if pattern.matches(command):
                    where = f" (inside {' → '.join(command.via)})" if command.via else ""
                    return f"the deny rule `{text}` forbids `{' '.join(command.argv)}`{where}"
        for redirect in parsed.writes:
            if redirect.target is None:
                continue
            name = redirect.target.strip()
            if run_cwd is not None:
                with contextlib.suppress(ValueError):
                    name = self._shown(self.target(redirect.target, run_cwd))
            for tool in ("write", "edit"):
                if _matches(self._deny, tool, name) or _matches(self._deny, tool, redirect.target.strip()):
                    return f"a deny rule forbids writing {name}"
        return None

    def _nested_repository(self, parsed: ParsedLine, run_cwd: Path) -> str | None:
        """Why the line may make git read a repository config the sandbox does not protect.

        The sandbox keeps the project's own `.git/config` and hooks read-only, but git uses the
        nearest repository above its directory: one nested in the project (`sub/.git`, made
        by an allowed `mv x sub/.git` or `git init sub`) has a config anything can write, whose
        `core.fsmonitor` an allowed `git status` then runs. So a line that runs git inside a
        nested repository, or runs git after changing directory, or names a `.git` other than
        the project's in an argument (creating or filling one), is not allowed by rules alone.
        """
        gits = [c for c in parsed.commands if c.name == "git"]
        if gits and parsed.changes_dir:
            return "git runs after a change of directory, maybe in a repository the sandbox does not protect"
        if gits:
            for d in (run_cwd, *run_cwd.parents):
                if d == self.project_root or not is_within(d, self.project_root):
                    break
                if os.path.lexists(d / ".git"):
                    return f"git would run in {d}, a repository nested in the project whose config is not protected"
        own = self.project_root / ".git"
        for command in parsed.commands:
            for arg in command.argv[1:]:
                text = arg.split("=", 1)[1] if arg.startswith("-") and "=" in arg else arg
                if ".git" not in text.replace("\\", "/").split("/"):
                    continue
                try:
                    path = self.target(text, run_cwd)
                except ValueError:
                    continue
                if not is_within(path, own):
                    return f"`{command.name}` names {text}, a git directory other than the project's"
        return None

    def _maybe_denied(self, parsed: ParsedLine) -> str | None:
        """`F=-rf; rm $F x` or `rm *` beside a file named `-rf`: what runs may be what a
        deny rule forbids, so no mode runs it without asking."""
        for command in parsed.commands:
            for text, pattern in self._deny_cmd:
                if pattern.could_match(command):
                    return f"`{' '.join(command.argv)}` may expand to what the deny rule `{text}` forbids"
        return None

    def _command_allowed(self, command: SimpleCommand) -> bool:
        if _risky(command):
            return False
        if command.wrapper and command.name in TRANSPARENT_WRAPPERS:
            return True
        return any(pattern.matches(command) for _, pattern in self._allow_cmd)

    def _redirect_allowed(self, redirect: Redirect, run_cwd: Path, changes_dir: bool) -> bool:
        """A writing redirection is a file write: allowed where the write tool would be."""
        target = redirect.target
        if target is None:
            return False
        if changes_dir and not target.strip().startswith(("/", "~")):
            return False  # after `cd` a relative target is somewhere this check cannot see
        if _shell_only_tilde(target):
            return False
        try:
            path = self.target(target, run_cwd)
        except ValueError:
            return False
        if self.boundary(path) is not None or _hard_linked(path):
            return False
        return self.mode == "auto-edit" or _matches(self._allow, "write", self._shown(path))


def _shell_only_tilde(target: str) -> bool:
    """`~+`, `~-`, `~2` mean $PWD, $OLDPWD and the directory stack to bash, but nothing to the
    path function (a directory named `~-`); the shell's meaning is unknown here."""
    if not target.startswith("~"):
        return False
    prefix = target[1:].split("/", 1)[0]
    return bool(prefix) and os.path.expanduser("~" + prefix) == "~" + prefix


def _hard_linked(path: Path) -> bool:
    """A redirection writes through a hard link to wherever its other names are (the file
    tools replace the file instead), so a linked file may really be outside the project."""
    try:
        st = path.stat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_nlink > 1


def _risky(command: SimpleCommand) -> bool:
    """The command changes what the program loads (see RISKY_*): no plain rule covers it."""
    if any(risky_assignments().match(a) for a in command.assignments):
        return True
    return command.name == "git" and bool(_git_global_options(command.argv[1:]) & set(RISKY_GIT_OPTIONS))


def _git_global_options(args: tuple[str, ...]) -> set[str]:
    """The options before git's subcommand (`git -c x=y status` → {"-c"})."""
    found = set()
    for arg in args:
        if not arg.startswith("-"):
            break
        found.add(arg.split("=", 1)[0] if arg.startswith("--") else arg[:2])
    return found


def _compile(rule: Rule) -> CommandPattern:
    try:
        return compile_pattern(rule.pattern)
    except ValueError as e:
        raise ValueError(f"rule `bash: {rule.pattern}`: {e}") from e


def _split_rules(text: str) -> list[str]:
    # `; ` separates rules only where a new `tool:` starts, so a pattern may hold `;`.
    parts = re.split(r";\s+(?=[A-Za-z_][\w.-]*\s*:)", text)
    return [p.strip() for p in parts if p.strip()]


def _opaque_reason(parsed: ParsedLine) -> str:
    return "the command cannot be checked: " + "; ".join(parsed.opaque_reasons)


def _field(args: Any, *names: str, kind: type = str) -> Any:
    for name in names:
        value = args.get(name) if isinstance(args, dict) else getattr(args, name, None)
        if isinstance(value, kind):
            return value
    return None


@functools.cache
def _patch_path() -> re.Pattern[str]:
    return re.compile(r"^(\*\*\* (?:Add|Update|Delete) File:|\*\*\* Move to:|\+\+\+ |--- )\s*(.+?)\s*$", re.M)


# apply_patch replaces edit (and creates files as write does) for some models: a deny rule
# written for edit or write must not lapse when the model, and so the tool, changes.
_DENY_ALIASES: dict[str, tuple[str, ...]] = {"apply_patch": ("apply_patch", "edit", "write")}


def _write_paths(tool: str, args: Any) -> list[str]:
    """Every path a file-changing call names: `path`, `paths`, or those inside a patch."""
    single = _field(args, "path")
    if single is not None:
        return [single]
    many = args.get("paths") if isinstance(args, dict) else getattr(args, "paths", None)
    if isinstance(many, list) and all(isinstance(p, str) for p in many):
        return list(many)
    patch = _field(args, "patch", "input")
    if patch is None:
        return []
    found = []
    for m in _patch_path().finditer(patch):
        name = m.group(2)
        if name == "/dev/null":
            continue
        # `a/` and `b/` are git's prefixes only in a unified diff's ---/+++ lines; a Codex
        # header (`*** Update File: a/x`) names the directory `a` (apply_patch writes there).
        unified = m.group(1) in ("+++ ", "--- ")
        found.append(name[2:] if unified and name.startswith(("a/", "b/")) else name)
    return list(dict.fromkeys(found))


def _matches(rules: list[Rule], tool: str, subject: str) -> bool:
    return any(r.tool == tool and fnmatch.fnmatchcase(subject, r.pattern) for r in rules)


def _path_within(path: str, root: str) -> bool:
    """`is_within` for two normalised absolute paths as text: asked ~60 times per read tool
    call, where building `PurePath.relative_to`'s parts each time cost a millisecond."""
    return path == root or path.startswith(root if root.endswith("/") else root + "/")
