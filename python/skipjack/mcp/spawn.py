"""Starting a stdio MCP server's program, without the SDK.

The SDK takes longer to import than a typical server takes to start (pydantic, anyio, httpx:
0.5 s idle, seconds on a loaded machine), so the session spawns its stdio servers first, with
plain `subprocess`, and hands their pipes to the SDK's `ClientSession` once it has loaded
(`pipes.process_streams`). The program gets what the SDK's own `stdio_client` would give it:
the small default environment plus the server's `env`, its own session (so the whole process
tree can be stopped), stderr to a log file.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import TextIO

import msgspec

from skipjack.mcp.specs import ServerSpec

INHERITED_ENV = ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")
"""The variables the SDK's stdio client passes on (`mcp.client.stdio.DEFAULT_INHERITED_ENV_VARS`
on POSIX): a server sees no API key of ours unless its `env` names it."""


class Spawned(msgspec.Struct):
    """A stdio server's program, started (or not: `error`) before the SDK was ready."""

    process: subprocess.Popen[bytes] | None
    error: BaseException | None
    at: float
    """`time.monotonic()` just before the spawn: the server's own start."""


def server_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k in INHERITED_ENV if (v := os.environ.get(k)) is not None and not v.startswith("()")}
    return env | extra


def stdio_cwd(spec: ServerSpec, default: Path) -> str:
    return os.path.expanduser(spec.config.cwd) if spec.config.cwd else str(default)


def spawn(spec: ServerSpec, *, cwd: Path, errlog: TextIO) -> Spawned:
    """Start the program now; never raises (a program that cannot start is `error`)."""
    cfg = spec.config
    assert cfg.command is not None
    at = time.monotonic()
    try:
        process = subprocess.Popen(
            [cfg.command, *cfg.args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errlog,
            cwd=stdio_cwd(spec, cwd),
            env=server_env(dict(cfg.env)),
            start_new_session=True,
        )
    except (OSError, ValueError, subprocess.SubprocessError) as e:
        return Spawned(None, e, at)
    return Spawned(process, None, at)


def kill_tree(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server's process group (it is its own session leader) and reap it."""
    if process.poll() is None:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            process.kill()
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        process.wait(2)


def open_errlog(log_dir: Path | None, name: str) -> TextIO:
    """The server's stderr goes to a log file (never the terminal a UI is drawing on)."""
    if log_dir is not None:
        try:
            log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            return open(log_dir / f"{name}.log", "w+", encoding="utf-8")
        except OSError:
            pass
    import tempfile  # only when the log folder cannot be made: not paid at every start

    return tempfile.TemporaryFile("w+", encoding="utf-8")


def spawn_enabled(specs: list[ServerSpec], *, cwd: Path, log_dir: Path | None) -> dict[str, tuple[Spawned, TextIO]]:
    """Every enabled stdio server's program, now (a few ms each), with its stderr log."""
    out: dict[str, tuple[Spawned, TextIO]] = {}
    for spec in specs:
        if spec.config.enabled and spec.config.command:
            errlog = open_errlog(log_dir, spec.name)
            out[spec.name] = (spawn(spec, cwd=cwd, errlog=errlog), errlog)
    return out
