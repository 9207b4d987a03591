"""The interactive terminal UI (Textual): `SkipjackApp`, launched by `run_tui`."""

from skipjack.tui.app import SkipjackApp
from skipjack.tui.launch import run_tui

__all__ = ["SkipjackApp", "run_tui"]
