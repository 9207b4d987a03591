"""A small regular file is read on the event loop's thread (no worker hop); anything else,
or a file that grows past what was expected while it is read, still goes to a worker."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _tool_helpers import text_of

from skipjack.agent.tool import ToolContext
from skipjack.tools import _files
from skipjack.tools._files import CancelFlag, run_cancellable
from skipjack.tools._text import line_hash
from skipjack.tools.read import INLINE_READ_BYTES, ReadArgs, ReadTool


@pytest.fixture
def hops(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions sent to a worker thread."""
    sent: list[str] = []
    real = asyncio.to_thread

    async def to_thread(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(_files.asyncio, "to_thread", to_thread)
    return sent


async def test_inline_work_runs_on_the_callers_thread() -> None:
    here = threading.get_ident()

    def work(flag: CancelFlag) -> int:
        flag.check()
        flag.check()
        return threading.get_ident()

    assert await run_cancellable(work, inline_checks=2) == here
    assert await run_cancellable(work) != here


async def test_work_longer_than_announced_is_redone_in_a_thread() -> None:
    here = threading.get_ident()
    calls: list[int] = []

    def work(flag: CancelFlag) -> str:
        calls.append(threading.get_ident())
        for _ in range(3):
            flag.check()
        return "whole"

    assert await run_cancellable(work, inline_checks=2) == "whole"
    assert calls[0] == here
    assert calls[1] != here
    assert len(calls) == 2


async def test_inline_failure_is_the_callers_error_not_a_retry() -> None:
    calls = 0

    def work(flag: CancelFlag) -> None:
        nonlocal calls
        calls += 1
        raise OSError("boom")

    with pytest.raises(OSError, match="boom"):
        await run_cancellable(work, inline_checks=2)
    assert calls == 1


async def test_small_file_is_read_without_a_worker(ctx: ToolContext, tmp_path: Path, hops: list[str]) -> None:
    (tmp_path / "a.txt").write_text("one\ntwo\n")
    out = await ReadTool().execute(ReadArgs("a.txt"), ctx)
    assert text_of(out).splitlines() == [f"1:{line_hash('one')}|one", f"2:{line_hash('two')}|two"]
    assert hops == []


async def test_large_file_still_goes_to_a_worker(ctx: ToolContext, tmp_path: Path, hops: list[str]) -> None:
    line = "x" * 99 + "\n"
    (tmp_path / "big.txt").write_text(line * (INLINE_READ_BYTES // len(line) + 1))
    out = await ReadTool().execute(ReadArgs("big.txt", limit=2), ctx)
    assert not out.is_error
    assert "|" + "x" * 99 in text_of(out)
    assert len(hops) == 1


async def test_fifo_and_directory_are_not_read_inline(ctx: ToolContext, tmp_path: Path, hops: list[str]) -> None:
    os.mkfifo(tmp_path / "pipe")
    out = await asyncio.wait_for(ReadTool().execute(ReadArgs("pipe"), ctx), 5)
    assert out.is_error
    assert "not read" in text_of(out)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_text("x")
    out = await ReadTool().execute(ReadArgs("d"), ctx)
    assert not out.is_error
    assert "f" in text_of(out)
    assert len(hops) == 2


async def test_symlink_to_small_file_and_to_fifo(ctx: ToolContext, tmp_path: Path, hops: list[str]) -> None:
    (tmp_path / "t.txt").write_text("target\n")
    (tmp_path / "link").symlink_to(tmp_path / "t.txt")
    out = await ReadTool().execute(ReadArgs("link"), ctx)
    assert "|target" in text_of(out)
    assert hops == []
    os.mkfifo(tmp_path / "p2")
    (tmp_path / "plink").symlink_to(tmp_path / "p2")
    out = await asyncio.wait_for(ReadTool().execute(ReadArgs("plink"), ctx), 5)
    assert out.is_error


async def test_file_growing_past_one_chunk_while_read_inline_is_read_whole(
    ctx: ToolContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hops: list[str]
) -> None:
    """The stat said small; by the time it is read it is several chunks long: the inline run
    stops at its third check and the worker reads it all (line count exact)."""
    from skipjack.tools import read as read_mod

    path = tmp_path / "grows.txt"
    path.write_text("a\n")
    monkeypatch.setattr(read_mod, "_CHUNK", 16)
    real = read_mod._small_regular_file

    def small_then_grow(p: Path) -> bool:
        answer = real(p)
        p.write_text("".join(f"line {i}\n" for i in range(50)))
        return answer

    monkeypatch.setattr(read_mod, "_small_regular_file", small_then_grow)
    out = await ReadTool().execute(ReadArgs("grows.txt"), ctx)
    lines = [ln for ln in text_of(out).splitlines() if "|" in ln]
    assert len(lines) == 50
    assert lines[-1].endswith("|line 49")
    assert len(hops) == 1
