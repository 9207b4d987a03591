"""Prompt history kept per project across restarts, as shells keep theirs.

One JSON string per line in `<data dir>/history/<project>.jsonl` (the sessions' data dir and
project naming), mode 0600 since prompts may hold secrets, capped at `MAX_KEPT` entries:
the file is rewritten to the newest `MAX_KEPT` once it holds twice that many.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from skipjack.sessions.store import data_dir, project_dir_name, project_root

MAX_KEPT = 500
MAX_PROMPT_CHARS = 20_000
"""A pasted file is not history worth keeping."""


def history_path(env: Mapping[str, str], cwd: Path) -> Path:
    return data_dir(env) / "history" / f"{project_dir_name(project_root(cwd))}.jsonl"


class PromptHistory:
    def __init__(self, env: Mapping[str, str], cwd: Path) -> None:
        self.path = history_path(env, cwd)
        self._lines = 0

    def load(self) -> list[str]:
        """Oldest first; an unreadable file or line is skipped (history is a convenience)."""
        try:
            raw = self.path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            return []
        self._lines = len(raw)
        out: list[str] = []
        for line in raw:
            with contextlib.suppress(ValueError):
                item = json.loads(line)
                if isinstance(item, str) and (not out or out[-1] != item):
                    out.append(item)
        return out[-MAX_KEPT:]

    def add(self, text: str) -> None:
        """Append `text`; best effort (a read-only data dir only loses the history)."""
        if not text.strip() or len(text) > MAX_PROMPT_CHARS:
            return
        with contextlib.suppress(OSError):
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                f.write(json.dumps(text, ensure_ascii=False) + "\n")
            os.chmod(self.path, 0o600)  # a file made by an older version or a looser umask
            self._lines += 1
            if self._lines > 2 * MAX_KEPT:
                self._compact()

    def _compact(self) -> None:
        kept = self.load()
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.writelines(json.dumps(t, ensure_ascii=False) + "\n" for t in kept)
        os.replace(tmp, self.path)
        self._lines = len(kept)
