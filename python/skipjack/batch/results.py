"""`DIR/results.jsonl`: one line per finished task, appended whole, read back to resume."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

FINISHED = ("passed", "failed", "completed", "error")
FAILED = ("failed", "error")


class Results:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.path = out / "results.jsonl"

    def append(self, result: dict[str, Any]) -> None:
        # One write(2) of the whole line on an O_APPEND descriptor: a kill leaves either the
        # line or nothing (a torn tail from an older crash is skipped by `load`).
        line = json.dumps(result, separators=(",", ":")).encode() + b"\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)

    def load(self) -> dict[str, dict[str, Any]]:
        """The latest result of each task id (a retried task's last line wins)."""
        latest: dict[str, dict[str, Any]] = {}
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return latest
        for line in raw.splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and isinstance(record.get("id"), str) and record.get("status") in FINISHED:
                latest[record["id"]] = record
        return latest
