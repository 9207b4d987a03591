"""The editor's files over ACP (`fs/read_text_file`, `fs/write_text_file`), for the file tools.

Offered only when the client says it serves both: then the model reads what the user sees in
the editor (unsaved changes included) and its edits land in the editor's buffers, where the
user can review and undo them, rather than on disk under an open buffer.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import acp

REQUEST_TIMEOUT_S = 30.0


class ClientFiles:
    """`tools.editor_files.EditorFiles` over one ACP connection and session."""

    def __init__(self, conn: acp.Client, session_id: Callable[[], str | None]) -> None:
        self._conn = conn
        self._session_id = session_id
        self._read: dict[Path, str] = {}
        self.changes: dict[Path, tuple[str | None, str]] = {}
        """Path → (text before, text after) of the last change sent, for the diff update."""

    def _session(self) -> str:
        sid = self._session_id()
        if sid is None:
            raise OSError("no editor session is open")
        return sid

    async def read_text(self, path: Path) -> str:
        import asyncio

        try:
            response = await asyncio.wait_for(
                self._conn.read_text_file(session_id=self._session(), path=str(path)), REQUEST_TIMEOUT_S
            )
        except acp.RequestError as e:
            raise OSError(f"the editor refused to read it: {_message(e)}") from None
        except TimeoutError:
            raise OSError(f"the editor did not answer within {REQUEST_TIMEOUT_S:.0f} s") from None
        text = response.content
        self._read[path] = text
        return text

    async def write_text(self, path: Path, text: str) -> None:
        import asyncio

        try:
            await asyncio.wait_for(
                self._conn.write_text_file(session_id=self._session(), path=str(path), content=text),
                REQUEST_TIMEOUT_S,
            )
        except acp.RequestError as e:
            raise OSError(f"the editor refused to write it: {_message(e)}") from None
        except TimeoutError:
            raise OSError(f"the editor did not answer within {REQUEST_TIMEOUT_S:.0f} s") from None
        self.changes[path] = (self._read.pop(path, None), text)

    def take_change(self, path: Path) -> tuple[str | None, str] | None:
        return self.changes.pop(path, None)


def offers_files(client_capabilities: Any) -> bool:
    fs = getattr(client_capabilities, "fs", None)
    return bool(getattr(fs, "read_text_file", False) and getattr(fs, "write_text_file", False))


def _message(error: acp.RequestError) -> str:
    data = getattr(error, "data", None)
    text = str(getattr(error, "message", None) or error)
    return f"{text} ({data})" if data else text
