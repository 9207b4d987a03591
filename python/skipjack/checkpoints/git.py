"""Running git against the shadow repository, isolated from the user's git set-up.

Git itself, not a hand-written copy of it, walks the tree, honours `.gitignore`, hashes
content and writes files back: it already knows symlinks, file modes, leading-symlink
attacks on checkout, paths named like options and every `.gitignore` rule.

Isolation: every `GIT_*` variable of the caller is dropped (skipjack may run inside a git
hook, where `GIT_DIR`/`GIT_INDEX_FILE` point at the user's repository), the system and global
config files are not read (a user's `filter.lfs`, `core.autocrlf`, `core.fsmonitor` or hooks
must not run or rewrite content), pathspecs are literal, and the shadow repository's own
`info/attributes` turns off every content conversion a project's `.gitattributes` could ask
for, so a restored file is byte for byte the file that was snapshotted.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from skipjack.errors import UserError
from skipjack.user_paths import expand_user

SHADOW_CONFIG: tuple[tuple[str, str], ...] = (
    ("core.autocrlf", "false"),
    ("core.safecrlf", "false"),
    ("core.symlinks", "true"),
    ("core.filemode", "true"),
    ("core.ignorecase", "false"),
    ("core.precomposeunicode", "false"),
    ("core.quotepath", "false"),
    ("core.untrackedCache", "true"),
    # `status -uall` uses the untracked cache only with this set: a checkpoint's walk of a
    # 10k-file tree drops from ~100 to ~35 ms.
    ("status.showUntrackedFiles", "all"),
    ("core.fsmonitor", "false"),
    # Only the merged exclude file `SnapshotStore` writes into info/exclude (see there).
    ("core.excludesFile", "/dev/null"),
    ("core.hooksPath", "/dev/null"),
    ("core.bigFileThreshold", "16m"),
    # A 10k-file index is ~1 MB rewritten at every snapshot: smaller (v4) and not hashed.
    ("index.version", "4"),
    ("index.skipHash", "true"),
    ("gc.auto", "0"),
    ("advice.addEmbeddedRepo", "false"),
    ("advice.addIgnoredFile", "false"),
    ("advice.detachedHead", "false"),
)
ATTRIBUTES = (
    b"# skipjack: snapshots keep bytes exactly as they are on disk\n"
    b"* -text -filter -ident !eol !working-tree-encoding\n"
)


class GitError(UserError):
    """A git command failed; the message carries git's own words."""


def git_executable() -> str:
    found = shutil.which("git")
    if found is None:
        raise GitError("checkpoints need git on the PATH (it is used for the snapshots, never on your repository)")
    return found


def isolated_env(base: Mapping[str, str], git_dir: Path, work_tree: Path, index: Path) -> dict[str, str]:
    env = {k: v for k, v in base.items() if not k.startswith("GIT_")}
    env.update(
        GIT_DIR=str(git_dir),
        GIT_WORK_TREE=str(work_tree),
        GIT_INDEX_FILE=str(index),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_CONFIG_GLOBAL=os.devnull,
        GIT_LITERAL_PATHSPECS="1",
        GIT_TERMINAL_PROMPT="0",
        LC_ALL="C",
    )
    return env


class Git:
    """`git` with the shadow repository's environment; `run` returns stdout as bytes."""

    def __init__(self, git_dir: Path, work_tree: Path, index: Path, env: Mapping[str, str] | None = None) -> None:
        self.git_dir = git_dir
        self.work_tree = work_tree
        self.index = index
        self._exe = git_executable()
        self._env = isolated_env(os.environ if env is None else env, git_dir, work_tree, index)
        self.last_code = 0
        """The exit code of the last `run` (one of its `ok_codes`)."""

    def run(
        self,
        args: Sequence[str],
        *,
        stdin: bytes | None = None,
        index: Path | None = None,
        ok_codes: tuple[int, ...] = (0,),
        timeout: float = 600,
    ) -> bytes:
        env = self._env if index is None else {**self._env, "GIT_INDEX_FILE": str(index)}
        try:
            proc = subprocess.run(
                [self._exe, *args],
                input=stdin,
                env=env,
                cwd=self.work_tree,
                capture_output=True,
                timeout=timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise GitError(f"git {args[0]} failed: {e}") from e
        self.last_code = proc.returncode
        if proc.returncode not in ok_codes:
            message = proc.stderr.decode(errors="replace").strip() or f"exit {proc.returncode}"
            raise GitError(f"git {args[0]} failed: {message}")
        return proc.stdout

    def init(self) -> None:
        """Create the shadow repository (bare: its work tree is always given explicitly)."""
        self.git_dir.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not (self.git_dir / "HEAD").is_file():
            try:
                proc = subprocess.run(
                    [self._exe, "init", "--bare", "--quiet", str(self.git_dir)],
                    env={k: v for k, v in self._env.items() if k not in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE")},
                    capture_output=True,
                    check=False,
                    timeout=60,
                )
            except (OSError, subprocess.TimeoutExpired) as e:
                raise GitError(f"git init failed: {e}") from e
            if proc.returncode != 0:
                message = proc.stderr.decode(errors="replace").strip() or f"exit {proc.returncode}"
                raise GitError(f"cannot create the snapshot store {self.git_dir}: {message}")
            os.chmod(self.git_dir, 0o700)
            # Appended as text rather than by one `git config` process per key (eleven
            # processes on a session's first turn); later lines win over what init wrote.
            try:
                with open(self.git_dir / "config", "a", encoding="utf-8") as f:
                    f.write(_config_text(SHADOW_CONFIG))
            except OSError as e:
                raise GitError(f"cannot set up the snapshot store {self.git_dir}: {e.strerror or e}") from e
        info = self.git_dir / "info"
        try:
            info.mkdir(exist_ok=True)
            attributes = info / "attributes"
            if not attributes.is_file() or attributes.read_bytes() != ATTRIBUTES:
                attributes.write_bytes(ATTRIBUTES)
        except OSError as e:
            raise GitError(f"cannot set up the snapshot store {self.git_dir}: {e.strerror or e}") from e


def _config_text(pairs: tuple[tuple[str, str], ...]) -> str:
    """`section.key value` pairs as git config file text (values are plain words here)."""
    lines: list[str] = []
    for key, value in pairs:
        section, name = key.rsplit(".", 1)
        if not value or any(c in value for c in ' \t"\\;#\n'):
            raise ValueError(f"{key}: value needs quoting: {value!r}")
        lines += [f"[{section}]", f"\t{name} = {value}"]
    return "\n".join(lines) + "\n"


def user_global_excludes(env: Mapping[str, str] | None = None) -> Path | None:
    """The user's global excludes file, as git would find it: `core.excludesFile` of the
    global config, else `$XDG_CONFIG_HOME/git/ignore` (`~/.config/git/ignore`)."""
    env = os.environ if env is None else env
    clean = {k: v for k, v in env.items() if not k.startswith("GIT_")}
    exe = shutil.which("git")
    configured = ""
    if exe is not None:
        try:
            proc = subprocess.run(
                [exe, "config", "--global", "--path", "--get", "core.excludesFile"],
                env=clean,
                capture_output=True,
                timeout=10,
                check=False,
                cwd="/",
            )
            configured = proc.stdout.decode(errors="replace").strip() if proc.returncode == 0 else ""
        except (OSError, subprocess.TimeoutExpired):
            configured = ""
    if configured:
        return expand_user(configured)
    xdg = clean.get("XDG_CONFIG_HOME") or os.path.join(clean.get("HOME", os.path.expanduser("~")), ".config")
    return Path(xdg) / "git" / "ignore"


def repo_info_exclude(root: Path) -> Path | None:
    """`info/exclude` of the user's repository at `root` (a `.git` directory, or the `gitdir:`
    a worktree's or submodule's `.git` file names, via its `commondir`)."""
    dot_git = root / ".git"
    try:
        if dot_git.is_dir() and not dot_git.is_symlink():
            return dot_git / "info" / "exclude"
        if dot_git.is_file():
            text = dot_git.read_text(encoding="utf-8", errors="replace").strip()
            if not text.startswith("gitdir:"):
                return None
            git_dir = Path(text[len("gitdir:") :].strip())
            git_dir = git_dir if git_dir.is_absolute() else (root / git_dir)
            common = git_dir / "commondir"
            if common.is_file():
                rel = common.read_text(encoding="utf-8", errors="replace").strip()
                git_dir = Path(rel) if Path(rel).is_absolute() else git_dir / rel
            return git_dir / "info" / "exclude"
    except OSError:
        return None
    return None
