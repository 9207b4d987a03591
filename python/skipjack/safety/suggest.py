"""Narrow "always allow" rules for a command the user approves.

A rule is offered for the program and its subcommand (`bash: git status *`,
`bash: npm run test *`, `bash: python -m pytest *`), or for the exact command line of a
program without subcommands (`bash: ls -la`). Never for a program alone that runs
arbitrary code given the right arguments (`python *`, `bash *`, `env *`, `sudo *`,
`xargs *`): approving one `python script.py` must not approve every Python program.
"""

from __future__ import annotations

import shlex

from skipjack.safety.command_line import SimpleCommand

# Programs whose first argument picks what they do.
SUBCOMMAND_PROGRAMS = frozenset(
    {"git", "cargo", "npm", "pnpm", "yarn", "bun", "go", "uv", "pip", "pip3", "poetry", "docker", "podman",
     "kubectl", "make", "just", "gh", "rustup", "dotnet", "mvn", "gradle", "deno", "conda", "brew", "apt",
     "apt-get", "systemctl", "helm", "terraform", "hatch", "pdm", "tox", "nox", "mix", "bundle", "rake",
     "swift", "zig", "cmake", "ctest", "meson", "ninja"}
)  # fmt: skip
# `npm run test`: the script name is part of the subcommand.
RUN_SUBCOMMANDS = frozenset({"run", "run-script", "exec", "x", "dlx"})
PYTHONS = frozenset({"python", "python3", "py", "pypy", "pypy3"}) | {f"python3.{n}" for n in range(6, 20)}
# Interpreters, shells and wrappers: alone they allow anything.
NEVER_ALONE = frozenset(
    {"bash", "sh", "zsh", "dash", "ksh", "mksh", "ash", "fish", "busybox", "env", "sudo", "doas", "xargs",
     "nice", "nohup", "timeout", "time", "command", "builtin", "exec", "stdbuf", "ionice", "setsid", "chroot",
     "eval", "source", ".", "node", "nodejs", "ruby", "perl", "php", "lua", "Rscript", "osascript", "pwsh",
     "powershell", "awk", "gawk", "ssh", "npx", "bunx", "uvx", "pipx", "find", "parallel", "watch", "su",
     "script", "trap", "flock", "unshare", "nsenter", "strace", "ltrace", "gdb", "java", "deno", "tclsh",
     "expect", "sed"} | PYTHONS
)  # fmt: skip

# `python -m X` where X runs whatever script or code it is given: as broad as `python *`.
RUNNER_MODULES = frozenset(
    {"runpy", "pdb", "code", "cProfile", "profile", "trace", "timeit", "IPython", "asyncio", "idlelib",
     "doctest", "pyclbr", "xonsh", "ptpython", "bpython", "debugpy", "pyinstrument", "memray", "coverage"}
)  # fmt: skip
# Destructive programs: asked about each time, never "always" (a `rm -rf ~` among the
# commands of a line must not be one key away from a permanent yes).
NEVER_SUGGESTED = frozenset(
    {"rm", "rmdir", "shred", "dd", "mkfs", "truncate", "chmod", "chown", "chgrp", "kill", "pkill", "killall",
     "reboot", "shutdown", "halt", "poweroff", "crontab", "passwd", "useradd", "userdel", "mount", "umount"}
)  # fmt: skip


def suggest_rule(command: SimpleCommand) -> str | None:
    """The narrowest useful allow rule for `command`, or None when none is safe to offer."""
    name, args = command.name, list(command.argv[1:])
    if any(_unquoted_expansion(a) for a in args):
        return None
    if name in NEVER_SUGGESTED:
        return None
    if name in PYTHONS:
        if len(args) >= 2 and args[0] == "-m" and _plain(args[1]) and args[1].split(".")[0] not in RUNNER_MODULES:
            return f"bash: {name} -m {args[1]} *"
        return None
    if name in NEVER_ALONE:
        return None
    if name in SUBCOMMAND_PROGRAMS:
        if not args or not _plain(args[0]):
            return "bash: " + shlex.join(command.argv) if all(_plain(a) for a in args) else None
        words = [name, args[0]]
        if args[0] in RUN_SUBCOMMANDS and len(args) > 1 and _plain(args[1]):
            words.append(args[1])
        return "bash: " + " ".join(words) + " *"
    if all(_plain(a) or a.startswith("-") for a in args):
        return "bash: " + shlex.join(command.argv)
    return None


def _plain(word: str) -> bool:
    """A word that reads the same as a rule pattern: no glob characters, no option dash."""
    return bool(word) and not word.startswith("-") and not any(c in word for c in "*?[]")


def _unquoted_expansion(word: str) -> bool:
    return "$" in word or "`" in word
