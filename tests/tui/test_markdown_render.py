"""How replies' markdown is drawn (issue 17, item 16: headings were centred like banners)."""

from __future__ import annotations

from rich.console import Console

from skipjack.tui.messages import render_markdown


def test_headings_are_flush_left_at_every_level() -> None:
    console = Console(width=60, record=True, color_system=None)
    console.print(render_markdown("# Plan\n\n## Steps\n\ntext"))
    lines = [line for line in console.export_text().splitlines() if line.strip()]
    plan = next(line for line in lines if "Plan" in line)
    steps = next(line for line in lines if "Steps" in line)
    assert plan.index("Plan") <= 2, plan
    assert steps.index("Steps") <= 4, steps
