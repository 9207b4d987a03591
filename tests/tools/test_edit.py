from __future__ import annotations

import asyncio
import codecs
import os
import stat
from pathlib import Path

import msgspec
import pytest
from _tool_helpers import tags_by_line, text_of

from skipjack.agent.tool import ToolContext, ToolOutput
from skipjack.tools._tag_ops import Delete, EditOp, InsertAfter, Replace
from skipjack.tools.edit import EditArgs, EditTool
from skipjack.tools.read import ReadArgs, ReadTool


async def tags(ctx: ToolContext, path: str) -> dict[int, str]:
    return tags_by_line(text_of(await ReadTool().execute(ReadArgs(path), ctx)))


async def edit(ctx: ToolContext, path: str, *ops: EditOp) -> ToolOutput:
    return await EditTool(ctx.cwd).execute(EditArgs(path, edits=list(ops)), ctx)


async def exact(ctx: ToolContext, path: str, old: str, new: str) -> ToolOutput:
    return await EditTool(ctx.cwd).execute(EditArgs(path, old_text=old, new_text=new), ctx)


@pytest.fixture
def five(tmp_path: Path) -> Path:
    p = tmp_path / "five.txt"
    p.write_text("one\ntwo\nthree\nfour\nfive\n")
    return p


async def test_replace_insert_delete_in_one_call(ctx: ToolContext, five: Path) -> None:
    t = await tags(ctx, "five.txt")
    out = await edit(
        ctx,
        "five.txt",
        Replace(start=t[2], end=t[3], text="TWO\nTHREE\nTHREE-B"),
        InsertAfter(after=t[4], text="four-b\n"),
        Delete(start=t[5]),
        InsertAfter(after="0", text="zero"),
    )
    assert not out.is_error, text_of(out)
    assert five.read_text() == "zero\none\nTWO\nTHREE\nTHREE-B\nfour\nfour-b\n"
    assert out.details is not None
    assert "+TWO" in out.details["diff"]
    assert "-five" in out.details["diff"]
    # The result carries fresh tags, usable for the next edit without another read.
    fresh = tags_by_line(text_of(out))
    out2 = await edit(ctx, "five.txt", Replace(start=fresh[3], text="two"))
    assert not out2.is_error, text_of(out2)
    assert five.read_text().splitlines()[2] == "two"


async def test_refused_after_the_file_changed_on_disk(ctx: ToolContext, five: Path) -> None:
    t = await tags(ctx, "five.txt")
    five.write_text("one\ntwo\nTHREE CHANGED\nfour\nfive\n")
    out = await edit(ctx, "five.txt", Replace(start=t[3], text="3"))
    assert out.is_error
    msg = text_of(out)
    assert "line 3 changed" in msg
    current = await tags(ctx, "five.txt")
    # The error shows the current tagged lines around the bad reference.
    for n in range(1, 6):
        assert current[n] in msg
    assert "THREE CHANGED" in msg
    assert five.read_text() == "one\ntwo\nTHREE CHANGED\nfour\nfive\n"


async def test_line_that_no_longer_exists(ctx: ToolContext, five: Path) -> None:
    t = await tags(ctx, "five.txt")
    five.write_text("one\ntwo\n")
    out = await edit(ctx, "five.txt", Delete(start=t[5]))
    assert out.is_error
    assert "does not exist" in text_of(out)
    assert "2:" in text_of(out)


async def test_one_bad_tag_means_no_change(ctx: ToolContext, five: Path) -> None:
    t = await tags(ctx, "five.txt")
    before = five.read_bytes()
    lineno, _ = t[4].split(":")
    out = await edit(
        ctx,
        "five.txt",
        Replace(start=t[1], text="ONE"),
        Replace(start=f"{lineno}:zzz", text="FOUR"),
    )
    assert out.is_error
    assert five.read_bytes() == before


async def test_overlapping_ops_are_refused(ctx: ToolContext, five: Path) -> None:
    t = await tags(ctx, "five.txt")
    before = five.read_bytes()
    out = await edit(ctx, "five.txt", Replace(start=t[2], end=t[4], text="x"), Delete(start=t[3]))
    assert out.is_error
    assert "same lines" in text_of(out)
    out = await edit(ctx, "five.txt", Replace(start=t[2], end=t[4], text="x"), InsertAfter(after=t[3], text="y"))
    assert out.is_error
    assert five.read_bytes() == before


async def test_malformed_tag(ctx: ToolContext, five: Path) -> None:
    out = await edit(ctx, "five.txt", Delete(start="three"))
    assert out.is_error
    assert "not a tag" in text_of(out)


async def test_three_parallel_edits_all_survive(ctx: ToolContext, five: Path) -> None:
    t = await tags(ctx, "five.txt")
    tool = EditTool(ctx.cwd)
    # Tag edits computed from one read would shift each other's lines, so parallel callers
    # use exact text; each must see the others' writes under the lock.
    results = await asyncio.gather(
        tool.execute(EditArgs("five.txt", old_text="one", new_text="ONE"), ctx),
        tool.execute(EditArgs("five.txt", old_text="three", new_text="THREE"), ctx),
        tool.execute(EditArgs("five.txt", edits=[Replace(start=t[5], text="FIVE")]), ctx),
    )
    assert [r.is_error for r in results] == [False, False, False], [text_of(r) for r in results]
    assert five.read_text() == "ONE\ntwo\nTHREE\nfour\nFIVE\n"


async def test_many_parallel_appends_lose_nothing(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "log.txt"
    p.write_text("start\n")
    tool = EditTool(ctx.cwd)

    async def append(i: int) -> ToolOutput:
        return await tool.execute(EditArgs("log.txt", old_text="start\n", new_text=f"start\n{i}\n"), ctx)

    results = await asyncio.gather(*(append(i) for i in range(20)))
    assert not any(r.is_error for r in results)
    assert sorted(p.read_text().split()) == sorted(["start", *map(str, range(20))])


async def test_crlf_and_bom_preserved(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "win.txt"
    p.write_bytes(codecs.BOM_UTF8 + b"alpha\r\nbeta\r\ngamma\r\n")
    t = await tags(ctx, "win.txt")
    out = await edit(ctx, "win.txt", Replace(start=t[2], text="BETA\nBETA2"))
    assert not out.is_error, text_of(out)
    assert p.read_bytes() == codecs.BOM_UTF8 + b"alpha\r\nBETA\r\nBETA2\r\ngamma\r\n"
    out = await exact(ctx, "win.txt", "BETA2\ngamma", "g")
    assert not out.is_error, text_of(out)
    assert p.read_bytes() == codecs.BOM_UTF8 + b"alpha\r\nBETA\r\ng\r\n"


async def test_utf16_bom_file_round_trips(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "u16.txt"
    p.write_bytes(codecs.BOM_UTF16_LE + "héllo\r\nwörld\r\n".encode("utf-16-le"))
    out = await exact(ctx, "u16.txt", "wörld", "wélt")
    assert not out.is_error, text_of(out)
    assert p.read_bytes() == codecs.BOM_UTF16_LE + "héllo\r\nwélt\r\n".encode("utf-16-le")


async def test_missing_final_newline_kept(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "nofinal.txt"
    p.write_text("a\nb")
    t = await tags(ctx, "nofinal.txt")
    out = await edit(ctx, "nofinal.txt", InsertAfter(after=t[2], text="c"))
    assert not out.is_error
    assert p.read_text() == "a\nb\nc"


async def test_undecodable_file_refused(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "latin1.txt"
    p.write_bytes("café\n".encode("latin-1"))
    out = await exact(ctx, "latin1.txt", "caf", "CAF")
    assert out.is_error
    assert "not valid UTF-8" in text_of(out)
    assert p.read_bytes() == "café\n".encode("latin-1")


async def test_exact_text_zero_one_two_matches(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "x.py"
    p.write_text("a = 1\nb = 1\nc = 2\n")
    out = await exact(ctx, "x.py", "z = 9", "q")
    assert out.is_error
    assert "0 matches" in text_of(out)
    out = await exact(ctx, "x.py", " = 1", " = 3")
    assert out.is_error
    assert "matches 2 places" in text_of(out)
    assert "lines 1, 2" in text_of(out)
    assert p.read_text() == "a = 1\nb = 1\nc = 2\n"
    out = await exact(ctx, "x.py", "c = 2", "c = 3")
    assert not out.is_error
    assert p.read_text() == "a = 1\nb = 1\nc = 3\n"
    assert "-c = 2" in text_of(out)
    assert "+c = 3" in text_of(out)


async def test_exact_match_after_normalising_line_endings(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "crlf.txt"
    p.write_bytes(b"x\r\nfirst\r\nsecond\r\ny\r\n")
    out = await exact(ctx, "crlf.txt", "first\nsecond\n", "only\n")
    assert not out.is_error, text_of(out)
    assert p.read_bytes() == b"x\r\nonly\r\ny\r\n"


async def test_file_mode_preserved(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "run.sh"
    p.write_text("#!/bin/sh\necho hi\n")
    os.chmod(p, 0o751)
    out = await exact(ctx, "run.sh", "hi", "there")
    assert not out.is_error
    assert stat.S_IMODE(p.stat().st_mode) == 0o751
    assert p.read_text() == "#!/bin/sh\necho there\n"
    assert [f.name for f in tmp_path.iterdir()] == ["run.sh"]  # no temp file left behind


async def test_edit_updates_read_record_so_write_may_follow(ctx: ToolContext, tmp_path: Path) -> None:
    from skipjack.tools.write import WriteArgs, WriteTool

    (tmp_path / "f.txt").write_text("a\n")
    assert not (await exact(ctx, "f.txt", "a", "b")).is_error
    assert not (await WriteTool(ctx.cwd).execute(WriteArgs("f.txt", "c\n"), ctx)).is_error


async def test_concurrency_key_is_the_resolved_path(tmp_path: Path) -> None:
    tool = EditTool(tmp_path)
    assert tool.concurrency_key(EditArgs("a/../f.txt", old_text="", new_text="")) == str((tmp_path / "f.txt").resolve())


def test_args_parse_from_model_json() -> None:
    tool = EditTool()
    args: object = tool.parse_args(
        {
            "path": "f",
            "edits": [{"op": "replace", "start": "1:abc", "text": "x"}, {"op": "delete", "start": "2:abc"}],
        }
    )
    assert isinstance(args, EditArgs)
    assert args.edits == [Replace(start="1:abc", text="x"), Delete(start="2:abc")]
    with pytest.raises(msgspec.ValidationError):
        tool.parse_args({"path": "f", "edits": [{"op": "rename", "start": "1:abc"}]})
    schema = tool.spec().parameters
    assert schema["type"] == "object"
    assert "edits" in schema["properties"]


async def test_read_and_edit_number_mixed_line_endings_alike(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "mixed.txt"
    p.write_bytes(b"one\rtwo\r\nthree\nfour")
    t = await tags(ctx, "mixed.txt")
    assert sorted(t) == [1, 2, 3, 4]
    out = await edit(ctx, "mixed.txt", Replace(start=t[3], text="THREE"), Replace(start=t[4], text="FOUR"))
    assert not out.is_error, text_of(out)
    # Untouched lines keep their own endings; the last line still has none.
    assert p.read_bytes() == b"one\rtwo\r\nTHREE\nFOUR"


async def test_insert_at_top_of_empty_file(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "empty.txt"
    p.write_text("")
    out = await edit(ctx, "empty.txt", InsertAfter(after="0", text="first\nsecond"))
    assert not out.is_error, text_of(out)
    assert p.read_text() == "first\nsecond\n"


async def test_overlapping_exact_matches_count(ctx: ToolContext, tmp_path: Path) -> None:
    p = tmp_path / "a.txt"
    p.write_text("aaa\n")
    out = await exact(ctx, "a.txt", "aa", "b")
    assert out.is_error
    assert "matches 2 places" in text_of(out)
