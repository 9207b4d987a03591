"""Code blocks in streamed markdown are highlighted once per width, and look the same as
Rich's own rendering (the cache must never change what is drawn)."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console
from rich.markdown import CodeBlock
from rich.syntax import Syntax

from skipjack.tui.messages import CODE_THEME, _ChatMarkdown, render_markdown

FENCE = "```python\ndef f(x):\n    return x + 1  # a comment long enough to wrap at forty columns\n```\n\n"
TEXT = (
    f"Intro paragraph.\n\n{FENCE}"
    "1. a list item holding code:\n\n   ```bash\n   pytest -q tests/\n   ```\n\n"
    f"    indented code block\n\n~~~\nno language\n~~~\n\n{FENCE}"
)


class _Uncached(_ChatMarkdown):
    elements = {**_ChatMarkdown.elements, "fence": CodeBlock, "code_block": CodeBlock}  # noqa: RUF012


def _draw(renderable: Any, width: int) -> str:
    console = Console(width=width, color_system="truecolor", force_terminal=True, record=True)
    with console.capture() as captured:
        console.print(renderable)
    return captured.get()


@pytest.mark.parametrize("width", [20, 40, 80, 120])
def test_cached_code_blocks_draw_exactly_as_rich_does(width: int) -> None:
    expected = _draw(_Uncached(TEXT, code_theme=CODE_THEME, hyperlinks=False), width)
    assert _draw(render_markdown(TEXT), width) == expected
    assert _draw(render_markdown(TEXT), width) == expected  # from the cache


def test_a_finished_fence_is_highlighted_once_however_often_the_tail_is_drawn(monkeypatch: pytest.MonkeyPatch) -> None:
    highlighted: list[str] = []
    original = Syntax.highlight

    def counting(self: Syntax, code: str, *args: Any, **kwargs: Any) -> Any:
        highlighted.append(code)
        return original(self, code, *args, **kwargs)

    monkeypatch.setattr(Syntax, "highlight", counting)
    fence = "```python\nunique_marker_7781 = compute()\n```\n\n"
    for growing in ["one", "one two", "one two three"]:  # the tail grows after the fence
        _draw(render_markdown(fence + growing), 60)
    assert sum("unique_marker_7781" in c for c in highlighted) == 1
    _draw(render_markdown(fence + "x"), 61)  # another width draws it again
    assert sum("unique_marker_7781" in c for c in highlighted) == 2
    # A fence still growing is drawn afresh each time: never a stale cached version.
    assert "more_lines" in _draw(render_markdown("```python\nunique_marker_7781 = compute()\nmore_lines()\n"), 60)
