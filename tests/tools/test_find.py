from __future__ import annotations

from pathlib import Path

from _tool_helpers import text_of

from skipjack.agent.tool import ToolContext, ToolOutput
from skipjack.tools.find import FindArgs, FindTool


async def find(ctx: ToolContext, pattern: str | list[str], **kw: object) -> ToolOutput:
    return await FindTool().execute(FindArgs(pattern, **kw), ctx)  # type: ignore[arg-type]


def make_tree(root: Path) -> None:
    (root / ".gitignore").write_text("node_modules/\ndist/\n")
    for rel in [
        "src/app.py",
        "src/util/helpers.py",
        "src/util/README.md",
        "tests/test_app.py",
        "node_modules/pkg/index.py",
        "dist/app.py",
        ".github/workflows/ci.yml",
        ".git/HEAD",
    ]:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x\n")


async def test_glob_at_any_depth_honouring_gitignore(ctx: ToolContext, tmp_path: Path) -> None:
    make_tree(tmp_path)
    out = await find(ctx, "*.py")
    assert text_of(out).splitlines() == ["src/app.py", "src/util/helpers.py", "tests/test_app.py"]


async def test_several_globs_path_and_hidden(ctx: ToolContext, tmp_path: Path) -> None:
    make_tree(tmp_path)
    text = text_of(await find(ctx, ["*.yml", "*.md"]))
    assert text.splitlines() == [".github/workflows/ci.yml", "src/util/README.md"]
    text = text_of(await find(ctx, "*.py", path="src/util"))
    assert text.splitlines() == ["src/util/helpers.py"]
    text = text_of(await find(ctx, "readme.md", ignore_case=True))
    assert text.splitlines() == ["src/util/README.md"]
    everything = text_of(await find(ctx, "*")).splitlines()
    assert ".git/HEAD" not in everything
    assert "node_modules/pkg/index.py" not in everything
    assert "dist/app.py" not in everything
    assert "src/app.py" in everything
    assert text_of(await find(ctx, ["*", "!*.py", "!.*"])).splitlines() == ["src/util/README.md"]
    assert text_of(await find(ctx, "src/**/*.py")).splitlines() == ["src/app.py", "src/util/helpers.py"]


async def test_cap_with_note(ctx: ToolContext, tmp_path: Path) -> None:
    for i in range(30):
        (tmp_path / f"f{i:02}.txt").write_text("")
    out = await find(ctx, "*.txt", max_results=5)
    text = text_of(out)
    assert text.splitlines()[:5] == ["f00.txt", "f01.txt", "f02.txt", "f03.txt", "f04.txt"]
    assert "25 more files not shown" in text


async def test_nothing_found(ctx: ToolContext, tmp_path: Path) -> None:
    out = await find(ctx, "*.rs")
    assert not out.is_error
    assert "No files found" in text_of(out)
