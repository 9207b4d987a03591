""" "Trust this folder?": asked once when an untrusted project's config would change privileged
settings. Trust is remembered in the user config's `trusted_projects`; otherwise the run goes on
with those settings ignored."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from skipjack.config import LoadedConfig

MAX_LISTED = 12
VALUE_CHARS = 80


def ignored_lines(config: LoadedConfig) -> list[str]:
    """`key = value` for each setting trusting would apply (API keys masked)."""
    out = []
    for item, value in config.ignored_flat():
        if item in config.untrusted_privileged:
            shown = repr(value)
            out.append(f"{item.key} = {shown if len(shown) <= VALUE_CHARS else shown[: VALUE_CHARS - 1] + '…'}")
    return out


class TrustScreen(ModalScreen[bool]):
    """Dismisses with True (trust and remember) or False (continue with them ignored)."""

    DEFAULT_CSS = """
    TrustScreen { align: center middle; }
    TrustScreen > Vertical {
        width: 90%; max-width: 100; height: auto; max-height: 90%;
        border: round $warning; background: $surface; padding: 0 1;
    }
    TrustScreen .title { text-style: bold; }
    TrustScreen .changes { color: $text-muted; margin: 1 0; }
    TrustScreen OptionList { height: auto; border: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "distrust", "don't trust", show=False)]

    def __init__(self, folder: str, config: LoadedConfig) -> None:
        super().__init__()
        self.folder = folder
        self.lines = ignored_lines(config)
        self.choices = OptionList(
            Option("Trust this folder (remembered in your config)", id="trust"),
            Option("Don't trust: continue with these settings ignored", id="distrust"),
        )

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Trust this folder? {self.folder}", classes="title", markup=False)
            yield Static(
                "Its .skipjack/config.toml would change settings that decide what runs without asking "
                "or where your keys go:",
                markup=False,
            )
            shown = self.lines[:MAX_LISTED]
            if len(self.lines) > MAX_LISTED:
                shown.append(f"… and {len(self.lines) - MAX_LISTED} more")
            yield Static(Text("\n".join(shown)), classes="changes")
            yield self.choices

    def on_mount(self) -> None:
        self.choices.highlighted = 1  # the safe answer is the default
        self.choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id == "trust")

    def action_distrust(self) -> None:
        self.dismiss(False)
