"""The prompt editor: multi-line input, history, and `/` and `@` completion.

Enter sends; Shift+Enter or Ctrl+J starts a new line (most terminals cannot tell
Shift+Enter from Enter, hence Ctrl+J). Up/Down on the first/last line walk the history.
Tab (or Enter while the menu is open) takes the highlighted completion.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.message import Message
from textual.widgets import OptionList, TextArea
from textual.widgets.option_list import Option

from skipjack.tui.completion import Completion, complete

Mentions = Callable[[str], Completion | None]
"""More `@` completions for the text before the cursor (the MCP servers' `@server:uri`)."""

MAX_HISTORY = 500


class CompletionMenu(OptionList):
    DEFAULT_CSS = """
    CompletionMenu {
        display: none;
        height: auto;
        max-height: 8;
        border: none;
        padding: 0 1;
        background: $panel;
    }
    CompletionMenu.-open { display: block; }
    """

    def __init__(self) -> None:
        super().__init__(id="completion")
        self.completion: Completion | None = None
        self.can_focus = False

    def show(self, completion: Completion | None) -> None:
        self.completion = completion
        self.clear_options()
        if completion is None:
            self.remove_class("-open")
            return
        # Plain text: a file or resource name like `[/bold]` is not markup (it would raise).
        self.add_options([Option(Content(item.label)) for item in completion.items])
        self.highlighted = 0
        self.add_class("-open")

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def move(self, step: int) -> None:
        if self.completion is not None and self.option_count:
            self.highlighted = ((self.highlighted or 0) + step) % self.option_count

    def chosen(self) -> tuple[str, str] | None:
        """(token to replace, its replacement)."""
        if self.completion is None or self.highlighted is None:
            return None
        return self.completion.token, self.completion.items[self.highlighted].value


class PromptInput(TextArea):
    DEFAULT_CSS = """
    PromptInput {
        height: auto;
        min-height: 3;
        max-height: 10;
        border: round $primary 60%;
        padding: 0 1;
    }
    PromptInput:focus { border: round $primary; }
    """

    class Submitted(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Scroll(Message):
        """Page Up/Down in the prompt scroll the chat (the prompt is a few lines at most)."""

        def __init__(self, pages: int) -> None:
            super().__init__()
            self.pages = pages

    def __init__(
        self,
        menu: CompletionMenu,
        cwd: Path,
        commands: Callable[[], Sequence[tuple[str, str]]],
        mentions: Mentions | None = None,
    ) -> None:
        super().__init__("", id="prompt", soft_wrap=True, show_line_numbers=False, tab_behavior="focus")
        self.menu = menu
        self.cwd = cwd
        self._commands = commands
        self._mentions = mentions
        self.sent: list[str] = []
        self._history_pos: int | None = None
        self._draft = ""
        self._typed = False

    # -- keys --------------------------------------------------------------------------

    async def _on_key(self, event: events.Key) -> None:
        key = event.key
        handled = True
        if self.menu.is_open and (key == "tab" or (key == "enter" and not self._completion_is_typed())):
            self.accept_completion()
        elif self.menu.is_open and key in ("up", "down"):
            self.menu.move(-1 if key == "up" else 1)
        elif self.menu.is_open and key == "escape":
            self.menu.show(None)
        elif key == "enter":
            self.submit()
        elif key in ("pageup", "pagedown"):
            self.post_message(self.Scroll(-1 if key == "pageup" else 1))
        elif key in ("shift+enter", "ctrl+j"):
            self.insert("\n")
        elif key == "tab":
            self.update_completion()
            if self.menu.is_open and self.menu.option_count == 1:
                self.accept_completion()
        elif key == "up" and self.cursor_location[0] == 0:
            self.history_step(-1)
        elif key == "down" and self.cursor_location[0] == self.document.line_count - 1:
            self.history_step(1)
        else:
            handled = False
        if handled:
            event.stop()
            event.prevent_default()
            return
        # Completion follows what the user types, not text loaded from the history.
        self._typed = True
        await super()._on_key(event)

    def submit(self) -> None:
        text = self.text.strip()
        if not text:
            return
        if not self.sent or self.sent[-1] != text:
            self.sent.append(text)
            del self.sent[:-MAX_HISTORY]
        self._history_pos = None
        self._draft = ""
        self.clear()
        self.menu.show(None)
        self.post_message(self.Submitted(text))

    def history_step(self, step: int) -> None:
        if not self.sent:
            return
        if self._history_pos is None:
            if step > 0:
                return
            self._draft = self.text
            pos = len(self.sent) - 1
        else:
            pos = self._history_pos + step
        if pos < 0:
            return
        if pos >= len(self.sent):
            self._history_pos = None
            self._set_text(self._draft)
            return
        self._history_pos = pos
        self._set_text(self.sent[pos])

    def _set_text(self, text: str) -> None:
        self.load_text(text)
        self.move_cursor(self.document.end)
        self.menu.show(None)

    # -- completion --------------------------------------------------------------------

    def before_cursor(self) -> str:
        row, col = self.cursor_location
        return self.document.get_line(row)[:col]

    def update_completion(self) -> None:
        line = self.before_cursor()
        first_line = self.cursor_location[0] == 0
        # `/commands` only at the very start of the prompt.
        if line.startswith("/") and not first_line:
            line = ""
        found = complete(line, self.cwd, self._commands())
        more = self._mentions(line) if self._mentions is not None and line else None
        self.menu.show(_merged(more, found))

    def _completion_is_typed(self) -> bool:
        """The highlighted completion is what is typed already: Enter sends instead."""
        choice = self.menu.chosen()
        return choice is not None and choice[0].strip() == choice[1].strip()

    def accept_completion(self) -> None:
        choice = self.menu.chosen()
        self.menu.show(None)
        if choice is None:
            return
        token, value = choice
        row, col = self.cursor_location
        self.replace(value, (row, col - len(token)), (row, col))

    def _on_text_area_changed(self, event: TextArea.Changed) -> None:
        typed, self._typed = self._typed, False
        if typed and (self.menu.is_open or self._wants_menu()):
            self.update_completion()

    def _wants_menu(self) -> bool:
        line = self.before_cursor()
        if self.cursor_location[0] == 0 and line.startswith("/") and " " not in line:
            return True
        word = line.rsplit(None, 1)[-1] if line.strip() else ""
        return word.startswith("@") and not line.endswith(" ")


def _merged(first: Completion | None, then: Completion | None) -> Completion | None:
    """Both lists when they complete the same word (`@te`: resources, then paths)."""
    if first is None or then is None or first.token != then.token:
        return first or then
    return Completion(first.token, first.items + then.items)


class PromptBox(Vertical):
    DEFAULT_CSS = """
    PromptBox { height: auto; }
    """

    def __init__(
        self, cwd: Path, commands: Callable[[], Sequence[tuple[str, str]]], mentions: Mentions | None = None
    ) -> None:
        super().__init__(id="prompt-box")
        self.menu = CompletionMenu()
        self.input = PromptInput(self.menu, cwd, commands, mentions)

    def compose(self) -> ComposeResult:
        yield self.menu
        yield self.input
