from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _tool_helpers import text_of

from skipjack.agent.tool import ToolContext, ToolOutput
from skipjack.tools import _output, _spool
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


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Spool files go under skipjack's data dir: make it this test's, and empty it afterwards."""
    data = tmp_path / "data"
    monkeypatch.setenv("SKIPJACK_DATA_DIR", str(data))
    yield data
    spool = _spool._spools.pop((data / "spool", os.getpid()), None)
    if spool is not None:
        spool.remove()


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
    assert path.parent.parent == Path(os.environ["SKIPJACK_DATA_DIR"]) / "spool"
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


# -- the spool files: capped, under the data dir, gone with their process -----------------------


def spool_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in (data_dir / "spool").glob("*/*") if p.name != _spool.LOCK_NAME)


async def test_output_beyond_the_cap_is_counted_not_kept(ctx: ToolContext, data_dir: Path) -> None:
    """`yes` wrote 0.24 GB/s to /tmp, and nothing deleted it."""
    size = 100 * 1024 * 1024
    started = time.monotonic()
    out = await run(ctx, f"yes | head -c {size}", timeout=120)
    elapsed = time.monotonic() - started
    assert out.details is not None
    assert out.details["output_bytes"] == size
    path = Path(out.details["full_output_path"])
    assert path.parent.parent == data_dir / "spool"
    assert path.stat().st_size == _spool.FILE_CAP
    assert spool_files(data_dir) == [path]
    with path.open("rb") as f:
        assert f.read(8) == b"y\ny\ny\ny\n"
    text = text_of(out)
    assert f"first {_spool.FILE_CAP} bytes" in text
    assert "cut at 64 MiB" in text
    assert "full output in" not in text
    assert "y\ny\n[exit code 0" in text  # the tail is still the real end of the output
    assert elapsed < 60


async def test_output_ending_exactly_at_the_cap_says_so(
    ctx: ToolContext, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_output, "FILE_CAP", 65536)
    out = await run(ctx, "head -c 65536 /dev/zero | tr '\\0' 'a'; echo; echo tail")
    assert out.details is not None
    path = Path(out.details["full_output_path"])
    assert path.stat().st_size == 65536
    assert "cut at" in text_of(out)
    exact = await run(ctx, "head -c 65536 /dev/zero | tr '\\0' 'b'")
    assert exact.details is not None
    assert "full output in" in text_of(exact)
    assert Path(exact.details["full_output_path"]).stat().st_size == 65536


async def test_the_process_total_keeps_the_newest(
    ctx: ToolContext, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_output, "FILE_CAP", 1024 * 1024)
    monkeypatch.setattr(_spool, "FILE_CAP", 1024 * 1024)
    monkeypatch.setattr(_spool, "TOTAL_CAP", 3 * 1024 * 1024)
    paths = []
    for i in range(6):
        out = await run(ctx, f"yes {i} | head -c 2000000")
        assert out.details is not None
        paths.append(Path(out.details["full_output_path"]))
    kept = spool_files(data_dir)
    assert sum(p.stat().st_size for p in kept) <= 3 * 1024 * 1024
    assert set(kept) == set(paths[-3:])  # two finished ones fit beside the newest
    assert paths[-1].read_bytes().startswith(b"5\n5\n")


async def test_a_data_dir_that_cannot_hold_files_costs_the_copy_not_the_result(
    ctx: ToolContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("SKIPJACK_DATA_DIR", str(blocker))
    out = await run(ctx, "seq 1 100000")
    assert not out.is_error
    assert out.details is not None
    assert out.details["full_output_path"] is None
    assert out.details["output_lines"] == 100000
    text = text_of(out)
    assert "could not be saved" in text
    assert text.splitlines()[0] == "1"
    assert "100000" in text


_CHILD = """
import asyncio, pathlib, sys
from skipjack.agent.tool import ToolContext
from skipjack.tools.bash import BashArgs, BashTool
out = asyncio.run(BashTool().execute(BashArgs("seq 1 100000"), ToolContext(cwd=pathlib.Path.cwd())))
print(out.details["full_output_path"], flush=True)
if sys.argv[1] == "wait":
    sys.stdin.read()
"""


def _child(mode: str, cwd: Path) -> tuple[subprocess.Popen[str], Path]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, mode], cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    assert line, "the child printed no spool path"
    return proc, Path(line)


def test_spools_go_with_their_process_and_abandoned_ones_on_the_next_start(tmp_path: Path) -> None:
    # A normal exit removes the process's folder.
    proc, path = _child("exit", tmp_path)
    assert proc.wait(timeout=60) == 0
    assert not path.parent.exists()
    # kill -9 cannot clean up: the folder stays until the next process spools.
    killed, killed_path = _child("wait", tmp_path)
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    assert killed_path.is_file()
    # A live process's folder is never taken, even though it is idle.
    alive, alive_path = _child("wait", tmp_path)
    try:
        third, _ = _child("exit", tmp_path)
        assert third.wait(timeout=60) == 0
        assert not killed_path.parent.exists()
        assert alive_path.is_file()
    finally:
        alive.communicate("", timeout=60)
    assert not alive_path.parent.exists()
