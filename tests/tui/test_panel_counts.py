"""Tool panels count what a reader would: "1 line", a 3-line file is 3 lines whatever its line
endings, a write says the file's lines, not its one-sentence result (issue 17, item 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn
from skipjack.tui.formatting import count_lines, plural
from skipjack.tui.tool_panel import ToolPanel

from .helpers import SIZE, idle, make_app, type_and_send, until


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", 0),
        ("a", 1),
        ("a\n", 1),
        ("a\nb", 2),
        ("a\nb\n", 2),
        ("a\r\nb\r\nc\r\n", 3),
        ("a\r\nb\r\nc", 3),
        ("\n", 1),
        ("\n\n", 2),
        ("10%\r50%\r100%\n", 1),  # a progress bar rewrites one line
    ],
)
def test_count_lines(text: str, lines: int) -> None:
    assert count_lines(text) == lines


def test_plural() -> None:
    assert [plural(n, "line") for n in (0, 1, 2)] == ["0 lines", "1 line", "2 lines"]


FILES = {
    "empty.txt": "",
    "one.txt": "only\n",
    "one-no-eol.txt": "only",
    "two.txt": "a\nb\n",
    "three.txt": "a\nb\nc\n",
    "three-no-eol.txt": "a\nb\nc",
    "three-crlf.txt": "a\r\nb\r\nc\r\n",
}
EXPECTED = {
    "empty.txt": "0 lines",
    "one.txt": "1 line",
    "one-no-eol.txt": "1 line",
    "two.txt": "2 lines",
    "three.txt": "3 lines",
    "three-no-eol.txt": "3 lines",
    "three-crlf.txt": "3 lines",
}


def meta(panel: ToolPanel) -> str:
    return panel.header_text().plain.rsplit("·", 1)[-1].strip()


async def test_read_write_and_bash_panels_count_lines(
    scripted: ScriptedModel, project: Path, env: dict[str, str]
) -> None:
    for name, content in FILES.items():
        (project / name).write_bytes(content.encode())
    reads = [ScriptedToolCall("read", {"path": name}) for name in FILES]
    writes = [
        ScriptedToolCall("write", {"path": "w3.txt", "content": "x\ny\nz\n"}),
        ScriptedToolCall("write", {"path": "w1.txt", "content": "x"}),
    ]
    shells = [
        ScriptedToolCall("bash", {"command": "printf 'one\\n'"}),
        ScriptedToolCall("bash", {"command": "printf 'a\\nb'"}),
        ScriptedToolCall("bash", {"command": "true"}),
    ]
    scripted.enqueue(ScriptedTurn(tool_calls=reads), ScriptedTurn(tool_calls=writes))
    scripted.enqueue(ScriptedTurn(tool_calls=shells), ScriptedTurn(text="done"))
    app = make_app(scripted, project, env)
    async with app.run_test(size=SIZE) as pilot:
        await type_and_send(pilot, app, "count")
        await until(pilot, lambda: idle(app) and len(scripted.requests) == 4, limit=30, what="the run")
        panels = list(app.query(ToolPanel))
        got = {p.key_arg: meta(p) for p in panels if p.tool_name == "read"}
        assert got == EXPECTED
        written = [meta(p) for p in panels if p.tool_name == "write"]
        assert written == ["3 lines", "1 line"]
        # bash: the header ends with the duration; the lines come before it.
        shell = [p.header_text().plain for p in panels if p.tool_name == "bash"]
        assert "· 1 line" in shell[0]
        assert "· 2 lines" in shell[1]
        assert "1 lines" not in " ".join(p.header_text().plain for p in panels)
