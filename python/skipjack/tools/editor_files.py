"""Files as an editor holds them: its unsaved buffers, read and written through the editor.

A front end that runs inside an editor (ACP's `fs/read_text_file` and `fs/write_text_file`)
puts an `EditorFiles` in the agent's tool state; the read, edit and write tools then read the
buffer the user sees (unsaved changes included) and hand their changes to the editor, which
applies them to the buffer (and its undo history) instead of the file changing under it.
Without one, the tools work on the disk, locked and atomic.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

from skipjack.tools._filelock import LockedFile, locked_file, open_regular

STATE_KEY = "editor_files"


class EditorFiles(Protocol):
    async def read_text(self, path: Path) -> str:
        """The file's text as the editor has it; raises `OSError` when it cannot."""
        ...

    async def write_text(self, path: Path, text: str) -> None:
        """Replace (or create) the file's text in the editor; raises `OSError` when it cannot."""
        ...


def editor_files(state: dict[str, Any]) -> EditorFiles | None:
    files = state.get(STATE_KEY)
    return files if files is not None else None


class EditorFile:
    """`LockedFile`'s interface over an editor buffer: read returns the buffer's text (as
    UTF-8), write keeps the new text until the change is complete, then sends it."""

    def __init__(self, path: Path, st: os.stat_result | None, text: str | None) -> None:
        self.path = path
        self.st = st
        self._text = text
        self.pending: str | None = None

    def read(self) -> bytes:
        assert self._text is not None
        return self._text.encode("utf-8", "surrogatepass")

    def write(self, data: bytes) -> None:
        try:
            self.pending = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise OSError(f"the editor takes UTF-8 text only ({e.reason})") from None


@contextlib.asynccontextmanager
async def file_for_change(path: Path, state: dict[str, Any]) -> AsyncIterator[LockedFile | EditorFile]:
    """The file to read and replace: the editor's buffer when an editor serves files, else the
    file on disk under skipjack's lock."""
    files = editor_files(state)
    if files is None:
        async with locked_file(path) as held:
            yield held
        return
    # Still refuse what is not a regular file (FIFOs, devices) before asking the editor.
    try:
        os.close(open_regular(path))
        st: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        st = None
    text = await files.read_text(path) if st is not None else None
    handle = EditorFile(path, st, text)
    yield handle
    if handle.pending is not None:
        await files.write_text(path, handle.pending)
