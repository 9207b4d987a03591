from __future__ import annotations

import os
import stat
from pathlib import Path

from _tool_helpers import text_of

from skipjack.agent.tool import ToolContext
from skipjack.tools.read import ReadArgs, ReadTool
from skipjack.tools.write import WriteArgs, WriteTool


async def write(ctx: ToolContext, path: str, content: str) -> tuple[str, bool]:
    out = await WriteTool(ctx.cwd).execute(WriteArgs(path, content), ctx)
    return text_of(out), out.is_error


async def test_creates_file_and_parents(ctx: ToolContext, tmp_path: Path) -> None:
    text, err = await write(ctx, "a/b/c.txt", "hello\n")
    assert not err, text
    p = tmp_path / "a" / "b" / "c.txt"
    assert p.read_text() == "hello\n"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(p.stat().st_mode) == 0o666 & ~umask
    assert "Created" in text


async def test_refuses_overwrite_of_unread_file(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "keep.txt"
    p.write_text("precious\n")
    text, err = await write(ctx, "keep.txt", "clobbered\n")
    assert err
    assert "read it first" in text.lower() or "Read it first" in text
    assert p.read_text() == "precious\n"


async def test_accepts_overwrite_after_read(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "keep.txt"
    p.write_text("precious\n")
    os.chmod(p, 0o640)
    await ReadTool().execute(ReadArgs("keep.txt"), ctx)
    text, err = await write(ctx, "keep.txt", "replaced\n")
    assert not err, text
    assert p.read_text() == "replaced\n"
    assert stat.S_IMODE(p.stat().st_mode) == 0o640
    # Its own write counts as the current version: a second overwrite needs no new read.
    _, err = await write(ctx, "keep.txt", "again\n")
    assert not err


async def test_refuses_overwrite_when_changed_since_read(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "moving.txt"
    p.write_text("v1\n")
    await ReadTool().execute(ReadArgs("moving.txt"), ctx)
    p.write_text("v2 by someone else\n")
    text, err = await write(ctx, "moving.txt", "mine\n")
    assert err
    assert "changed since you read it" in text
    assert p.read_text() == "v2 by someone else\n"


async def test_overwrite_keeps_crlf_and_bom(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "win.txt"
    p.write_bytes(b"\xef\xbb\xbfa\r\nb\r\n")
    await ReadTool().execute(ReadArgs("win.txt"), ctx)
    _, err = await write(ctx, "win.txt", "x\ny\n")
    assert not err
    assert p.read_bytes() == b"\xef\xbb\xbfx\r\ny\r\n"


async def test_directory_refused(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    text, err = await write(ctx, "d", "x")
    assert err
    assert "directory" in text
