"""A test client for `skipjack rpc`: a real subprocess, commands in, events out, with deadlines."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from tests.cli.helpers import SKIPJACK


class RpcProcess:
    def __init__(self, *args: str, cwd: Path, env: dict[str, str]) -> None:
        full_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")} | env
        self.proc = subprocess.Popen(
            [str(SKIPJACK), "rpc", *args],
            cwd=cwd,
            env=full_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self._ids = 0
        self.backlog: list[dict[str, Any]] = []
        """Lines that went by while `call` waited for its response (events a command emits
        come before its response), searched first by `until`."""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(json.loads(raw))  # a line that is not JSON fails the test here
        self.lines.put(None)

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, kind: str, **fields: Any) -> int:
        self._ids += 1
        self.send_raw(json.dumps({"type": kind, "id": self._ids, **fields}).encode() + b"\n")
        return self._ids

    def next(self, timeout: float = 20) -> dict[str, Any]:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line within {timeout} s; seen: {[s['type'] for s in self.seen[-20:]]}") from None
        if line is None:
            raise AssertionError(f"skipjack rpc ended early: {self.stderr()}")
        self.seen.append(line)
        return line

    def until(self, kind: str, timeout: float = 20, **match: Any) -> dict[str, Any]:
        for i, line in enumerate(self.backlog):
            if line["type"] == kind and all(line.get(k) == v for k, v in match.items()):
                del self.backlog[: i + 1]
                return line
        self.backlog.clear()
        deadline = time.monotonic() + timeout
        while True:
            line = self.next(max(0.1, deadline - time.monotonic()))
            if line["type"] == kind and all(line.get(k) == v for k, v in match.items()):
                return line

    def response(self, command_id: int, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            line = self.next(max(0.1, deadline - time.monotonic()))
            if line["type"] == "response" and line.get("id") == command_id:
                return line
            self.backlog.append(line)

    def call(self, kind: str, **fields: Any) -> dict[str, Any]:
        return self.response(self.send(kind, **fields))

    def close(self, timeout: float = 20) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(timeout)

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
