"""Pickers: a filterable list in a modal, for models and sessions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from skipjack.llm.types import Model
from skipjack.tui.formatting import one_line, price_label, usd, window_label

MAX_SHOWN = 300


@dataclass(frozen=True)
class Choice:
    value: str
    label: Text | str
    search: str
    """Lower-case text the filter matches against."""


class PickerScreen(ModalScreen[str | None]):
    DEFAULT_CSS = """
    PickerScreen { align: center middle; }
    PickerScreen > Vertical {
        width: 90%;
        max-width: 110;
        height: 80%;
        border: round $primary;
        background: $surface;
        padding: 0 1;
    }
    PickerScreen .picker-title { text-style: bold; }
    PickerScreen Input { margin: 0; }
    PickerScreen OptionList { height: 1fr; border: none; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel", show=False)]

    def __init__(
        self, title: str, choices: Sequence[Choice], *, empty: str = "nothing to pick", current: str | None = None
    ) -> None:
        """`current`: the value in use now: highlighted at first (one Enter keeps it), and
        matches from its provider (the part before `/`) rank first when filtering."""
        super().__init__()
        self.current = current
        self.title_text = title
        self.choices = list(choices)
        self.empty = empty
        self.filter = Input(placeholder="type to filter, ↑↓ to move, Enter to pick, Esc to cancel")
        self.options = OptionList()
        self.shown: list[Choice] = []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text, classes="picker-title", markup=False)
            yield self.filter
            yield self.options

    def on_mount(self) -> None:
        self.apply_filter("")
        self.filter.focus()

    def apply_filter(self, query: str) -> None:
        words = query.lower().split()
        matches = [c for c in self.choices if all(w in c.search for w in words)]
        if words:
            matches.sort(key=lambda c: rank(c.value, query, self.current))  # stable: list order within a rank
        self.shown = matches[:MAX_SHOWN]
        self.options.clear_options()
        if self.shown:
            self.options.add_options([Option(c.label) for c in self.shown])
            values = [c.value for c in self.shown]
            self.options.highlighted = values.index(self.current) if not words and self.current in values else 0
        else:
            self.options.add_option(Option(self.empty, disabled=True))

    def on_input_changed(self, event: Input.Changed) -> None:
        self.apply_filter(event.value)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.pick(self.options.highlighted)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.pick(event.option_index)

    def on_key(self, event: events.Key) -> None:
        if event.key in ("up", "down", "pageup", "pagedown") and self.shown:
            event.stop()
            step = {"up": -1, "down": 1, "pageup": -10, "pagedown": 10}[event.key]
            current = self.options.highlighted or 0
            self.options.highlighted = max(0, min(len(self.shown) - 1, current + step))

    def pick(self, index: int | None) -> None:
        if index is not None and 0 <= index < len(self.shown):
            self.dismiss(self.shown[index].value)

    def action_cancel(self) -> None:
        self.dismiss(None)


FIRST_PARTY = frozenset(
    {"openai", "anthropic", "google", "mistral", "deepseek", "xai", "groq", "cohere", "moonshotai", "alibaba", "zai"}
)
"""Providers that make the models they serve: among equal matches, the maker before resellers."""


def rank(value: str, query: str, current: str | None) -> tuple[int, int, int]:
    """(how exactly `value` matches the typed `query`, whether it is from the current
    provider), lower first: for "openai/gpt-4.1" the ref itself, then refs whose model id is
    it (`anyapi/openai/gpt-4.1`); for "gpt-4.1" the models with exactly that id before
    longer names that end or start with it."""
    q = query.strip().lower()
    v = value.lower()
    provider, _, model_id = v.partition("/")
    if q == v:
        exact = 0
    elif q == model_id:
        exact = 1
    elif v.endswith("/" + q) or model_id.startswith(q) or v.startswith(q):
        exact = 2
    else:
        exact = 3
    same = 0 if current is not None and provider == current.lower().partition("/")[0] else 1
    return exact, same, 0 if provider in FIRST_PARTY else 1


def model_choices(models: Sequence[Model], recent: Sequence[str], current: str | None) -> list[Choice]:
    """Recent models first (most recent on top), then the registry's order."""
    by_ref = {m.ref: m for m in models}
    ordered = [r for r in recent if r in by_ref] + [r for r in by_ref if r not in recent]
    out: list[Choice] = []
    for ref in ordered:
        m = by_ref[ref]
        label = Text(no_wrap=True, overflow="ellipsis")
        label.append("● " if ref == current else ("↺ " if ref in recent else "  "), style="green")
        label.append(f"{one_line(ref, 40):<40}")
        label.append(f" {window_label(m):>5}", style="cyan")
        label.append(f"  {price_label(m)}", style="dim")
        out.append(Choice(ref, label, f"{ref} {m.name or ''}".lower()))
    return out


@dataclass(frozen=True)
class SessionRow:
    id: str
    title: str
    updated: str
    messages: int
    cost: float
    model: str | None


def session_choices(rows: Sequence[SessionRow], current: str | None) -> list[Choice]:
    out: list[Choice] = []
    for r in rows:
        label = Text(no_wrap=True, overflow="ellipsis")
        label.append("● " if r.id == current else "  ", style="green")
        label.append(f"{r.updated}  ", style="dim")
        label.append(f"{one_line(r.title, 48):<48}")
        label.append(f" {r.messages:>4} msgs {usd(r.cost):>7}", style="dim")
        out.append(Choice(r.id, label, f"{r.id} {r.title} {r.model or ''}".lower()))
    return out
