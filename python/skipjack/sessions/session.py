"""One session: its entries in memory, appended to its file as they happen.

Writing: the file is opened with O_APPEND and locked (flock) by the one process writing it;
each entry is one `write` of its line, newline included, straight to the kernel (no Python
buffer to lose), and `sync()` (fsync) is called at the end of each turn. A kill therefore
loses at most the line being written, which the reader then reports and skips.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from skipjack.agent.retry import retried
from skipjack.agent.tool_pairing import interrupted_result, pair_items, unanswered_calls
from skipjack.llm.types import (
    AssistantMessage,
    CostSource,
    InputContent,
    Message,
    ToolResultMessage,
    Usage,
    UserMessage,
    now_ms,
    text_of,
)
from skipjack.sessions.errors import LoadWarning, SessionChangedError, SessionError, SessionLockedError
from skipjack.sessions.format import (
    FORMAT_VERSION,
    CompactionEntry,
    CompactionTrigger,
    Entry,
    EventEntry,
    MessageEntry,
    ModelChangeEntry,
    SessionHeader,
    UsageEntry,
    encoder,
    new_entry_id,
    summary_message,
)
from skipjack.sessions.reader import LoadedFile, read_session
from skipjack.sessions.tally import UsageTally

FILE_MODE = 0o600
DIR_MODE = 0o700
TITLE_CHARS = 80


class Session:
    """Create through `SessionStore`; `Session.load(path)` reads a file without locking it."""

    def __init__(self, path: Path, loaded: LoadedFile, fd: int | None = None) -> None:
        self.path = path
        self.header = loaded.header
        self.warnings: list[LoadWarning] = loaded.warnings
        """What loading recovered from (a torn last line)."""
        self._entries = loaded.entries
        self._index = {e.id: i for i, e in enumerate(self._entries)}
        self._totals = {True: _Totals(), False: _Totals()}
        """Usage by `include_forked`, kept up to date by `_add`."""
        for i, e in enumerate(self._entries):
            self._count(i, e)
        self._latest_compaction: CompactionEntry | None = next(
            (e for e in reversed(self._entries) if isinstance(e, CompactionEntry)), None
        )
        self._version = loaded.version
        self._size = loaded.size
        self._good_size = loaded.good_size
        self._fd = fd
        self._pending_syncs: list[Future[None]] = []
        """The fsyncs `sync_soon` handed to the worker, oldest first, until checked."""
        self.write_failures: list[WriteFailure] = []
        """Entries that could not be written (disk full, I/O error, ...), in order: a front end
        must tell the user, since the file no longer holds everything that happened."""

    # -- opening -------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path) -> Session:
        return cls(path, read_session(path))

    @classmethod
    def create(cls, path: Path, header: SessionHeader, entries: Iterable[Entry] = ()) -> Session:
        """Write a new session file (header, then any entries) and keep it open for appending."""
        path.parent.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        try:
            _lock(fd, path)
            os.fchmod(fd, FILE_MODE)  # the mode given to open() is masked by the umask
            session = cls(path, LoadedFile(header, []), fd)
            session._write(encoder.encode(header) + b"\n")
            for entry in entries:
                session._add(entry)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                path.unlink()
            raise
        # The file and its name reach the disk on the fsync worker (see `sync_soon`): a new
        # session's first request need not wait for the disk; `sync` and `close` wait for it,
        # and a failure is reported as any background fsync's is.
        session.sync_soon()
        session._pending_syncs.append(_sync_worker().submit(_fsync_dir, path.parent))
        return session

    # -- facts ---------------------------------------------------------------------------

    @property
    def id(self) -> str:
        return self.header.id

    @property
    def cwd(self) -> str:
        return self.header.cwd

    @property
    def model(self) -> str | None:
        """The current model, `provider/model-id`: the header's, or the last change's."""
        for e in reversed(self._entries):
            if isinstance(e, ModelChangeEntry):
                return e.model
        return self.header.model

    @property
    def title(self) -> str:
        for e in self._entries:
            if isinstance(e, MessageEntry) and isinstance(e.message, UserMessage):
                text = " ".join(content_text(e.message.content).split())
                if text:
                    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1].rstrip() + "…"
        return "(no messages)"

    @property
    def updated(self) -> int:
        return self._entries[-1].ts if self._entries else self.header.created

    @property
    def message_count(self) -> int:
        return sum(1 for e in self._entries if isinstance(e, MessageEntry))

    def all_entries(self) -> list[Entry]:
        """The full history, compacted parts included."""
        return list(self._entries)

    def entry(self, entry_id: str) -> Entry:
        try:
            return self._entries[self._index[entry_id]]
        except KeyError:
            raise SessionError(f"session {self.id} has no entry {entry_id!r}") from None

    def index_of(self, entry_id: str) -> int:
        self.entry(entry_id)
        return self._index[entry_id]

    def latest_compaction(self) -> CompactionEntry | None:
        # Kept up to date by `_add`: asked before every model call, a scan back through a
        # long session without any compaction made each turn cost the whole history.
        return self._latest_compaction

    # -- the model's context -------------------------------------------------------------

    def context_entries(self) -> list[tuple[str, Message]]:
        """`messages()` with the id of the entry each came from (a summary: its compaction; a
        result synthesized for a call the file has none for: the call's assistant message)."""
        recorded = self._recorded_context()
        # A retried turn's failed reply stays in the file, never in the context.
        gone = retried([m for _, m in recorded])
        return pair_items(
            [item for i, item in enumerate(recorded) if i not in gone],
            lambda item: item[1],
            lambda asked, call: (asked[0], interrupted_result(call, _as_assistant(asked[1]))),
        )

    def _recorded_context(self) -> list[tuple[str, Message]]:
        """The context exactly as written, which a killed run may have left with tool calls
        unanswered (see `skipjack.agent.tool_pairing`)."""
        compaction = self.latest_compaction()
        if compaction is None:
            return [(e.id, e.message) for e in self._entries if isinstance(e, MessageEntry)]
        out: list[tuple[str, Message]] = [(compaction.id, summary_message(compaction))]
        start = self._index[compaction.first_kept] if compaction.first_kept else self._index[compaction.id]
        out += [(e.id, e.message) for e in self._entries[start:] if isinstance(e, MessageEntry)]
        return out

    def messages(self) -> list[Message]:
        """The context as the model should see it: the latest summary, then what was kept and came after."""
        return [m for _, m in self.context_entries()]

    # -- accounting ----------------------------------------------------------------------

    def usage_items(self, *, include_forked: bool = True) -> Iterator[tuple[str, Usage]]:
        """(`provider/model`, usage) of every request this session paid for, in order."""
        skip = self.header.forked_from.entries if self.header.forked_from and not include_forked else 0
        for e in self._entries[skip:]:
            if isinstance(e, MessageEntry) and isinstance(e.message, AssistantMessage):
                yield e.message.model_ref, e.message.usage
            elif isinstance(e, CompactionEntry | UsageEntry):
                yield e.model, e.usage

    def unpriced_requests(self, *, include_forked: bool = True) -> int:
        """Requests recorded with an unknown cost (their model had no price)."""
        return self._totals[include_forked].unpriced

    def usage_totals(self, *, include_forked: bool = True) -> Usage:
        """Every message, summary and failed request; `include_forked=False` leaves out what a
        fork copied from its parent session (already counted there). Kept as entries are
        added (`_Totals`), so asking after every turn costs nothing however long the session."""
        return self._totals[include_forked].all.total()

    def by_model(self, *, include_forked: bool = True) -> dict[str, Usage]:
        return {ref: t.total() for ref, t in self._totals[include_forked].models.items()}

    def _count(self, index: int, entry: Entry) -> None:
        item = _charged(entry)
        if item is None:
            return
        ref, usage, unknown = item
        own = index >= (self.header.forked_from.entries if self.header.forked_from else 0)
        for totals in (self._totals[True], self._totals[False]) if own else (self._totals[True],):
            totals.all.add(usage)
            totals.models.setdefault(ref, UsageTally()).add(usage)
            totals.unpriced += unknown

    # -- appending -----------------------------------------------------------------------

    def append_message(self, message: Message) -> MessageEntry:
        entry = MessageEntry(self._new_id(), self._parent(), now_ms(), message)
        self._add(entry)
        return entry

    def append_compaction(
        self,
        summary: str,
        *,
        first_kept: str | None,
        tokens_before: int,
        model: str,
        usage: Usage,
        requests: int = 1,
        trigger: CompactionTrigger = "manual",
        focus: str | None = None,
        cost_source: CostSource = "computed",
    ) -> CompactionEntry:
        if first_kept is not None and not isinstance(self.entry(first_kept), MessageEntry):
            raise SessionError(f"first_kept {first_kept!r} is not a message entry")
        entry = CompactionEntry(
            self._new_id(),
            self._parent(),
            now_ms(),
            summary,
            first_kept,
            tokens_before,
            model,
            usage,
            requests=requests,
            trigger=trigger,
            focus=focus,
            cost_source=cost_source,
        )
        self._add(entry)
        return entry

    def append_model_change(self, model: str) -> ModelChangeEntry:
        entry = ModelChangeEntry(self._new_id(), self._parent(), now_ms(), model)
        self._add(entry)
        return entry

    def append_usage(
        self, model: str, usage: Usage, reason: str, *, cost_source: CostSource = "computed"
    ) -> UsageEntry:
        entry = UsageEntry(self._new_id(), self._parent(), now_ms(), model, usage, reason, cost_source)
        self._add(entry)
        return entry

    def append_event(self, name: str, data: dict[str, Any] | None = None) -> EventEntry:
        entry = EventEntry(self._new_id(), self._parent(), now_ms(), name, data or {})
        self._add(entry)
        return entry

    def answer_open_calls(self) -> list[ToolResultMessage]:
        """Append an "interrupted" result for each call of the last assistant message that has
        none in the file (a run that was killed, or stopped without waiting for its tools), so
        the file itself is whole again. Returns what was appended."""
        added = [interrupted_result(c) for c in unanswered_calls([m for _, m in self._recorded_context()])]
        for result in added:
            self.append_message(result)
        return added

    def sync(self) -> None:
        """fsync: what was appended survives a power cut, not just a crash."""
        self._finish_sync()
        if self._fd is not None:
            try:
                os.fsync(self._fd)
            except OSError as e:
                self.write_failures.append(WriteFailure("the entries written since the last sync", e))
                raise

    def sync_soon(self) -> None:
        """Have what was appended so far fsynced by a worker thread; return at once.

        Between turns the loop's next step is a model request, which need not wait for the
        disk: every line is already in the kernel (one `write` each), so a crash or kill loses
        nothing either way, and a power cut during the fsync loses the same turn whether the
        request waited or not. What is kept: the fsyncs run one at a time, in order (one
        worker); `sync` and `close` wait for them and raise a failure; `check_sync` reports
        a failure at the next message, before that turn's tools run."""
        self.check_sync()
        if self._fd is None:
            return
        last = self._pending_syncs[-1] if self._pending_syncs else None
        if last is not None and not last.running() and not last.done():
            return  # one is queued and not started: it will cover these lines too
        self._pending_syncs.append(_sync_worker().submit(os.fsync, self._fd))

    def check_sync(self) -> None:
        """Raise the failure of a background fsync that has finished with one (never waits)."""
        while self._pending_syncs and self._pending_syncs[0].done():
            self._result_of(self._pending_syncs.pop(0))

    def _finish_sync(self) -> None:
        """Wait for every background fsync; raise the first failure."""
        pending, self._pending_syncs = self._pending_syncs, []
        failure: OSError | None = None
        for future in pending:
            try:
                self._result_of(future)
            except OSError as e:
                failure = failure or e
        if failure is not None:
            raise failure

    def _result_of(self, future: Future[None]) -> None:
        try:
            future.result()
        except OSError as e:
            self.write_failures.append(WriteFailure("the entries written since the last sync", e))
            raise

    def close(self) -> None:
        try:
            self._finish_sync()
        finally:
            if self._fd is not None:
                fd, self._fd = self._fd, None
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _new_id(self) -> str:
        return new_entry_id(self._index)

    def _parent(self) -> str | None:
        return self._entries[-1].id if self._entries else None

    def _add(self, entry: Entry) -> None:
        if entry.id in self._index:
            raise SessionError(f"entry id {entry.id!r} already in session {self.id}")
        try:
            self._write(encoder.encode(entry) + b"\n")
        except OSError as e:
            self.write_failures.append(WriteFailure(describe_entry(entry), e))
            raise
        self._index[entry.id] = len(self._entries)
        self._count(len(self._entries), entry)
        self._entries.append(entry)
        if isinstance(entry, CompactionEntry):
            self._latest_compaction = entry

    def _write(self, line: bytes) -> None:
        fd = self._writable()
        start = self._size
        view = memoryview(line)
        try:
            while view:
                view = view[os.write(fd, view) :]
        except BaseException:
            # A failed write (disk full, ...) must not leave half a line for the next one to
            # follow: cut the file back to where this line began.
            with contextlib.suppress(OSError):
                os.ftruncate(fd, start)
            raise
        self._size = start + len(line)

    def _writable(self) -> int:
        if self._fd is not None:
            return self._fd
        fd = _open_locked(self.path)
        try:
            if os.fstat(fd).st_size != self._size:
                raise SessionChangedError(f"{self.path} changed on disk since it was loaded; reopen it")
            if self._version < FORMAT_VERSION:
                self._rewrite_current_version()
                # The rewrite replaced the file; the lock we hold is on the old one (now the backup).
                new_fd = _open_locked(self.path)
                os.close(fd)
                fd = new_fd
            elif self._good_size < self._size:
                os.ftruncate(fd, self._good_size)  # drop the torn tail reported on load
                self._size = self._good_size
            os.fchmod(fd, FILE_MODE)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        return fd

    def _rewrite_current_version(self) -> None:
        """Before the first append to an older-format file: rewrite it in the current format,
        keeping the original beside it (`<id>.v<N>.bak`)."""
        backup = self.path.with_name(f"{self.path.stem}.v{self._version}.bak")
        tmp = self.path.with_name(f".{self.path.name}.migrating")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        header = SessionHeader(
            version=FORMAT_VERSION,
            id=self.header.id,
            created=self.header.created,
            cwd=self.header.cwd,
            project=self.header.project,
            model=self.header.model,
            forked_from=self.header.forked_from,
        )
        body = b"".join(encoder.encode(x) + b"\n" for x in [header, *self._entries])
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, FILE_MODE)
        try:
            view = memoryview(body)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if not backup.exists():
            os.link(self.path, backup)
        os.replace(tmp, self.path)
        _fsync_dir(self.path.parent)
        self.header = header
        self._version = FORMAT_VERSION
        self._size = self._good_size = len(body)


_worker: ThreadPoolExecutor | None = None
_worker_lock = threading.Lock()


def _sync_worker() -> ThreadPoolExecutor:
    """One thread for every session's background fsyncs, so they run in the order asked.
    Its threads are joined at interpreter exit: a pending fsync finishes before the process ends."""
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="session-fsync")
        return _worker


class _Totals:
    def __init__(self) -> None:
        self.all = UsageTally()
        self.models: dict[str, UsageTally] = {}
        self.unpriced = 0


def _charged(entry: Entry) -> tuple[str, Usage, bool] | None:
    """(`provider/model`, usage, cost unknown) of an entry that was paid for (as `usage_items`)."""
    if isinstance(entry, MessageEntry) and isinstance(entry.message, AssistantMessage):
        return entry.message.model_ref, entry.message.usage, entry.message.cost_source == "unknown"
    if isinstance(entry, CompactionEntry | UsageEntry):
        return entry.model, entry.usage, entry.cost_source == "unknown"
    return None


def _as_assistant(message: Message) -> AssistantMessage | None:
    return message if isinstance(message, AssistantMessage) else None


class WriteFailure:
    """An entry that was not saved, and why."""

    def __init__(self, what: str, error: OSError) -> None:
        self.what = what
        self.error = error

    def __repr__(self) -> str:
        return f"WriteFailure({self.what!r}, {self.error!r})"


def describe_entry(entry: Entry) -> str:
    """What an entry is, for a user told it was not saved ("the assistant's reply")."""
    if isinstance(entry, MessageEntry):
        m = entry.message
        if isinstance(m, AssistantMessage):
            return "an assistant message" + (" with tool calls" if m.tool_calls else "")
        if isinstance(m, ToolResultMessage):
            return f"the result of a {m.tool_name} call"
        return "a user message"
    if isinstance(entry, CompactionEntry):
        return "a compaction summary"
    if isinstance(entry, ModelChangeEntry):
        return "a model change"
    if isinstance(entry, UsageEntry):
        return "a usage record"
    return f"the {entry.name} event"


def unsaved_summary(session: Session) -> str | None:
    """One sentence on what the session file is missing, or None when every write succeeded."""
    failures = session.write_failures
    if not failures:
        return None
    first = failures[0]
    more = f" and {len(failures) - 1} later entr{'y' if len(failures) == 2 else 'ies'}" if len(failures) > 1 else ""
    reason = first.error.strerror or str(first.error)
    return f"the session was not fully saved: {first.what}{more} could not be written to {session.path} ({reason})"


def content_text(content: str | list[InputContent]) -> str:
    return text_of(content)


def _lock(fd: int, path: Path) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise SessionLockedError(f"{path} is being written by another skipjack process") from None


def _open_locked(path: Path) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    try:
        _lock(fd, path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
