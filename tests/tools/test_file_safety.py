"""What the file tools refuse, keep and survive: special files, modes, links, sizes, aborts."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable
from pathlib import Path

import pytest
from _tool_helpers import tags_by_line, text_of
from hypothesis import given, settings
from hypothesis import strategies as st

from skipjack.agent.tool import ToolContext, ToolOutput
from skipjack.tools._filelock import ChangedMeanwhileError, locked_file
from skipjack.tools._files import MAX_EDIT_BYTES
from skipjack.tools._tag_ops import Delete, InsertAfter, Replace
from skipjack.tools.edit import EditArgs, EditTool
from skipjack.tools.read import ReadArgs, ReadTool
from skipjack.tools.write import WriteArgs, WriteTool


async def bounded(call: Awaitable[ToolOutput], seconds: float = 5.0) -> ToolOutput:
    return await asyncio.wait_for(call, seconds)


async def read(ctx: ToolContext, path: str) -> ToolOutput:
    return await bounded(ReadTool().execute(ReadArgs(path), ctx))


async def write(ctx: ToolContext, path: str, content: str) -> ToolOutput:
    return await bounded(WriteTool(ctx.cwd).execute(WriteArgs(path, content), ctx))


async def exact(ctx: ToolContext, path: str, old: str, new: str) -> ToolOutput:
    return await bounded(EditTool(ctx.cwd).execute(EditArgs(path, old_text=old, new_text=new), ctx))


async def tagged(ctx: ToolContext, path: str, *ops: Replace | InsertAfter | Delete) -> ToolOutput:
    return await bounded(EditTool(ctx.cwd).execute(EditArgs(path, edits=list(ops)), ctx))


# -- special files -------------------------------------------------------------------------


@pytest.fixture
def specials(tmp_path: Path) -> dict[str, Path]:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    sock_path = tmp_path / "sock"
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(sock_path))
    zero_link = tmp_path / "zero.txt"
    zero_link.symlink_to("/dev/zero")
    (tmp_path / "dir").mkdir()
    return {
        "fifo": fifo,
        "socket": sock_path,
        "zero via symlink": zero_link,
        "dev zero": Path("/dev/zero"),
        "dir": tmp_path / "dir",
    }


@pytest.mark.parametrize("kind", ["fifo", "socket", "zero via symlink", "dev zero", "dir"])
async def test_every_file_tool_refuses_special_files_without_blocking(
    ctx: ToolContext, specials: dict[str, Path], kind: str
) -> None:
    path = str(specials[kind])
    # Make the read record look valid, so only the file-type check can stop the write.
    for out in (
        await write(ctx, path, "x\n"),
        await exact(ctx, path, "a", "b"),
        await tagged(ctx, path, Replace(start="1:aaa", text="x")),
    ):
        assert out.is_error, text_of(out)
        assert "not a regular file" in text_of(out) or "directory" in text_of(out)
    if kind != "dir":
        out = await read(ctx, path)
        assert out.is_error
        assert "not a regular file" in text_of(out)
    assert specials["fifo"].exists()
    assert stat.S_ISFIFO(os.lstat(specials["fifo"]).st_mode)
    assert os.path.islink(specials["zero via symlink"])


# -- mode, owner, links --------------------------------------------------------------------


@pytest.mark.parametrize("mode", [0o444, 0o400, 0o555])
async def test_read_only_files_are_refused_with_the_reason(ctx: ToolContext, tmp_path: Path, mode: int) -> None:
    p = tmp_path / "locked.txt"
    p.write_text("keep\n")
    os.chmod(p, mode)
    assert not (await read(ctx, "locked.txt")).is_error
    for out in (await exact(ctx, "locked.txt", "keep", "lost"), await write(ctx, "locked.txt", "lost\n")):
        assert out.is_error
        assert "read-only" in text_of(out)
        assert f"{mode:04o}" in text_of(out)
    assert p.read_text() == "keep\n"
    assert stat.S_IMODE(p.stat().st_mode) == mode


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o755, 0o4755, 0o200])
async def test_writable_modes_are_kept(ctx: ToolContext, tmp_path: Path, mode: int) -> None:
    p = tmp_path / "f.sh"
    p.write_text("a\n")
    os.chmod(p, mode)
    assert not (await exact(ctx, "f.sh", "a", "b")).is_error
    assert stat.S_IMODE(p.stat().st_mode) == mode
    if os.access(p, os.R_OK):
        assert p.read_text() == "b\n"


async def test_hard_links_stay_one_file(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_text("one\ntwo\n")
    other = tmp_path / "sub" / "b.txt"
    other.parent.mkdir()
    os.link(p, other)
    inode = p.stat().st_ino
    assert not (await exact(ctx, "a.txt", "two", "TWO, a longer line than before")).is_error
    assert not (await read(ctx, "sub/b.txt")).is_error
    assert not (await write(ctx, "sub/b.txt", "x\n")).is_error
    assert not (await exact(ctx, "a.txt", "x", "")).is_error  # shrinking in place truncates
    assert p.stat().st_ino == inode == other.stat().st_ino
    assert p.stat().st_nlink == 2
    assert p.read_text() == other.read_text() == "\n"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["a.txt", "sub"]


async def test_symlink_edits_its_target_and_stays_a_link(ctx: ToolContext, tmp_path: Path) -> None:
    real = tmp_path / "real" / "code.py"
    real.parent.mkdir()
    real.write_text("x = 1\n")
    link = tmp_path / "link.py"
    link.symlink_to(Path("real") / "code.py")
    assert not (await exact(ctx, "link.py", "1", "2")).is_error
    assert not (await read(ctx, " link.py ")).is_error
    assert not (await write(ctx, "./link.py", "x = 3\n")).is_error
    assert os.path.islink(link)
    assert real.read_text() == "x = 3\n"
    # A dangling link: write creates the target and keeps the link.
    dangling = tmp_path / "new.py"
    dangling.symlink_to(Path("real") / "new_target.py")
    assert not (await write(ctx, "new.py", "y\n")).is_error
    assert os.path.islink(dangling)
    assert (tmp_path / "real" / "new_target.py").read_text() == "y\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
async def test_owner_is_kept_when_root(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "theirs.txt"
    p.write_text("a\n")
    os.chown(p, 12345, 23456)
    assert not (await exact(ctx, "theirs.txt", "a", "b")).is_error
    st = p.stat()
    assert (st.st_uid, st.st_gid) == (12345, 23456)
    assert p.read_text() == "b\n"


# -- someone else changes the file while an edit is prepared ------------------------------


@pytest.mark.parametrize("how", ["in place", "renamed over", "deleted"])
async def test_change_between_read_and_rename_is_refused(tmp_path: Path, how: str) -> None:
    p = tmp_path / "f.txt"
    p.write_text("original\n")
    async with locked_file(p) as held:
        assert held.read() == b"original\n"
        if how == "in place":
            with p.open("a") as f:
                f.write("appended by an editor\n")
        elif how == "renamed over":
            (tmp_path / "other").write_text("replaced by sed -i\n")
            os.replace(tmp_path / "other", p)
        else:
            p.unlink()
        with pytest.raises(ChangedMeanwhileError):
            held.write(b"mine\n")
    assert not p.exists() or p.read_text() != "mine\n"
    assert [x.name for x in tmp_path.iterdir()] == ([] if how == "deleted" else ["f.txt"])


# -- tag edits check every line, and follow lines others moved ----------------------------


async def test_range_edit_refuses_a_change_to_a_line_in_between(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "f.py"
    p.write_text("a\nb\nc\nd\ne\n")
    t = tags_by_line(text_of(await read(ctx, "f.py")))
    p.write_text("a\nb\nC changed by the user\nd\ne\n")
    out = await tagged(ctx, "f.py", Replace(start=t[2], end=t[4], text="new"))
    assert out.is_error
    assert "line 3" in text_of(out)
    assert "C changed by the user" in text_of(out)
    assert p.read_text() == "a\nb\nC changed by the user\nd\ne\n"
    # Lines inserted inside the range are a change too.
    p.write_text("a\nb\nc\ninserted\nd\ne\n")
    out = await tagged(ctx, "f.py", Delete(start=t[2], end=t[4]))
    assert out.is_error
    assert p.read_text() == "a\nb\nc\ninserted\nd\ne\n"


async def test_a_stale_line_number_never_lands_on_a_duplicate(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "f.c"
    p.write_text("int a() {\n}\nint b() {\n}\n")
    t = tags_by_line(text_of(await read(ctx, "f.c")))
    # Someone inserts two lines on top: line 4 is now the first "}", identical to the old line 4.
    p.write_text("// header\n// more\nint a() {\n}\nint b() {\n}\n")
    out = await tagged(ctx, "f.c", Replace(start=t[4], text="}  // end of b"))
    assert not out.is_error, text_of(out)
    assert p.read_text() == "// header\n// more\nint a() {\n}\nint b() {\n}  // end of b\n"
    # A range spanning moved lines works too, and an insert follows its anchor.
    t = tags_by_line(text_of(await read(ctx, "f.c")))
    p.write_text("#include <x.h>\n" + p.read_text())
    out = await tagged(
        ctx, "f.c", Replace(start=t[3], end=t[4], text="int a() { return 0; }"), InsertAfter(after=t[1], text="// x")
    )
    assert not out.is_error, text_of(out)
    assert (
        p.read_text() == "#include <x.h>\n// header\n// x\n// more\nint a() { return 0; }\nint b() {\n}  // end of b\n"
    )


async def test_range_from_tags_never_read_is_refused_but_one_line_is_fine(ctx: ToolContext, tmp_path: Path) -> None:
    from skipjack.tools._text import tag

    p = tmp_path / "f.txt"
    p.write_text("a\nb\nc\n")
    # Tags as grep shows them: right for the file now, but no read recorded the lines between.
    out = await tagged(ctx, "f.txt", Replace(start=tag(1, "a"), end=tag(3, "c"), text="x"))
    assert out.is_error
    assert "read them first" in text_of(out)
    out = await tagged(ctx, "f.txt", Replace(start=tag(2, "b"), text="B"))
    assert not out.is_error, text_of(out)
    assert p.read_text() == "a\nB\nc\n"


# -- size limits, linear search, cancellation ---------------------------------------------


async def test_files_over_the_limit_are_refused_fast(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "huge.log"
    with p.open("wb") as f:
        f.write(b"text\n")
        f.truncate(MAX_EDIT_BYTES + 1)
    started = time.monotonic()
    out = await exact(ctx, "huge.log", "text", "x")
    assert out.is_error
    assert "limit" in text_of(out)
    out = await write(ctx, "new.txt", "x" * (MAX_EDIT_BYTES + 1))
    assert out.is_error
    assert "limit" in text_of(out)
    assert not (tmp_path / "new.txt").exists()
    assert time.monotonic() - started < 3
    assert sorted(x.name for x in tmp_path.iterdir()) == ["huge.log"]


async def test_exact_text_matching_everywhere_is_linear(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "many.txt"
    p.write_text("x\n" * 1_000_000)  # 2 MB, a million matches of "\n"
    started = time.monotonic()
    out = await exact(ctx, "many.txt", "\n", "")
    assert time.monotonic() - started < 3
    assert out.is_error
    assert "more than 1000 places" in text_of(out)
    assert "lines 1, 2, 3" in text_of(out)
    p.write_text("x\r\n" * 500_000 + "y\r\n")
    out = await exact(ctx, "many.txt", "x\ny\n", "z\n")  # matched once line endings are unified
    assert not out.is_error, text_of(out)
    assert p.read_bytes().endswith(b"x\r\nz\r\n")
    assert time.monotonic() - started < 6


async def _abort_latency(call: Awaitable[ToolOutput], after: float) -> tuple[float, float]:
    """Cancel `call` after `after` s; the cancel's latency and the event loop's longest stall."""
    task = asyncio.ensure_future(call)
    stall = 0.0
    start = last = time.monotonic()
    while time.monotonic() - start < after and not task.done():
        await asyncio.sleep(0.01)
        now = time.monotonic()
        stall = max(stall, now - last)
        last = now
    assert not task.done(), "the call finished before it could be aborted; make the input larger"
    cancelled_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return time.monotonic() - cancelled_at, stall


async def test_abort_of_a_long_edit_returns_promptly(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "big.txt"
    content = "x\r\n" * 20_000_000  # 60 MB; old_text needs the line-ending fallback
    p.write_text(content, newline="")
    latency, stall = await _abort_latency(
        EditTool(ctx.cwd).execute(EditArgs("big.txt", old_text="x\nx\ny", new_text="z"), ctx), 0.2
    )
    assert latency < 0.5
    assert stall < 0.5
    assert p.stat().st_size == len(content)


async def test_abort_of_a_long_read_returns_promptly(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "big.txt"
    with p.open("wb") as f:
        for _ in range(300):
            f.write(b"y" * (1 << 20))
    latency, stall = await _abort_latency(ReadTool().execute(ReadArgs("big.txt"), ctx), 0.2)
    assert latency < 0.5
    assert stall < 0.5


_MEASURE_READ = textwrap.dedent(
    """
    import asyncio, re, sys
    from pathlib import Path
    from skipjack.agent.tool import ToolContext
    from skipjack.tools.read import ReadArgs, ReadTool
    out = asyncio.run(ReadTool().execute(ReadArgs(sys.argv[1]), ToolContext(cwd=Path.cwd())))
    # VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across exec.
    status = open("/proc/self/status").read()
    print(int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) // 1024)
    print(out.content[0].text[-200:])
    """
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="measures peak memory from /proc")
def test_reading_a_huge_single_line_uses_bounded_memory(tmp_path: Path) -> None:
    p = tmp_path / "one-line.txt"
    with p.open("wb") as f:
        for _ in range(256):
            f.write(b"z" * (1 << 20))
    run = subprocess.run(
        [sys.executable, "-c", _MEASURE_READ, str(p)], capture_output=True, text=True, timeout=120, check=True
    )
    peak_mib, _, tail = run.stdout.partition("\n")
    assert int(peak_mib) < 150, f"peak RSS {peak_mib} MiB reading a 256 MiB line"
    assert f"[line cut: {256 << 20} characters]" in tail


async def test_own_edit_says_how_lines_below_moved(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "f.txt"
    p.write_text("a\nb\nc\n")
    t = tags_by_line(text_of(await read(ctx, "f.txt")))
    out = await tagged(ctx, "f.txt", InsertAfter(after=t[1], text="x\ny"))
    assert "Lines below old line 1 moved down by 2" in text_of(out)
    line, digest = t[3].split(":")
    out = await tagged(ctx, "f.txt", Replace(start=f"{int(line) + 2}:{digest}", text="C"))
    assert not out.is_error, text_of(out)
    assert p.read_text() == "a\nx\ny\nb\nC\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may add files to any directory")
async def test_writable_file_in_a_read_only_directory_is_edited_in_place(ctx: ToolContext, tmp_path: Path) -> None:
    d = tmp_path / "ro"
    d.mkdir()
    p = d / "f.txt"
    p.write_text("a\n")
    os.chmod(d, 0o555)
    try:
        out = await exact(ctx, "ro/f.txt", "a", "b")
        assert not out.is_error, text_of(out)
        assert p.read_text() == "b\n"
        assert [x.name for x in d.iterdir()] == ["f.txt"]
    finally:
        os.chmod(d, 0o755)


@settings(max_examples=200, deadline=None)
@given(
    text=st.lists(st.sampled_from(["a", "é", "\r", "\n", "\r\n", "€", " ", "\t", "\x0c"]), max_size=60).map("".join),
    chunk=st.integers(min_value=1, max_value=9),
    bom=st.sampled_from(["", "utf-8-sig", "utf-16"]),
)
def test_streamed_read_numbers_and_hashes_lines_like_edit(text: str, chunk: int, bom: str) -> None:
    import skipjack.tools.read as read_module
    from skipjack.tools._files import CancelFlag
    from skipjack.tools._text import line_digests, split_lines, tagged_lines

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "f.txt"
        p.write_bytes(text.encode(bom) if bom else text.encode())
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(read_module, "_CHUNK", chunk)
            result = read_module._read_file(p, 1, 10_000, CancelFlag())
    assert result.lines == line_digests(text)
    lines = split_lines(text)
    expected = "\n".join(tagged_lines(lines, 1, len(lines))) if lines else "(empty file)"
    assert result.text.split("\n\n[")[0] == expected
