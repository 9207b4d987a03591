from __future__ import annotations

import base64
from pathlib import Path

from _tool_helpers import tags_by_line, text_of

from skipjack.agent.tool import ToolContext
from skipjack.llm.types import ImageContent
from skipjack.tools._files import READS_KEY, file_hash
from skipjack.tools._text import line_hash
from skipjack.tools.read import ReadArgs, ReadTool

PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


async def read(ctx: ToolContext, path: str, **kw: int) -> tuple[str, bool]:
    out = await ReadTool().execute(ReadArgs(path, **kw), ctx)
    return text_of(out), out.is_error


async def test_lines_are_tagged_with_number_and_hash(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f():\n    return 1\n\n")
    text, err = await read(ctx, "a.py")
    assert not err
    assert text.splitlines() == [
        f"1:{line_hash('def f():')}|def f():",
        f"2:{line_hash('    return 1')}|    return 1",
        f"3:{line_hash('')}|",
    ]
    assert len(line_hash("x")) == 3
    assert line_hash("a") != line_hash("b")


async def test_hash_ignores_line_ending(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "w.txt").write_bytes(b"same\r\nsame\n")
    tags = tags_by_line((await read(ctx, "w.txt"))[0])
    assert tags[1].split(":")[1] == tags[2].split(":")[1]


async def test_offset_and_limit(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_text("".join(f"line {i}\n" for i in range(1, 11)))
    text, _ = await read(ctx, "n.txt", offset=4, limit=3)
    body = [line for line in text.splitlines() if "|" in line]
    assert [b.split("|")[1] for b in body] == ["line 4", "line 5", "line 6"]
    assert body[0].startswith("4:")
    assert "4 more lines" in text
    assert "offset=7" in text


async def test_offset_past_end_is_an_error(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_text("a\nb\n")
    text, err = await read(ctx, "n.txt", offset=5)
    assert err
    assert "2 lines" in text


async def test_large_file_defaults_to_2000_lines_with_a_note(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "big.txt").write_text("".join(f"{i}\n" for i in range(1, 5001)))
    text, _ = await read(ctx, "big.txt")
    tagged = [line for line in text.splitlines() if "|" in line]
    assert len(tagged) == 2000
    assert tagged[-1].endswith("|2000")
    assert "3000 more lines" in text
    assert "offset=2001" in text


async def test_long_lines_are_cut_but_tag_hashes_the_whole_line(ctx: ToolContext, tmp_path: Path) -> None:
    long = "x" * 5000
    (tmp_path / "long.txt").write_text(long + "\nshort\n")
    text, _ = await read(ctx, "long.txt")
    first = text.splitlines()[0]
    assert first.startswith(f"1:{line_hash(long)}|")
    assert "5000 characters" in first
    assert len(first) < 2100
    assert "2:" in text


async def test_binary_file_refused_with_its_type(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "lib.so").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(200))
    (tmp_path / "blob.dat").write_bytes(bytes(range(256)) * 4)
    text, err = await read(ctx, "lib.so")
    assert err
    assert "ELF" in text
    text, err = await read(ctx, "blob.dat")
    assert err
    assert "binary" in text


async def test_utf16_with_bom_is_text_not_binary(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "u16.txt").write_bytes("héllo\nwörld\n".encode("utf-16"))
    text, err = await read(ctx, "u16.txt")
    assert not err
    assert "|héllo" in text
    assert "|wörld" in text


async def test_image_returned_as_image_content(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "pic.bin").write_bytes(PNG_1x1)
    out = await ReadTool().execute(ReadArgs("pic.bin"), ctx)
    assert not out.is_error
    images = [b for b in out.content if isinstance(b, ImageContent)]
    assert len(images) == 1
    assert images[0].mime_type == "image/png"
    assert base64.b64decode(images[0].data) == PNG_1x1
    assert "image/png" in text_of(out)


async def test_directory_listing_sorted_with_dirs_marked(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "b.txt").write_text("")
    (tmp_path / "a_dir").mkdir()
    (tmp_path / "c.txt").write_text("")
    text, err = await read(ctx, ".")
    assert not err
    assert text.splitlines()[1:] == ["a_dir/", "b.txt", "c.txt"]


async def test_directory_listing_is_capped(ctx: ToolContext, tmp_path: Path) -> None:
    for i in range(1100):
        (tmp_path / f"f{i:04}").write_text("")
    text, _ = await read(ctx, ".")
    assert "f0999" in text
    assert "f1000" not in text
    assert "100 more entries" in text


async def test_missing_file_suggests_close_names(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("")
    text, err = await read(ctx, "config.yml")
    assert err
    assert "config.yaml" in text


async def test_read_records_content_hash(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "r.txt"
    p.write_text("one\ntwo\n")
    await read(ctx, "r.txt", limit=1)
    record = ctx.state[READS_KEY][str(p.resolve())]
    assert record.sha256 == file_hash(p)
    assert record.mtime_ns == p.stat().st_mtime_ns


async def test_empty_file(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "e.txt").write_text("")
    text, err = await read(ctx, "e.txt")
    assert not err
    assert "empty" in text


async def test_device_files_are_not_read(ctx: ToolContext) -> None:
    text, err = await read(ctx, "/dev/zero")
    assert err
    assert "not a regular file" in text
