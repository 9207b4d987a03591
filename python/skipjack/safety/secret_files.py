"""Where credentials live on disk: one list for the sandbox (which hides them from commands) and
the approval policy (which asks before a file tool reads them), so the two cannot drift apart.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TypeAlias

SENSITIVE_FILES = ("/etc/shadow", "/etc/shadow-", "/etc/gshadow", "/etc/gshadow-", "/etc/ssl/private")
"""Secrets a command never needs to read. Root keeps read access to root-owned files inside the
sandbox, so hiding them is the only way."""

SENSITIVE_HOME = (
    ".ssh",
    ".aws",
    ".azure",
    ".gnupg",
    ".kube",
    ".docker",
    ".password-store",
    ".config/gcloud",
    ".config/gh",
    ".netrc",
    ".git-credentials",
    ".config/git/credentials",
    ".pgpass",
    ".npmrc",
    ".yarnrc",
    ".yarnrc.yml",
    ".pypirc",
    ".config/pip",
    ".pip",
    ".m2/settings.xml",
    ".gradle/gradle.properties",
    ".composer/auth.json",
    ".config/composer/auth.json",
    ".gem/credentials",
    ".cargo/credentials",
    ".cargo/credentials.toml",
    ".vault-token",
    ".terraform.d/credentials.tfrc.json",
    ".config/hub",
    ".config/rclone",
    ".s3cfg",
    ".boto",
    ".oci",
    ".config/doctl",
    ".config/op",
    ".config/github-copilot",
    ".huggingface",
    ".cache/huggingface/token",
    ".config/huggingface",
    ".codex/auth.json",
    ".claude/.credentials.json",
    ".local/share/keyrings",
    # Shell and REPL histories hold whatever was typed: `export X_TOKEN=…`, `mysql -p…`.
    ".bash_history",
    ".zsh_history",
    ".local/share/fish/fish_history",
    ".python_history",
    ".psql_history",
    ".mysql_history",
    ".node_repl_history",
    # Browser profiles: session cookies are credentials.
    ".mozilla",
    ".config/google-chrome",
    ".config/chromium",
    ".config/BraveSoftware",
)
"""Relative to the home directory."""


def home_dir() -> Path:
    return Path(os.path.realpath(os.path.expanduser(os.environ.get("HOME") or Path.home())))


def secret_locations(extra: Sequence[Path] = ()) -> list[Path]:
    """Every credential file or directory (real paths, whether or not it exists), with `extra`
    (the user's skipjack config dir: it may hold keys).

    Asked at every read tool call and shell command, so the answer is kept, and reused only
    while no directory its resolution looked into has changed (see `_Resolved`): resolving
    the ~60 paths afresh took milliseconds per tool call, most of a turn's overhead."""
    kept = _current()
    # `extra` (one directory, often under a busy /tmp in tests) is resolved every time.
    return list(dict.fromkeys([*kept.locations, *(Path(os.path.realpath(p)) for p in extra)]))


def secret_location_texts(real_extra: Sequence[str] = ()) -> tuple[str, ...]:
    """`secret_locations` as text, `real_extra` being real paths already: for the read
    tools' check at every call, which compares text and so skips building and hashing ~60
    `Path`s per call."""
    texts = _current().texts
    return texts + tuple(e for e in real_extra if e not in texts)


def enclosing_secret_location(real_path: str, real_extra: Sequence[str] = ()) -> str | None:
    """The credential location (`secret_location_texts`) that holds `real_path` (a real,
    normalised path as text), or None. Asked at every read tool call: the path's ancestors are
    looked up in a set, a few lookups where comparing with each of ~60 locations took most of
    the call."""
    locations = _current().text_set
    path = real_path
    while True:
        if path in locations or path in real_extra:
            return path
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _current() -> _Resolved:
    home_var = os.environ.get("HOME") or str(Path.home())
    kept = _resolved.get(home_var)
    if kept is None or not kept.still_valid():
        kept = _resolve_locations(home_var)
        if kept.cacheable():
            _resolved[home_var] = kept
    return kept


_resolved: dict[str, _Resolved] = {}
"""By the HOME they were resolved under."""

_RACY_NS = 3_000_000_000
"""A directory changed this recently may change again within its timestamp's granularity
(coarse clock ticks; 2 s on FAT) without its timestamps moving: such an answer is not kept
(git's "racy index" rule)."""

_Stamp: TypeAlias = "tuple[int, int, int, int] | None"


def _stamp(directory: str) -> _Stamp:
    try:
        st = os.stat(directory)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


class _Resolved:
    """Real paths and what they depend on: a real path changes only if a path component the
    resolution looked at (lstat) is created, removed, replaced or made unreadable, and each of
    those changes its directory's mtime or ctime (a symlink's target cannot change in place).
    So the answer stands while every such directory has the same identity and timestamps."""

    __slots__ = ("_paths", "stamps", "taken_ns", "text_set", "texts")

    def __init__(self, texts: tuple[str, ...], stamps: tuple[tuple[str, _Stamp], ...], taken_ns: int) -> None:
        self.texts = texts
        """The real paths, as text (each normalised, each once)."""
        self.text_set = frozenset(texts)
        self.stamps = stamps
        self.taken_ns = taken_ns
        self._paths: tuple[Path, ...] | None = None

    @property
    def locations(self) -> tuple[Path, ...]:
        # Built at the first ask (a sandboxed command's): the read tools' check asks for
        # text, and building ~60 Paths was a third of a resolution.
        if self._paths is None:
            self._paths = tuple(map(Path, self.texts))
        return self._paths

    def still_valid(self) -> bool:
        return all(_stamp(d) == st for d, st in self.stamps)

    def cacheable(self) -> bool:
        # A relative path (HOME=. say) depends on the working directory too: not kept.
        return all(
            os.path.isabs(d) and (st is None or self.taken_ns - max(st[2], st[3]) > _RACY_NS) for d, st in self.stamps
        )


def _resolve_locations(home_var: str) -> _Resolved:
    taken_ns = time.time_ns()
    looked_at: set[str] = set()
    links: dict[str, str | None] = {}
    known: dict[str, str] = {os.sep: os.sep}
    """A path as spelled (absolute, normalised) -> its real path: the locations share most of
    their parents (the home, `.config`), each resolved once."""

    def real(path: str) -> str:
        found = known.get(path)
        if found is not None:
            return found
        parent, _, name = path.rpartition(os.sep)
        base = real(parent or os.sep)
        joined = base + name if base == os.sep else base + os.sep + name
        looked_at.add(joined)
        if _link_target(joined, links) is None:
            found = joined
        else:
            # A symlink: realpath's own walk from here (its chains, `..` and loops). After a
            # loop the rest is joined as spelled, as realpath does: every lstat through it fails.
            walked, _ = _join_real(base, name, {}, looked_at, links)
            found = os.path.abspath(walked)
        known[path] = found
        return found

    home = _realpath(os.path.expanduser(home_var), looked_at, links)
    spelled = [*SENSITIVE_FILES, *(home + os.sep + p if home != os.sep else os.sep + p for p in SENSITIVE_HOME)]
    texts = tuple(dict.fromkeys(map(real, spelled)))
    parents = sorted({p.rpartition(os.sep)[0] or os.sep for p in looked_at})
    return _Resolved(texts, tuple((d, _stamp(d)) for d in parents), taken_ns)


def _realpath(path: str, looked_at: set[str], links: dict[str, str | None] | None = None) -> str:
    """`os.path.realpath(path)` (non-strict), noting every path it lstat()s in `looked_at`.

    Python 3.11's own algorithm (`posixpath._joinrealpath`), copied because the stdlib does
    not say which paths it consulted; tests compare the two on symlink chains and loops.
    `links` keeps what each lstat found (a symlink's target, or None) for the other paths of
    the same resolution, which share most of their components."""
    resolved, _ = _join_real("", path, {}, looked_at, {} if links is None else links)
    return os.path.abspath(resolved)


def _link_target(path: str, links: dict[str, str | None]) -> str | None:
    """`readlink(path)` if `path` is a symlink, else None (also when it cannot be lstat()ed)."""
    if path in links:
        return links[path]
    try:
        target = os.readlink(path) if stat.S_ISLNK(os.lstat(path).st_mode) else None
    except OSError:
        target = None
    links[path] = target
    return target


def _join_real(
    path: str, rest: str, seen: dict[str, str | None], looked_at: set[str], links: dict[str, str | None]
) -> tuple[str, bool]:
    if os.path.isabs(rest):
        rest = rest[1:]
        path = os.sep
    while rest:
        name, _, rest = rest.partition(os.sep)
        if not name or name == os.curdir:
            continue
        if name == os.pardir:
            if path:
                path, name = os.path.split(path)
                if name == os.pardir:
                    path = os.path.join(path, os.pardir, os.pardir)
            else:
                path = os.pardir
            continue
        newpath = os.path.join(path, name)
        looked_at.add(newpath)
        target = _link_target(newpath, links)
        if target is None:
            path = newpath
            continue
        if newpath in seen:
            known = seen[newpath]
            if known is not None:
                path = known
                continue
            return os.path.join(newpath, rest), False  # a symlink loop
        seen[newpath] = None
        path, ok = _join_real(path, target, seen, looked_at, links)
        if not ok:
            return os.path.join(path, rest), False
        seen[newpath] = path
    return path, True
