"""The approval prompt: allow once, always allow this pattern, or deny with a reason; one key each."""

from __future__ import annotations

import json
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from skipjack.llm.types import ToolCall
from skipjack.safety.hook import Answer
from skipjack.safety.policy import Verdict
from skipjack.tui.formatting import tool_key_arg

PREVIEW_CHARS = 600


class ApprovalScreen(ModalScreen[Answer]):
    DEFAULT_CSS = """
    ApprovalScreen { align: center bottom; }
    ApprovalScreen > Vertical {
        width: 100%;
        height: auto;
        max-height: 20;
        border: round $warning;
        background: $surface;
        padding: 0 1;
    }
    ApprovalScreen .approval-what { color: $text; }
    ApprovalScreen .approval-why { color: $text-muted; }
    ApprovalScreen .approval-keys { margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "once", "allow once"),
        Binding("a", "always", "always allow"),
        Binding("n", "deny", "deny"),
        Binding("escape", "deny_now", "deny", show=False),
    ]

    def __init__(self, call: ToolCall, verdict: Verdict) -> None:
        super().__init__()
        self.call = call
        self.verdict = verdict
        self.rule = verdict.suggested_rule
        self.reason_input = Input(placeholder="why not? (Enter sends, empty for no reason)", id="deny-reason")

    def compose(self) -> ComposeResult:
        with Vertical(id="approval"):
            yield Static(self._what(), classes="approval-what")
            yield Static(f"needs approval: {self.verdict.reason}", classes="approval-why", markup=False)
            yield Static(self._keys(), classes="approval-keys")

    def _what(self) -> Text:
        text = Text()
        text.append(f"{self.call.name} ", style="bold yellow")
        args = self.call.arguments
        key = tool_key_arg(self.call.name, args)
        text.append(key)
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
            keys.append(f" always `{self.rule}`  ")
        keys.append(" n ", style="reverse red")
        keys.append(" deny, say why  ")
        keys.append(" esc ", style="reverse")
        keys.append(" deny")
        return keys

    def action_once(self) -> None:
        self.dismiss(Answer("once"))

    def action_always(self) -> None:
        if self.rule:
            self.dismiss(Answer("always", rule=self.rule))

    def action_deny(self) -> None:
        # Mounted only now: a hidden input would take the focus, and the y/a/n keys with it.
        if not self.reason_input.is_mounted:
            self.query_one("#approval").mount(self.reason_input)
        self.reason_input.focus()

    def action_deny_now(self) -> None:
        self.dismiss(Answer("deny"))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        reason = event.value.strip()
        self.dismiss(Answer("deny", reason=f"the user refused: {reason}" if reason else ""))


def _extra_args(name: str, args: dict[str, Any] | str) -> str:
    """The rest of the arguments, for a judgement: the new text of an edit, a write's content."""
    if isinstance(args, str) or name == "bash":
        return ""
    rest = {k: v for k, v in args.items() if k not in ("path", "command")}
    if not rest:
        return ""
    if name == "write" and isinstance(rest.get("content"), str):
        return str(rest["content"])
    if name == "apply_patch" and isinstance(rest.get("input"), str):
        return str(rest["input"])  # the patch is itself diff-shaped: shown as written
    if name == "edit" and isinstance(rest.get("new_text"), str):
        return f"- {rest.get('old_text', '')}\n+ {rest['new_text']}"
    return json.dumps(rest, ensure_ascii=False, indent=1)
