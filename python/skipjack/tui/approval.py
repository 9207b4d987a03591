"""The approval box, docked above the prompt: allow once, always allow a rule for this
session, deny with a reason, or Esc to deny and stop the run (as Esc does everywhere).

It shows what the call would do: for edit, write and apply_patch the diff of a dry run
against the files as they are now. Keys typed before it appeared must not answer it, so for
`ARM_DELAY_S` after it appears no key answers; printable ones go back to the prompt.
"""

from __future__ import annotations

import json
import time
from typing import Any, ClassVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static

from skipjack.llm.types import ToolCall
from skipjack.safety.hook import Answer
from skipjack.safety.policy import Verdict
from skipjack.tui.formatting import tool_key_arg

PREVIEW_CHARS = 600
ANSWER_KEYS = frozenset({"y", "a", "n"})
ARM_DELAY_S = 0.3
"""Typing at speed sends a key every ~50-150 ms: 300 ms covers the keys already on their way."""


def diff_text(diff: str) -> Text:
    """A unified diff with the usual colours."""
    out = Text(no_wrap=True, overflow="ellipsis")
    for i, line in enumerate(diff.splitlines()):
        if i:
            out.append("\n")
        if line.startswith(("+++", "---")):
            out.append(line, style="bold")
        elif line.startswith("@@"):
            out.append(line, style="cyan")
        elif line.startswith("+"):
            out.append(line, style="green")
        elif line.startswith("-"):
            out.append(line, style="red")
        else:
            out.append(line, style="dim")
    return out


class ApprovalBox(Vertical, can_focus=True):
    DEFAULT_CSS = """
    ApprovalBox {
        height: auto;
        max-height: 24;
        border: round $warning;
        background: $surface;
        padding: 0 1;
    }
    ApprovalBox:focus { border: round $warning; }
    ApprovalBox .approval-what { color: $text; }
    ApprovalBox .approval-diff { height: auto; max-height: 14; }
    ApprovalBox .approval-why { color: $text-muted; }
    ApprovalBox .approval-keys { margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "once", "allow once", show=False),
        Binding("a", "always", "always allow", show=False),
        Binding("n", "deny", "deny", show=False),
        Binding("escape", "stop", "deny and stop", show=False),
    ]

    class Answered(Message):
        def __init__(self, box: ApprovalBox, answer: Answer, stop: bool) -> None:
            super().__init__()
            self.box = box
            self.answer = answer
            self.stop_run = stop
            """Esc: deny and stop the run."""

    class GiveBack(Message):
        """A key typed before the box could have been seen: it belongs to the prompt."""

        def __init__(self, character: str) -> None:
            super().__init__()
            self.character = character

    def __init__(self, call: ToolCall, verdict: Verdict, *, diff: str | None = None, refusal: str | None = None):
        super().__init__(id="approval")
        self.call = call
        self.verdict = verdict
        self.diff = diff
        self.refusal = refusal
        self.rule = verdict.suggested_rule
        self.shown_at = time.monotonic()
        self.answered = False
        self.reason_input = Input(placeholder="why not? (Enter sends, empty for no reason)", id="deny-reason")

    @property
    def armed(self) -> bool:
        return time.monotonic() - self.shown_at >= ARM_DELAY_S

    def compose(self) -> ComposeResult:
        yield Static(self._what(), classes="approval-what")
        if self.diff:
            with VerticalScroll(classes="approval-diff"):
                yield Static(diff_text(self.diff))
        elif self.refusal:
            yield Static(
                f"the tool would refuse this as it stands: {self.refusal}", classes="approval-why", markup=False
            )
        yield Static(f"needs approval: {self.verdict.reason}", classes="approval-why", markup=False)
        yield Static(self._keys(), classes="approval-keys")

    def on_mount(self) -> None:
        self.shown_at = time.monotonic()

    def _what(self) -> Text:
        text = Text()
        text.append(f"{self.call.name} ", style="bold yellow")
        args = self.call.arguments
        text.append(tool_key_arg(self.call.name, args))
        if not self.diff:
            extra = _extra_args(self.call.name, args)
            if extra:
                text.append("\n" + extra[:PREVIEW_CHARS], style="dim")
        return text

    def _keys(self) -> Text:
        keys = Text()
        keys.append(" y ", style="reverse green")
        keys.append(" allow  ")
        if self.rule:
            keys.append(" a ", style="reverse cyan")
            keys.append(f" always allow `{self.rule}` this session  ")
        keys.append(" n ", style="reverse red")
        keys.append(" deny, say why  ")
        keys.append(" esc ", style="reverse")
        keys.append(" deny and stop")
        return keys

    async def _on_key(self, event: events.Key) -> None:
        if self.reason_input.is_mounted and self.reason_input.has_focus:
            return
        if not self.armed:
            # Not an answer: the user cannot have read the box yet.
            event.stop()
            event.prevent_default()
            if event.is_printable and event.character:
                self.post_message(self.GiveBack(event.character))
        elif event.is_printable and event.character and event.key not in ANSWER_KEYS:
            # Typing meant for the prompt is kept there, not dropped.
            event.stop()
            event.prevent_default()
            self.post_message(self.GiveBack(event.character))

    def _answer(self, answer: Answer, *, stop: bool = False) -> None:
        if self.answered:
            return
        self.answered = True
        self.post_message(self.Answered(self, answer, stop))

    def action_once(self) -> None:
        self._answer(Answer("once"))

    def action_always(self) -> None:
        if self.rule:
            self._answer(Answer("always", rule=self.rule))

    def action_deny(self) -> None:
        # Mounted only now: a hidden input would take the focus, and the y/a/n keys with it.
        if not self.reason_input.is_mounted:
            self.mount(self.reason_input, before=self.query_one(".approval-keys"))
        self.reason_input.focus()

    def action_stop(self) -> None:
        self._answer(Answer("deny", "the user stopped the run"), stop=True)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        reason = event.value.strip()
        self._answer(Answer("deny", reason=f"the user refused: {reason}" if reason else ""))


def _extra_args(name: str, args: dict[str, Any] | str) -> str:
    """The rest of the arguments, for a judgement, when there is no diff to show."""
    if isinstance(args, str) or name == "bash":
        return ""
    rest = {k: v for k, v in args.items() if k not in ("path", "command")}
    if not rest:
        return ""
    if name == "write" and isinstance(rest.get("content"), str):
        return str(rest["content"])
    if name == "apply_patch" and isinstance(rest.get("input"), str):
        return str(rest["input"])
    return json.dumps(rest, ensure_ascii=False, indent=1)
