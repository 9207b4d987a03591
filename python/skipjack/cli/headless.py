"""`skipjack run`: the agent headless, for scripts, hooks and CI.

Text mode: the assistant's text on stdout; tool activity, retries and the final usage on
stderr, one line each. `--json`: one JSON object per agent event on stdout, then a
`result` object.

Ctrl-C, SIGTERM and SIGHUP abort the run cleanly (running commands stopped, the session left
resumable) and exit 128 + the signal (130, 143, 129); a second one forces the exit at once.
A session write that fails (a full disk) ends the run with one sentence on stderr saying what
was not saved, and exit 1 (`SESSION_NOT_SAVED`), whatever the run's own outcome.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from skipjack.cli.options import options_from_args
from skipjack.controller.stop_signals import STOP_SIGNALS, StopSignals
from skipjack.errors import ExitCode, UserError
from skipjack.llm.usage import cost_text
from skipjack.sessions import Session, SessionError
from skipjack.sessions.session import unsaved_summary
from skipjack.terminal_text import sanitize

if TYPE_CHECKING:
    from skipjack.controller import Controller

EXIT_CODES = {
    "completed": ExitCode.OK,
    "error": ExitCode.MODEL_ERROR,
    "aborted": ExitCode.ABORTED,
    "max_turns": ExitCode.LIMIT,
    "max_cost": ExitCode.LIMIT,
    "max_tokens": ExitCode.LIMIT,
}
SESSION_NOT_SAVED = 1
"""Exit status when the session file is missing part of the run (e.g. the disk was full)."""


def run_headless(args: argparse.Namespace, cwd: Path) -> int:
    prompt = args.prompt
    if prompt is None:
        if sys.stdin is None or sys.stdin.isatty():
            raise UserError('give the task as an argument (`skipjack run "..."`) or on stdin')
        from skipjack.cli.inputs import read_prompt

        prompt = read_prompt(sys.stdin.buffer)
    if not prompt.strip():
        raise UserError("the prompt is empty")
    try:
        return asyncio.run(_run(args, cwd, prompt))
    finally:
        # The run is over and its session closed; a stop signal now (the loop has given its
        # handlers back) would only turn the run's exit status into a signal death.
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


async def _run(args: argparse.Namespace, cwd: Path, prompt: str) -> int:
    # Installed before anything is set up: a signal is then acted on at the loop's next turn,
    # which is inside the run once it has started (and ends it), or sets the exit code.
    target = _StopTarget()
    stop = StopSignals(
        asyncio.get_running_loop(),
        target.abort,
        before_exit=target.before_exit,
        on_first=lambda sig: _say(f"stopping on {signal.Signals(sig).name}: aborting the run (send it again to force)"),
        ignore_after=True,
    )
    with stop:
        return await _run_with(args, cwd, prompt, stop, target)


class _StopTarget:
    """What a stop signal reaches, once it exists."""

    def __init__(self) -> None:
        self.controller: Controller | None = None

    def abort(self) -> None:
        if self.controller is not None:
            self.controller.abort()

    def before_exit(self) -> None:
        if self.controller is not None and self.controller.session is not None:
            self.controller.close_session()
            _say("forced exit: running commands were killed; the session can be resumed with --continue")


async def _run_with(args: argparse.Namespace, cwd: Path, prompt: str, stop: StopSignals, target: _StopTarget) -> int:
    from skipjack.controller import Controller

    # No one to ask: a call that needs approval is denied with how to allow it.
    controller = Controller.build(options_from_args(args, cwd), ask=None)
    for warning in controller.warnings:
        print(f"skipjack: warning: {warning}", file=sys.stderr)
    session = controller.open_session(continue_latest=args.continue_session, session_id=args.session)
    target.controller = controller

    out = sys.stdout
    printer = _JsonPrinter(out) if args.json else _TextPrinter(out, sys.stderr)
    unsubscribe = controller.subscribe(printer.on_event)
    try:
        result = await controller.prompt(prompt)
    finally:
        unsubscribe()
        controller.close_session()
    new_session = not (args.continue_session or args.session)
    discarded = new_session and result.stop_reason == "error" and not _answered(session)
    if discarded:
        # Nothing came back (no server, a refused key): a session holding only the prompt is
        # clutter in `sessions list` and a trap for `--continue`.
        _discard(session)
    summary: dict[str, Any] = {
        "type": "result",
        "stop_reason": result.stop_reason,
        "text": result.message.text if result.message else "",
        "turns": result.turns,
        "usage": _to_builtins(result.usage),
        "cost": result.usage.cost.total,
        "unpriced_requests": result.unpriced_requests,
        "session_id": None if discarded else session.id,
        "error_kind": result.error_kind,
        "error_message": result.error_message,
    }
    unsaved = unsaved_summary(session)
    if unsaved is not None:
        summary["session_error"] = unsaved
    with contextlib.suppress(OSError):  # SIGHUP: the terminal may be gone
        printer.finish(summary)
    if result.stop_reason == "error":
        _say(_explain(result.error_kind, result.error_message, controller.model.base_url))
    compactor = controller.compactor
    for failure in compactor.errors if compactor is not None else []:
        _say(f"warning: automatic compaction failed: {failure}")
    if unsaved is not None:
        _say(f"error: {unsaved}")
        return SESSION_NOT_SAVED
    if stop.exit_code is not None:
        return stop.exit_code
    return int(EXIT_CODES.get(result.stop_reason, ExitCode.MODEL_ERROR))


def _say(text: str) -> None:
    with contextlib.suppress(OSError):
        print(f"skipjack: {text}", file=sys.stderr, flush=True)


def _answered(session: Session) -> bool:
    """Whether the model said anything in `session` (text, thinking or a tool call)."""
    from skipjack.llm.types import AssistantMessage

    with contextlib.suppress(OSError, SessionError):
        return any(isinstance(m, AssistantMessage) and m.content for m in session.messages())
    return True  # unreadable: keep it


def _discard(session: Session) -> None:
    from skipjack.sessions import SessionStore

    with contextlib.suppress(OSError, SessionError):
        SessionStore().delete(session.id)


def _to_builtins(value: Any) -> Any:
    import msgspec

    return msgspec.to_builtins(value)


def _explain(kind: str | None, message: str | None, base_url: str) -> str:
    """One sentence on what to do, for the errors a user can fix."""
    text = message or "the model call failed"
    if kind == "network":
        return f"cannot reach {base_url} ({text}); {_reach_hint(base_url)}"
    if kind == "auth":
        return f"the provider refused the API key ({text}); check the key for this provider"
    if kind == "context_overflow":
        return f"the conversation no longer fits the model's context window ({text})"
    return text


def _reach_hint(base_url: str) -> str:
    """A local server is usually just not started; a hosted one is usually the network or a typo."""
    from urllib.parse import urlsplit

    host = (urlsplit(base_url).hostname or "").lower()
    if host in ("localhost", "::1", "0.0.0.0") or host.startswith("127.") or host.endswith(".local"):
        return "is the server running and the URL right?"
    return "check your network connection and the URL"


class _JsonPrinter:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def on_event(self, event: Any) -> None:
        from skipjack.controller import to_json

        self.out.write(json.dumps(to_json(event), ensure_ascii=False) + "\n")
        self.out.flush()

    def finish(self, summary: dict[str, Any]) -> None:
        self.out.write(json.dumps(summary, ensure_ascii=False) + "\n")
        self.out.flush()


class _TextPrinter:
    """Assistant text to stdout as it streams; everything else as short lines on stderr."""

    def __init__(self, out: TextIO, err: TextIO) -> None:
        self.out, self.err = out, err
        self.text_open = False
        self.last_retry_cause: str | None = None

    def on_event(self, event: Any) -> None:
        kind = event.type
        if kind == "message_update" and event.event.type == "text_delta":
            self.out.write(event.event.delta)
            self.out.flush()
            self.text_open = True
        elif kind == "message_end" and self.text_open:
            self.out.write("\n")
            self.out.flush()
            self.text_open = False
        elif kind == "tool_execution_start":
            self._line(f"→ {event.tool_name} {_key_argument(event.arguments, event.tool_name)}".rstrip())
        elif kind == "tool_execution_end" and event.is_error:
            self._line(f"✗ {event.tool_name}: {_first_line(event.result.content)}")
        elif kind == "warning":
            self._line(f"skipjack: warning: {event.message}")
        elif kind == "subagent_event":
            self._child(event)
        elif kind == "hook_failed":
            self._line(f"hook failed ({event.event}: {event.command}): {event.message}")
        elif kind == "retry":
            # The cause once; the same cause again is only the countdown.
            cause = f"{event.error_kind}: {event.error_message}"
            note = event.error_kind if cause == self.last_retry_cause else cause
            self.last_retry_cause = cause
            self._line(f"retrying in {event.delay_ms / 1000:.1f} s ({note})")

    def _child(self, wrapped: Any) -> None:
        """A subagent's tool activity, indented under its `task` call (its text stays out of
        stdout: only the parent's answer is the run's output)."""
        event, pad = wrapped.event, "  " * wrapped.depth
        where = f"[{wrapped.agent} {wrapped.task_call_id}]"
        if event.type == "tool_execution_start":
            self._line(f"{pad}{where} → {event.tool_name} {_key_argument(event.arguments, event.tool_name)}".rstrip())
        elif event.type == "tool_execution_end" and event.is_error:
            self._line(f"{pad}{where} ✗ {event.tool_name}: {_first_line(event.result.content)}")
        elif event.type == "agent_end":
            self._line(f"{pad}{where} {event.stop_reason} · {event.turns} turns · ${event.usage.cost.total:.4f}")

    def finish(self, summary: dict[str, Any]) -> None:
        u = summary["usage"]
        cost = cost_text(summary["cost"], summary["unpriced_requests"])
        self._line(
            f"[{summary['stop_reason']} · {summary['turns']} turns · {u['input']:,} in"
            f" ({u['cache_read']:,} cached) · {u['output']:,} out · {cost}]"
        )

    def _line(self, text: str) -> None:
        # Tool names, commands and error lines come from the model and the commands it ran:
        # nothing in them may drive the terminal (title, clear screen, cursor, queries).
        self.err.write(sanitize(text).replace("\n", " ") + "\n")
        self.err.flush()


def _key_argument(arguments: Any, tool_name: str = "") -> str:
    if tool_name == "apply_patch" and isinstance(arguments, dict) and isinstance(arguments.get("input"), str):
        from skipjack.tools.apply_patch import patch_paths

        shown = ", ".join(patch_paths(arguments["input"]))
        return shown if len(shown) <= 100 else shown[:97] + "..."
    if isinstance(arguments, dict):
        for key in ("command", "path", "pattern", "url"):
            value = arguments.get(key)
            if isinstance(value, str):
                return value if len(value) <= 100 else value[:97] + "..."
    return ""


def _first_line(content: Any) -> str:
    if isinstance(content, str):
        text = content
    else:
        text = next((getattr(b, "text", "") for b in content if getattr(b, "text", "")), "")
    return text.strip().splitlines()[0][:200] if text.strip() else "(no output)"
