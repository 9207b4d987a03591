from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from _tool_helpers import text_of

from skipjack.agent.tool import ToolContext, ToolOutput
from skipjack.tools._procgroup import group_alive
from skipjack.tools.bash import BashArgs, BashTool


def group_members(pgid: int) -> list[str]:
    """Live processes in group `pgid`, as `pid state comm`, straight from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            found.append(f"{entry.name} {fields[0]} {comm}")
    return found


async def run(ctx: ToolContext, command: str, **kw: object) -> ToolOutput:
    return await BashTool().execute(BashArgs(command, **kw), ctx)  # type: ignore[arg-type]


async def test_output_and_exit_code(ctx: ToolContext) -> None:
    out = await run(ctx, "echo hello; echo oops >&2; exit 3")
    assert out.is_error
    text = text_of(out)
    assert "hello" in text
    assert "oops" in text
    assert "exit code 3" in text
    assert out.details is not None
    assert out.details["exit_code"] == 3
    assert out.details["timed_out"] is False
    assert out.details["duration_s"] >= 0


async def test_success_runs_in_cwd_with_controlled_env(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    out = await run(ctx, 'pwd; echo "$PAGER $GIT_PAGER $TERM"; read -r x || echo no-stdin', cwd="sub")
    assert not out.is_error
    lines = text_of(out).splitlines()
    assert lines[0] == str((tmp_path / "sub").resolve())
    assert lines[1] == "cat cat dumb"
    assert lines[2] == "no-stdin"
    assert "exit code 0" in lines[-1]


async def test_streams_updates_as_output_arrives(tmp_path: Path) -> None:
    seen: list[tuple[float, str]] = []
    ctx = ToolContext(cwd=tmp_path, on_update=lambda chunk: seen.append((time.monotonic(), chunk)))
    start = time.monotonic()
    out = await run(ctx, "echo first; sleep 0.6; echo second")
    end = time.monotonic()
    assert "".join(chunk for _, chunk in seen) == "first\nsecond\n"
    first_at = next(t for t, chunk in seen if "first" in chunk)
    assert first_at - start < end - start - 0.4  # "first" arrived well before the end
    assert "first\nsecond" in text_of(out)


async def test_split_multibyte_character_is_not_mangled(tmp_path: Path) -> None:
    chunks: list[str] = []
    ctx = ToolContext(cwd=tmp_path, on_update=chunks.append)
    # "é" is c3 a9: print its two bytes in separate writes with a pause between.
    out = await run(ctx, r"printf '\xc3'; sleep 0.3; printf '\xa9\n'")
    assert "".join(chunks) == "é\n"
    assert "\ufffd" not in "".join(chunks)
    assert text_of(out).startswith("é")


async def test_timeout_kills_the_whole_group(ctx: ToolContext) -> None:
    start = time.monotonic()
    out = await run(ctx, "sleep 100 & sleep 100; wait", timeout=1)
    elapsed = time.monotonic() - start
    assert out.is_error
    assert "timed out after 1 s" in text_of(out)
    assert out.details is not None
    assert out.details["timed_out"] is True
    assert elapsed < 5
    assert group_members(out.details["pid"]) == []


async def test_timeout_kills_children_that_ignore_sigterm(ctx: ToolContext) -> None:
    cmd = "trap '' TERM; sleep 100 > /dev/null 2>&1 & sleep 100 < /dev/null & wait"
    out = await run(ctx, cmd, timeout=0.5)
    assert out.details is not None
    assert out.details["timed_out"] is True
    assert group_members(out.details["pid"]) == []


async def test_background_child_holding_stdout_does_not_block(ctx: ToolContext) -> None:
    start = time.monotonic()
    out = await run(ctx, "sleep 100 & echo started")
    assert time.monotonic() - start < 5
    assert "started" in text_of(out)
    assert not out.is_error
    assert out.details is not None
    assert group_members(out.details["pid"]) == []


async def test_cancellation_kills_the_group(tmp_path: Path) -> None:
    started = asyncio.Event()
    ctx = ToolContext(cwd=tmp_path, on_update=lambda _chunk: started.set())
    task = asyncio.create_task(run(ctx, "echo $$; sleep 100 & sleep 100; wait"))
    await asyncio.wait_for(started.wait(), 5)
    pgid = await _pgid_of_running_bash(tmp_path)
    assert group_members(pgid)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert group_members(pgid) == []
    assert not group_alive(pgid)


async def _pgid_of_running_bash(cwd: Path) -> int:
    # The bash in a new session is its own group leader: its pid is the group id. Find the
    # one running in our tmp dir.
    for _ in range(100):
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.readlink(entry / "cwd") == str(cwd) and (entry / "comm").read_text().strip() == "bash":
                    return int(entry.name)
            except OSError:
                continue
        await asyncio.sleep(0.02)
    raise AssertionError("bash not found")


async def test_huge_output_is_cut_and_spooled_in_full(ctx: ToolContext) -> None:
    size = 50_000_000
    out = await run(ctx, f"yes 'line of output' | head -c {size}")
    assert out.details is not None
    assert out.details["truncated"] is True
    assert out.details["output_bytes"] == size
    path = Path(out.details["full_output_path"])
    try:
        assert path.stat().st_size == size
        text = text_of(out)
        assert len(text) < 40_000
        assert text.startswith("line of output\n")
        assert "lines omitted" in text
        assert str(path) in text
        pattern = b"line of output\n"
        expected_end = (pattern * 2)[: size % len(pattern) + len(pattern)][-40:]
        with path.open("rb") as f:
            f.seek(size - len(expected_end))
            assert f.read() == expected_end
    finally:
        path.unlink()


async def test_many_short_lines_are_cut_to_head_and_tail(ctx: ToolContext) -> None:
    out = await run(ctx, "seq 1 1000")
    text = text_of(out)
    lines = text.splitlines()
    assert lines[0] == "1"
    assert lines[199] == "200"
    assert "lines omitted" in lines[200]
    assert lines[201] == "801"
    assert "1000" in lines
    assert "500" not in lines
    assert out.details is not None
    path = Path(out.details["full_output_path"])
    assert path.read_text() == "".join(f"{i}\n" for i in range(1, 1001))
    path.unlink()


async def test_killed_by_signal_is_reported(ctx: ToolContext) -> None:
    out = await run(ctx, "kill -KILL $$")
    assert out.is_error
    assert "SIGKILL" in text_of(out)
    assert out.details is not None
    assert out.details["signal"] == "SIGKILL"


async def test_bad_cwd(ctx: ToolContext) -> None:
    out = await run(ctx, "true", cwd="nope")
    assert out.is_error
    assert "not a directory" in text_of(out)
