"""Where sessions live: `<data dir>/sessions/<project>/<session id>.jsonl`.

The data dir is `$SKIPJACK_DATA_DIR`, else the platform's user data dir (XDG on Linux). A
project is the repository root above the working directory (the directory itself outside a
repository), and its folder is named `<readable slug>-<hash of the full path>`: readable in
a listing, and two projects never share one however their names are trimmed.
"""

from __future__ import annotations

import builtins
import contextlib
import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

import msgspec

from skipjack.config.files import data_dir, find_repo_root
from skipjack.llm.types import AssistantMessage, ToolResultMessage, now_ms
from skipjack.sessions.errors import SessionError, SessionLockedError, SessionNotFoundError
from skipjack.sessions.format import (
    FORMAT_VERSION,
    Entry,
    ForkRef,
    MessageEntry,
    ModelChangeEntry,
    SessionHeader,
    new_session_id,
)
from skipjack.sessions.session import DIR_MODE, Session, _lock

SUFFIX = ".jsonl"
SLUG_CHARS = 48


CHILD_DIR = "subagents"
"""Per project: the sub-sessions of subagents."""


class SessionSummary(msgspec.Struct, frozen=True):
    id: str
    path: str
    project: str
    cwd: str
    title: str
    created: int
    updated: int
    """Milliseconds since the epoch, of the last entry."""
    model: str | None
    messages: int
    cost: float
    """USD, everything this session's file records (a fork includes what it copied)."""
    forked_from: str | None = None
    error: str | None = None
    unpriced: int = 0
    """Requests whose cost is unknown (not in `cost`)."""
    """Why the file could not be loaded; the other fields are then best effort."""


def project_root(cwd: Path) -> Path:
    return find_repo_root(cwd) or cwd.resolve()


def project_dir_name(root: Path) -> str:
    text = str(root.resolve())
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "root"
    digest = hashlib.sha256(text.encode()).hexdigest()[:10]
    return f"{slug[-SLUG_CHARS:].lstrip('-')}-{digest}"


class SessionStore:
    def __init__(self, root: Path | None = None, *, env: Mapping[str, str] | None = None) -> None:
        self.root = root if root is not None else data_dir(env) / "sessions"

    def project_path(self, cwd: Path) -> Path:
        return self.root / project_dir_name(project_root(cwd))

    # -- creating ------------------------------------------------------------------------

    def create(self, cwd: Path, model: str | None) -> Session:
        """A new session for the project `cwd` is in; `model` is `provider/model-id`."""
        cwd = cwd.resolve()
        header = SessionHeader(
            version=FORMAT_VERSION,
            id=new_session_id(),
            created=now_ms(),
            cwd=str(cwd),
            project=str(project_root(cwd)),
            model=model,
        )
        return self._create_file(header)

    def create_child(self, cwd: Path, model: str | None) -> Session:
        """A sub-session (a subagent's transcript): kept beside the project's sessions, in
        `subagents/`, so `sessions list` and `--continue` never pick it, while `sessions show`
        finds it by its full id."""
        cwd = cwd.resolve()
        header = SessionHeader(
            version=FORMAT_VERSION,
            id=new_session_id(),
            created=now_ms(),
            cwd=str(cwd),
            project=str(project_root(cwd)),
            model=model,
        )
        directory = self.project_path(cwd) / CHILD_DIR
        directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        return Session.create(directory / f"{header.id}{SUFFIX}", header, [])

    def _create_file(self, header: SessionHeader, entries: list[Entry] | None = None) -> Session:
        self.root.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        directory = self.root / project_dir_name(Path(header.project))
        return Session.create(directory / f"{header.id}{SUFFIX}", header, entries or [])

    def fork(self, session_id: str, entry_id: str) -> Session:
        """A new session holding `session_id`'s history up to and including `entry_id`.

        Forking at an assistant message that called tools also copies those tools' results,
        so the new history never has a call without its result.
        """
        source = self.open(session_id)
        entries = source.all_entries()
        end = source.index_of(entry_id) + 1
        target = entries[end - 1]
        if isinstance(target, MessageEntry) and isinstance(target.message, AssistantMessage):
            pending = {c.id for c in target.message.tool_calls}
            while pending and end < len(entries):
                e = entries[end]
                if not (isinstance(e, MessageEntry) and isinstance(e.message, ToolResultMessage)):
                    break
                pending.discard(e.message.tool_call_id)
                end += 1
        copied = entries[:end]
        model = source.header.model
        for e in copied:
            if isinstance(e, ModelChangeEntry):
                model = e.model
        header = SessionHeader(
            version=FORMAT_VERSION,
            id=new_session_id(),
            created=now_ms(),
            cwd=source.header.cwd,
            project=source.header.project,
            model=model,
            forked_from=ForkRef(source.id, entry_id, len(copied)),
        )
        return self._create_file(header, copied)

    # -- finding -------------------------------------------------------------------------

    def _paths(self, cwd: Path | None = None) -> builtins.list[Path]:
        if cwd is not None:
            directory = self.project_path(cwd)
            return sorted(directory.glob(f"*{SUFFIX}")) if directory.is_dir() else []
        return sorted(self.root.glob(f"*/*{SUFFIX}")) if self.root.is_dir() else []

    def path_of(self, session_id: str, cwd: Path | None = None) -> Path:
        """The file of a session, by its full id, or by a prefix of an id of the project `cwd`
        is in that only one of its sessions has. Ids are matched literally, never as patterns."""
        check_id_text(session_id)
        if _FULL_ID.fullmatch(session_id):
            found = self._exact(session_id, cwd)
            if found is not None:
                return found
            raise SessionNotFoundError(f"no session {session_id!r}")
        if cwd is None:
            raise SessionNotFoundError(f"no session {session_id!r}; give the whole id")
        matches = [p for p in self._paths(cwd) if p.stem.startswith(session_id)]
        if len(matches) == 1:
            return matches[0]
        if matches:
            ids = sorted((p.stem for p in matches), reverse=True)
            shown = ", ".join(ids[:_CANDIDATES]) + (
                f" and {len(ids) - _CANDIDATES} more" if len(ids) > _CANDIDATES else ""
            )
            raise SessionNotFoundError(f"{session_id!r} matches {len(ids)} sessions ({shown}); give more of the id")
        raise SessionNotFoundError(f"no session of this project starts with {session_id!r}")

    def _exact(self, session_id: str, cwd: Path | None) -> Path | None:
        """A full id: this project's session first, else any project's (ids are unique by
        construction, and `sessions list --all` shows them)."""
        name = f"{session_id}{SUFFIX}"
        if cwd is not None and (candidate := self.project_path(cwd) / name).is_file():
            return candidate
        if not self.root.is_dir():
            return None
        if cwd is not None and (candidate := self.project_path(cwd) / CHILD_DIR / name).is_file():
            return candidate
        for directory in sorted(self.root.iterdir()):
            for candidate in (directory / name, directory / CHILD_DIR / name):
                if candidate.is_file():
                    return candidate
        return None

    def resolve_id(self, session_id: str, cwd: Path | None = None) -> str:
        """The full id that `session_id` (a full id, or a unique prefix in `cwd`'s project) names."""
        return self.path_of(session_id, cwd).stem

    def open(self, session_id: str, cwd: Path | None = None) -> Session:
        """Load a session to resume it; it is locked for writing on the first append.
        A prefix of an id is accepted only with `cwd` (see `path_of`)."""
        return Session.load(self.path_of(session_id, cwd))

    def latest(self, cwd: Path) -> Session | None:
        """The project's most recently updated session that loads.

        Ranked by the file's ends (`recency.quick_updated`), so only the winner is loaded in
        full: resuming costs the size of that session, not of every session of the project."""
        from skipjack.sessions.recency import quick_updated

        ranked: builtins.list[tuple[int, str, Path, Session | None]] = []
        for path in self._paths(cwd):
            updated = quick_updated(path)
            if updated is not None:
                ranked.append((updated, path.stem, path, None))
                continue
            try:
                loaded = Session.load(path)
            except (SessionError, OSError):
                continue
            ranked.append((loaded.updated, loaded.id, path, loaded))
        ranked.sort(key=lambda r: (r[0], r[1]), reverse=True)
        for _, _, path, known in ranked:
            if known is not None:
                return known
            try:
                return Session.load(path)
            except (SessionError, OSError):
                continue  # its ends looked fine but the middle does not load: the next one
        return None

    def list(self, cwd: Path | None = None) -> builtins.list[SessionSummary]:
        """Sessions of the project `cwd` is in (all projects when None), latest first."""
        out = [_summarise(p) for p in self._paths(cwd)]
        out.sort(key=lambda s: (s.updated, s.id), reverse=True)
        return out

    def delete(self, session_id: str) -> None:
        """Delete a session by its full id only: a prefix that happens to be unique today is
        too easy to mistype into the wrong session."""
        if not _FULL_ID.fullmatch(session_id):
            check_id_text(session_id)
            raise SessionNotFoundError(f"deleting needs the whole session id, not {session_id!r}")
        path = self.path_of(session_id)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            _lock(fd, path)  # refuse to delete a session another process is writing
            path.unlink()
        finally:
            os.close(fd)
        for backup in path.parent.glob(f"{path.stem}.v*.bak"):
            with contextlib.suppress(FileNotFoundError):
                backup.unlink()

    def export_markdown(self, session_id: str, cwd: Path | None = None) -> str:
        from skipjack.sessions.export import to_markdown

        return to_markdown(self.open(session_id, cwd))


_TEMPLATE = "00000000-000000-xxxxxx"
"""The shape of the ids `new_session_id` writes: UTC date, time, then six hex digits."""
_FULL_ID = re.compile(r"[0-9]{8}-[0-9]{6}-[0-9a-f]{6}")
_CANDIDATES = 10


def check_id_text(text: str) -> None:
    """Refuse anything that is not a session id or a prefix of one: glob characters, `/`, `..`,
    whitespace and other spellings never reach the file system."""
    fits = 0 < len(text) <= len(_TEMPLATE) and all(
        (c.isascii() and c.isdigit()) if t == "0" else c == "-" if t == "-" else c in "0123456789abcdef"
        for c, t in zip(text, _TEMPLATE, strict=False)
    )
    if not fits:
        raise SessionNotFoundError(f"{text!r} is not a session id (ids look like 20260131-142501-9f3a1c)")


def _summarise(path: Path) -> SessionSummary:
    try:
        s = Session.load(path)
    except (SessionError, OSError) as e:
        stat = path.stat()
        mtime = int(stat.st_mtime * 1000)
        return SessionSummary(path.stem, str(path), "", "", "(unreadable)", mtime, mtime, None, 0, 0.0, error=str(e))
    return SessionSummary(
        id=s.id,
        path=str(path),
        project=s.header.project,
        cwd=s.cwd,
        title=s.title,
        created=s.header.created,
        updated=s.updated,
        model=s.model,
        messages=s.message_count,
        cost=s.usage_totals().cost.total,
        forked_from=s.header.forked_from.session if s.header.forked_from else None,
        unpriced=s.unpriced_requests(),
    )


__all__ = [
    "SessionLockedError",
    "SessionStore",
    "SessionSummary",
    "check_id_text",
    "data_dir",
    "project_dir_name",
    "project_root",
]
