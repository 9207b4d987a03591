from __future__ import annotations

from pathlib import Path

import pytest
from _tool_helpers import text_of

from skipjack.agent.tool import ToolContext, ToolOutput
from skipjack.tools._text import line_hash
from skipjack.tools.edit import EditArgs, EditTool
from skipjack.tools.grep import GrepArgs, GrepTool


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / ".gitignore").write_text("build/\n*.log\n")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("def foo():\n    return 1\n\n\ndef bar():\n    return foo()\n")
    (tmp_path / "src" / "b.ts").write_text("export const Foo = 1;\n")
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "out.py").write_text("foo = 'generated'\n")
    (tmp_path / "debug.log").write_text("foo happened\n")
    (tmp_path / ".config").mkdir()
    (tmp_path / ".config" / "x.py").write_text("foo = 2\n")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "config").write_text("foo = 3\n")
    return tmp_path


async def grep(ctx: ToolContext, pattern: str, **kw: object) -> ToolOutput:
    return await GrepTool().execute(GrepArgs(pattern, **kw), ctx)  # type: ignore[arg-type]


async def test_gitignore_honoured_hidden_searched_git_skipped(ctx: ToolContext, tree: Path) -> None:
    out = await grep(ctx, r"\bfoo\b")
    text = text_of(out)
    assert not out.is_error
    assert "src/a.py" in text
    assert ".config/x.py" in text
    assert "build/" not in text
    assert "debug.log" not in text
    assert ".git/" not in text
    assert "Foo" not in text  # case-sensitive by default


async def test_results_are_grouped_and_tagged(ctx: ToolContext, tree: Path) -> None:
    text = text_of(await grep(ctx, "foo", path="src"))
    lines = text.splitlines()
    assert lines[0] == "src/a.py"
    assert lines[1] == f"1:{line_hash('def foo():')}|def foo():"
    assert lines[2] == "--"
    assert lines[3] == f"6:{line_hash('    return foo()')}|    return foo()"
    assert "[2 matching lines in 1 files]" in text


async def test_tags_from_grep_work_for_edit(ctx: ToolContext, tree: Path) -> None:
    text = text_of(await grep(ctx, "return foo", path="src/a.py"))
    tag = next(line for line in text.splitlines() if "|" in line).split("|")[0]
    args: object = EditTool().parse_args(
        {"path": "src/a.py", "edits": [{"op": "replace", "start": tag, "text": "    return 42"}]}
    )
    assert isinstance(args, EditArgs)
    out = await EditTool(ctx.cwd).execute(args, ctx)
    assert not out.is_error, text_of(out)
    assert (tree / "src" / "a.py").read_text().endswith("    return 42\n")


async def test_glob_filter_and_ignore_case(ctx: ToolContext, tree: Path) -> None:
    text = text_of(await grep(ctx, "foo", glob="*.ts", ignore_case=True))
    assert "src/b.ts" in text
    assert "a.py" not in text
    text = text_of(await grep(ctx, "foo", glob=["*.py", "!.config/**"]))
    assert "src/a.py" in text
    assert ".config" not in text
    # An include glob matching everything must not bring gitignored files back.
    text = text_of(await grep(ctx, "foo", glob="*"))
    assert "src/a.py" in text
    assert "build/" not in text
    assert "debug.log" not in text


async def test_context_lines(ctx: ToolContext, tree: Path) -> None:
    text = text_of(await grep(ctx, "def bar", path="src/a.py", context=1))
    lines = text.splitlines()
    assert lines[1].startswith("  4:")
    assert lines[2].startswith("> 5:")
    assert lines[3].startswith("  6:")


async def test_max_matches_with_note(ctx: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "many.txt").write_text("".join(f"hit {i}\n" for i in range(250)))
    out = await grep(ctx, "hit", max_matches=10)
    text = text_of(out)
    assert text.count("|hit ") == 10
    assert "240 more matches not shown" in text
    assert out.details is not None
    assert out.details["matches"] == 250


async def test_literal_and_no_matches_and_bad_regex(ctx: ToolContext, tree: Path) -> None:
    assert "src/a.py" in text_of(await grep(ctx, "foo()", literal=True))
    out = await grep(ctx, "nothing-like-this")
    assert not out.is_error
    assert "No matches" in text_of(out)
    out = await grep(ctx, "(unclosed")
    assert out.is_error
    assert "regex" in text_of(out).lower()
