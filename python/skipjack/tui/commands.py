"""Slash commands, `!cmd` shell commands, and the session actions behind them."""

from __future__ import annotations

import asyncio
import datetime
import os
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import msgspec

from skipjack.config.schema import ApprovalMode
from skipjack.errors import UserError
from skipjack.llm.types import AssistantMessage, text_of
from skipjack.llm.usage import cost_text
from skipjack.sessions import Session
from skipjack.tui.formatting import one_line, tokens, usd
from skipjack.tui.history import render_messages
from skipjack.tui.host import Host

Handler = Callable[["Host", str], Awaitable[None]]
_MODES: tuple[ApprovalMode, ...] = get_args(ApprovalMode)


@dataclass(frozen=True)
class Command:
    name: str
    args: str
    help: str
    handler: Handler
    while_running: bool = False
    """Usable while the agent works (it does not touch the conversation)."""


COMMANDS: dict[str, Command] = {}
ALIASES: dict[str, str] = {}
_COMMAND_WORD = re.compile(r"/[A-Za-z][A-Za-z0-9_-]*")


def command(
    name: str, help_: str, args: str = "", *, while_running: bool = False, aliases: tuple[str, ...] = ()
) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = Command(name, args, help_, fn, while_running)
        ALIASES.update(dict.fromkeys(aliases, name))
        return fn

    return register


def is_command(text: str) -> bool:
    """`/name ...` is a command (known or not); `/etc/hosts is wrong` or `/ ` is a prompt: a
    first word with a second slash, a dot or nothing after the slash is a path."""
    first = text.split(None, 1)[0] if text.strip() else ""
    return _COMMAND_WORD.fullmatch(first) is not None


def completions() -> list[tuple[str, str]]:
    return [(c.name, c.help) for c in COMMANDS.values()]


def custom_completions(app: Host) -> list[tuple[str, str]]:
    """The user's and (trusted) project's custom commands, from the controller's registry."""
    found = app.controller.custom_commands() if app.controller is not None else []
    return [(c.name, f"{c.description} ({c.argument_hint})" if c.argument_hint else c.description) for c in found]


def is_custom(app: Host, text: str) -> bool:
    """`/name ...` naming a custom command (not a built-in): sent as a prompt, which expands it."""
    name = text[1:].split(maxsplit=1)[0] if text[1:].strip() else ""
    return name not in COMMANDS and any(name == n for n, _ in custom_completions(app))


async def dispatch(app: Host, text: str) -> None:
    name, _, arg = text[1:].partition(" ")
    name = name.strip()
    cmd = COMMANDS.get(ALIASES.get(name, name))
    if cmd is None:
        app.chat.notice(f"unknown command /{name}; /help lists them", "error")
        return
    agent = app.agent
    if agent is not None and agent.is_running and not cmd.while_running:
        app.chat.notice(f"/{cmd.name} waits until the agent is idle (Esc aborts the run)", "warning")
        return
    try:
        await cmd.handler(app, arg.strip())
    except Exception as e:  # a command must never take the app down
        app.chat.notice(f"/{cmd.name} failed: {type(e).__name__}: {e}", "error")


# -- general ---------------------------------------------------------------------------


@command("help", "list commands and keys", while_running=True)
async def _help(app: Host, arg: str) -> None:
    lines = [f"/{c.name}{' ' + c.args if c.args else ''}  —  {c.help}" for c in COMMANDS.values()]
    lines += [f"/{name}  —  {help_} (custom command)" for name, help_ in custom_completions(app)]
    lines += [
        "!cmd  —  run a shell command and show its output",
        "@path  —  complete a file path (Tab)",
        "Enter send · Ctrl+J newline · ↑↓ history · PgUp/PgDn scroll · Esc abort · Ctrl+C abort, twice to exit",
        "Select text by dragging over the chat, Ctrl+C copies it; or Shift+drag (Option+drag in iTerm2)"
        " for the terminal's own selection",
    ]
    app.chat.notice("\n".join(lines))


@command("exit", "leave skipjack", while_running=True, aliases=("quit",))
async def _exit(app: Host, arg: str) -> None:
    app.abort_run()
    app.exit(0)


@command("retry", "ask the model again after the last prompt failed (the prompt is sent once)")
async def _retry(app: Host, arg: str) -> None:
    controller = app.controller
    if controller is None or controller.retry_text() is None:
        app.chat.notice("nothing to retry: the last prompt did not fail before the model answered", "warning")
        return
    app.start_retry()


@command("network", "show or set network access for sandboxed commands this session", "[on|off]", while_running=True)
async def _network(app: Host, arg: str) -> None:
    controller = app.controller
    if controller is None:
        app.chat.notice("no agent yet", "error")
        return
    if arg not in ("", "on", "off"):
        app.chat.notice(f"unknown choice {arg!r}: on or off", "error")
        return
    state = "on" if controller.set_network(arg == "on" if arg else None) else "off"
    app.chat.notice(f"network for sandboxed commands: {state} (from the next command)")


@command("approval", "show or set the approval mode", "[ask|auto-edit|yolo|plan]", while_running=True)
async def _approval(app: Host, arg: str) -> None:
    controller = app.controller
    if controller is None:
        app.chat.notice("no agent yet", "error")
        return
    if not arg:
        app.chat.notice(f"approval mode: {controller.approval_mode} (one of {', '.join(_MODES)})")
        return
    if arg not in _MODES:
        app.chat.notice(f"unknown mode {arg!r}: one of {', '.join(_MODES)}", "error")
        return
    controller.set_approval(arg)  # the sandbox follows it, and the model is told
    app.chat.notice(f"approval mode: {arg}")


@command("todo", "show the agent's task list", while_running=True)
async def _todo(app: Host, arg: str) -> None:
    from skipjack.tools.todo import current_todos

    items = current_todos(app.agent.tool_state) if app.agent is not None else []
    if not items:
        app.chat.notice("the todo list is empty")
        return
    marks = {"done": "✓", "in_progress": "▸", "pending": "○"}
    app.chat.notice("\n".join(f"{marks[i.status]} {i.content}" for i in items))


@command("cost", "usage and cost by model for this session", while_running=True)
async def _cost(app: Host, arg: str) -> None:
    controller = app.controller
    if controller is None:
        app.chat.notice("nothing spent yet")
        return
    by_model = controller.usage_by_model()
    lines = []
    total = 0.0
    for ref, u in by_model.items():
        total += u.cost.total
        lines.append(
            f"{ref}: {tokens(u.input)} in · {tokens(u.cache_read)} cached · "
            f"{tokens(u.cache_write)} cache-write · {tokens(u.output)} out · {usd(u.cost.total)}"
        )
    unpriced = controller.unpriced_requests()
    lines.append(f"this session {cost_text(total, unpriced)}" if by_model else "nothing spent in this session yet")
    today, month = await asyncio.to_thread(controller.project_spend)
    lines.append(
        f"this project: today {cost_text(today.cost, today.unpriced)} ({today.requests} requests) · "
        f"this month {cost_text(month.cost, month.unpriced)} ({month.requests} requests)"
    )
    if unpriced or month.unpriced:
        lines.append("? = requests to models with no known price (set prices under [providers] in config)")
    app.chat.notice("\n".join(lines))


# -- model -----------------------------------------------------------------------------


@command("model", "switch model (picker with prices and context sizes)", "[provider/model]")
async def _model(app: Host, arg: str) -> None:
    if arg:
        switch_model(app, arg)
        return
    from skipjack.models import default_registry, registry_for
    from skipjack.tui.pickers import PickerScreen, model_choices
    from skipjack.tui.recent import load_recent

    controller = app.controller
    registry = registry_for(controller.runtime.config.settings) if controller is not None else default_registry()
    models = registry.list_models()
    current = controller.model if controller is not None else None
    if current is not None and current.ref not in {m.ref for m in models}:
        models = [current, *models]
    choices = model_choices(models, load_recent(app.env), current.ref if current is not None else None)

    def picked(ref: str | None) -> None:
        if ref is not None:
            switch_model(app, ref)

    title = "Model  (context window · $ per Mtok input/output)"
    app.push_screen(PickerScreen(title, choices, current=current.ref if current else None), callback=picked)


def switch_model(app: Host, ref: str) -> None:
    """The controller switches (key, base URL, API, compactor, session record); with no
    model set up yet, the first one is built from the pick."""
    from skipjack.tui.recent import remember

    controller = app.controller
    try:
        if controller is None:
            app.options = msgspec.structs.replace(app.options, model=ref)
            app.attach(app.build_controller())
        else:
            controller.switch_model(ref)
    except UserError as e:
        app.chat.notice(str(e), "error")
        return
    remember(app.env, ref)
    app.chat.notice(f"model: {ref}")


# -- sessions --------------------------------------------------------------------------


@command("new", "start a new conversation", aliases=("clear",))
async def _new(app: Host, arg: str) -> None:
    if app.controller is not None:
        app.controller.new_session()
    await app.chat.clear_all()
    app.view.last_context = 0
    app.refresh_usage()
    app.chat.notice("new conversation")


@command("resume", "continue a saved session (picker)", "[session id]")
async def _resume(app: Host, arg: str) -> None:
    if arg:
        resume_session(app, arg)
        return
    from skipjack.tui.pickers import PickerScreen, SessionRow, session_choices

    if app.controller is None:
        app.chat.notice("no model is set up yet: pick one with /model", "error")
        return
    rows = [
        SessionRow(s.id, s.title, _when(s.updated), s.messages, s.cost, s.model) for s in app.controller.list_sessions()
    ]
    current = app.session.id if app.session is not None else None
    choices = session_choices(rows, current)

    def picked(session_id: str | None) -> None:
        if session_id is not None:
            resume_session(app, session_id)

    app.push_screen(PickerScreen("Resume a session", choices, empty="no saved sessions here"), callback=picked)


def _when(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000).strftime("%Y-%m-%d %H:%M")


def resume_session(app: Host, session_id: str) -> None:
    controller = app.controller
    if controller is None:
        app.chat.notice("cannot resume: no model is set up yet", "error")
        return
    try:
        session = controller.resume_session(session_id)
    except UserError as e:
        app.chat.notice(f"cannot resume: {e}", "error")
        return
    load_session(app, session)
    app.chat.notice(f"resumed session {session.id}: {one_line(session.title, 60)}")


def load_session(app: Host, session: Session) -> None:
    """Draw the session the controller has just attached."""
    messages = session.messages()
    app.chat.tool_panels.clear()
    app.chat.remove_children()
    render_messages(app.chat, messages)
    for warning in session.warnings:
        app.chat.notice(str(warning), "warning")
    last = next((m for m in reversed(messages) if isinstance(m, AssistantMessage) and m.usage.total_tokens), None)
    if last is not None:
        from skipjack.tui.formatting import context_tokens

        app.view.last_context = context_tokens(last.usage)
    app.refresh_usage()


@command("fork", "copy this conversation into a new session and continue there")
async def _fork(app: Host, arg: str) -> None:
    controller = app.controller
    if controller is None or controller.session is None:
        app.chat.notice("nothing to fork yet", "warning")
        return
    old = controller.session.id
    try:
        fork = controller.fork_session()
    except UserError as e:
        app.chat.notice(str(e), "warning")
        return
    app.chat.notice(f"forked {old} into {fork.id}; new messages go to the fork")


@command("export", "write this session as markdown", "[path]")
async def _export(app: Host, arg: str) -> None:
    session = app.session
    if session is None:
        app.chat.notice("nothing to export yet", "warning")
        return
    from skipjack.sessions.export import to_markdown

    target = export_target(app.cwd, arg, session.id, app.env)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(to_markdown(session), encoding="utf-8")
    app.chat.notice(f"exported to {target}")


def export_target(cwd: Path, arg: str, session_id: str, env: Mapping[str, str]) -> Path:
    """A path given is taken relative to the project; none: the data dir's `exports/`, so an
    export never lands in the repository unasked."""
    from skipjack.sessions.store import data_dir

    if not arg:
        return data_dir(env) / "exports" / f"skipjack-{session_id}.md"
    target = Path(os.path.expanduser(arg))
    return target if target.is_absolute() else cwd / target


@command("compact", "summarise older messages to free context", "[focus]")
async def _compact(app: Host, arg: str) -> None:
    controller = app.controller
    if controller is None:
        app.chat.notice("no model is set up yet", "error")
        return
    if app.session is None:
        app.chat.notice("nothing to compact yet")
        return
    app.status.set_state("compacting…")
    try:
        result = await controller.compact(arg or None)
    except UserError as e:
        app.chat.notice(str(e), "error")
        return
    finally:
        app.status.set_state("ready")
    if result is None:
        app.chat.notice("too little history to compact")


# -- shell -----------------------------------------------------------------------------


async def shell(app: Host, command_line: str) -> None:
    """`!cmd`: run it like the bash tool does (own process group, timeout, output cut) and show it."""
    if not command_line:
        app.chat.notice("usage: !command", "warning")
        return
    if app.controller is None:
        app.chat.notice("no model is set up yet: pick one with /model", "error")
        return
    app.shell_count += 1
    panel = app.chat.add_tool(f"shell-{app.shell_count}", "bash", {"command": command_line})
    panel.label = "!"
    try:
        output = await app.controller.run_shell(command_line, panel.append_output)
    except asyncio.CancelledError:
        panel.finish("aborted", is_error=True)  # keeps what it printed, marked interrupted
        raise
    except Exception as e:
        panel.finish(f"{type(e).__name__}: {e}", is_error=True)
        return
    text = text_of(output.content)
    panel.finish(text, is_error=output.is_error, details=output.details)
