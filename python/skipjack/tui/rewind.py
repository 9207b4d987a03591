"""Rewind in the terminal UI: double Esc or `/rewind`, `/undo`, `/redo`.

The flow: a list of the session's user turns (time, prompt, files changed since) → what to
restore (conversation and files, files only, conversation only) → the diff that will be
applied, with the files changed by hand since the checkpoint marked as conflicts → confirm
(overwrite them, or keep them and restore the rest) → the restored prompt is put back in
the editor to change and resend. Everything goes through the controller (`plan_rewind`,
`rewind`, `undo`, `redo`); this module only asks.

Hooks in the app (one line each): importing this module registers the commands;
`on_escape(app)` from the app's Esc action when no run was aborted; `"checkpoint"` and
`"rewound"` are among the controller events the app does not render itself.
"""

from __future__ import annotations

import datetime
import time
from typing import Any, ClassVar, Literal

from rich.syntax import Syntax
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from skipjack.checkpoints import RewindPlan, TurnInfo
from skipjack.controller.checkpointing import RewindMode, RewindOutcome
from skipjack.errors import UserError
from skipjack.tui.commands import command
from skipjack.tui.formatting import one_line
from skipjack.tui.host import Host
from skipjack.tui.pickers import Choice, PickerScreen

DOUBLE_ESC_S = 0.6
"""Two Esc presses within this long, on an idle agent, open the rewind list."""
DIFF_LINES = 4000

Confirm = Literal["overwrite", "keep"]
_last_escape: dict[int, float] = {}


def on_escape(app: Host) -> bool:
    """Call on every Esc that did not abort a run; opens the list on the second in a row."""
    now = time.monotonic()
    key = id(app)
    if now - _last_escape.get(key, -DOUBLE_ESC_S * 2) <= DOUBLE_ESC_S:
        _last_escape.pop(key, None)
        open_rewind(app)
        return True
    _last_escape[key] = now
    return False


class DiffScreen(ModalScreen["Confirm | None"]):
    """The diff a restore will apply; conflicts listed on top. Enter/y restores (overwriting
    conflicts), k keeps the conflicting files and restores the rest, Esc/n cancels."""

    DEFAULT_CSS = """
    DiffScreen { align: center middle; }
    DiffScreen > Vertical {
        width: 95%; height: 90%; border: round $warning; background: $surface; padding: 0 1;
    }
    DiffScreen .title { text-style: bold; }
    DiffScreen .conflicts { color: $error; }
    DiffScreen VerticalScroll { height: 1fr; }
    DiffScreen .keys { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter,y", "choose('overwrite')", "restore", show=False),
        Binding("k", "choose('keep')", "keep mine", show=False),
        Binding("escape,n,q", "choose(None)", "cancel", show=False),
    ]

    def __init__(self, title: str, plan: RewindPlan) -> None:
        super().__init__()
        self.title_text = title
        self.plan = plan

    def compose(self) -> ComposeResult:
        plan = self.plan
        files = sorted({c.path for c in plan.changes})
        with Vertical():
            yield Static(self.title_text, classes="title", markup=False)
            yield Static(f"{len(files)} file(s) will change: {one_line(', '.join(files), 200)}", markup=False)
            if plan.conflicts:
                yield Static(
                    f"⚠ changed by hand since the checkpoint (restoring overwrites them): {', '.join(plan.conflicts)}",
                    classes="conflicts",
                    markup=False,
                )
            lines = plan.diff.splitlines()
            text = "\n".join(lines[:DIFF_LINES]) + (
                f"\n… {len(lines) - DIFF_LINES} more lines" if len(lines) > DIFF_LINES else ""
            )
            with VerticalScroll():
                yield Static(Syntax(text or "(no file changes)", "diff", theme="ansi_dark", word_wrap=True))
            keys = "Enter/y restore" + (
                " (overwriting them) · k keep my changes, restore the rest" if plan.conflicts else ""
            )
            yield Static(keys + " · Esc cancel", classes="keys", markup=False)

    def action_choose(self, choice: Confirm | None) -> None:
        if choice == "keep" and not self.plan.conflicts:
            choice = "overwrite"
        self.dismiss(choice)


def turn_choices(turns: list[TurnInfo]) -> list[Choice]:
    out = []
    for t in reversed(turns):  # latest first: the usual target is the last turn or two
        label = Text(no_wrap=True, overflow="ellipsis")
        when = datetime.datetime.fromtimestamp(t.ts / 1000).strftime("%H:%M:%S")
        label.append(f"{t.turn:>3}  {when}  ", style="dim")
        label.append(f"{one_line(t.prompt, 50):<50}")
        files = f"{len(t.files_changed)} file(s) changed since" if t.available else "snapshot removed"
        label.append(f"  {files}", style="cyan" if t.files_changed else "dim")
        search = f"{t.turn} {t.prompt} {' '.join(t.files_changed)}".lower()
        out.append(Choice(str(t.turn), label, search))
    return out


MODE_CHOICES = [
    Choice("both", "Restore conversation and files", "both conversation files"),
    Choice("files", "Restore files only (keep the conversation)", "files"),
    Choice("conversation", "Restore conversation only (leave the files)", "conversation"),
]


def open_rewind(app: Host) -> None:
    """The list of turns; then the mode; then the diff; then the restore."""
    controller = app.controller
    if controller is None or controller.session is None:
        app.chat.notice("nothing to rewind yet: no turn has been sent in this session", "warning")
        return
    if controller.agent.is_running:
        app.chat.notice("the agent is running: Esc aborts it first", "warning")
        return
    try:
        turns = controller.checkpoints()
    except UserError as e:
        app.chat.notice(str(e), "warning")
        return
    if not turns:
        app.chat.notice("no checkpoints in this session yet", "warning")
        return

    def turn_picked(value: str | None) -> None:
        if value is None:
            return
        turn = int(value)

        def mode_picked(mode: str | None) -> None:
            if mode in ("both", "files", "conversation"):
                _confirm_and_restore(app, "rewind", turn, mode)  # type: ignore[arg-type]

        app.push_screen(
            PickerScreen(f"Rewind to before turn {turn}: restore what?", MODE_CHOICES), callback=mode_picked
        )

    title = "Rewind: pick the turn to go back to before (latest first)"
    app.push_screen(PickerScreen(title, turn_choices(turns), empty="no turns"), callback=turn_picked)


def _confirm_and_restore(
    app: Host, kind: Literal["rewind", "undo", "redo"], turn: int | None, mode: RewindMode
) -> None:
    controller = app.controller
    assert controller is not None
    if mode == "conversation":
        _finish(app, lambda _: controller.rewind(turn or 0, "conversation"), None)
        return
    try:
        plan = controller.plan_rewind(turn, kind=kind)
    except UserError as e:
        app.chat.notice(str(e), "warning")
        return
    if not plan.changes and not plan.conflicts and mode == "files":
        app.chat.notice(f"{kind}: the files are already as they were before turn {plan.turn.number}")
        return
    label = {"rewind": f"Rewind to before turn {plan.turn.number}", "undo": f"Undo turn {plan.turn.number}",
             "redo": f"Redo turn {plan.turn.number}"}[kind]  # fmt: skip

    def confirmed(choice: Confirm | None) -> None:
        if choice is None:
            app.chat.notice(f"{kind} cancelled; nothing was changed")
            return
        overwrite = choice == "overwrite"

        def act(o: bool) -> RewindOutcome:
            if kind == "undo":
                return controller.undo(overwrite_conflicts=o)
            if kind == "redo":
                return controller.redo(overwrite_conflicts=o)
            return controller.rewind(turn or 0, mode, overwrite_conflicts=o)

        _finish(app, act, overwrite)

    app.push_screen(DiffScreen(f"{label}: this diff will be applied", plan), callback=confirmed)


def _finish(app: Host, act: Any, overwrite: bool | None) -> None:
    try:
        outcome = act(overwrite)
    except UserError as e:
        app.chat.notice(f"nothing restored: {e}", "error")
        return
    r = outcome.restored
    parts = []
    if outcome.mode != "conversation":
        parts.append(f"{len(r.written)} file(s) restored, {len(r.deleted)} deleted")
        if r.left:
            parts.append("left as they are: " + ", ".join(f"{s.path} ({s.reason})" for s in r.left[:5]))
    if outcome.forked_from is not None:
        parts.append(f"conversation forked into {outcome.session_id} (the old branch stays in {outcome.forked_from})")
        _reload_conversation(app)
        editor = getattr(app, "input", None)
        if editor is not None and hasattr(editor, "load_text"):
            editor.load_text(outcome.prompt)  # to change and send again
            editor.focus()
    app.chat.notice(f"{outcome.kind} turn {outcome.turn}: " + "; ".join(parts))


def _reload_conversation(app: Host) -> None:
    from skipjack.tui.history import render_messages

    app.chat.tool_panels.clear()
    app.chat.remove_children()
    controller = app.controller
    if controller is not None:
        render_messages(app.chat, controller.agent.messages)
    app.refresh_usage()


@command("rewind", "go back to before a turn: conversation and/or files (also Esc Esc)", "[turn]")
async def _rewind(app: Host, arg: str) -> None:
    if arg:
        if not arg.isdigit():
            app.chat.notice("/rewind takes a turn number (or nothing, for the list)", "error")
            return
        _confirm_and_restore(app, "rewind", int(arg), "both")
        return
    open_rewind(app)


@command("undo", "revert the last turn's file changes")
async def _undo(app: Host, arg: str) -> None:
    if app.controller is None:
        return
    _confirm_and_restore(app, "undo", None, "files")


@command("redo", "re-apply the file changes the last /undo reverted")
async def _redo(app: Host, arg: str) -> None:
    if app.controller is None:
        return
    _confirm_and_restore(app, "redo", None, "files")
