"""The first thing on screen: which skipjack, where it works, with which model, and how to
get help, so a new screen is never blank."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.widgets import Static

from skipjack import __version__


def welcome_text(cwd: Path, model_ref: str | None) -> Static:
    home = Path.home()
    shown = f"~/{cwd.relative_to(home)}" if cwd.is_relative_to(home) and cwd != home else str(cwd)
    return Static(welcome_lines(shown, model_ref), id="welcome", classes="welcome")


def welcome_lines(cwd: str, model_ref: str | None) -> Text:
    text = Text()
    text.append("skipjack", style="bold")
    text.append(f" {__version__}\n", style="dim")
    text.append("cwd    ", style="dim")
    text.append(f"{cwd}\n")
    text.append("model  ", style="dim")
    text.append(model_ref or "none set up yet (/model picks one)", style="cyan" if model_ref else "yellow")
    text.append("\n/help for commands and keys · ! runs a shell command · @ completes a path", style="dim")
    return text
