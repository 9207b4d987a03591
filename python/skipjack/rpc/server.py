"""`skipjack rpc`: commands as JSON lines on stdin; events and responses as JSON lines on stdout.

Every command is an object with a `type` and (recommended) an `id`; each gets exactly one
`{"type": "response", "id": ..., "command": ..., "success": ...}` line. Events are the
objects `run --json` writes (agent events, then a `result` per prompt) plus the
controller's (`approval_request`, `compaction_*`, `model_switched`, ...). A line that is not
a command (bad JSON, an unknown type, a missing field) gets an error response; nothing a
client sends ends the process. End of input lets a running prompt finish (pending approvals
are denied: nobody is left to answer), then the process exits 0. SIGINT/SIGTERM/SIGHUP abort
the run, close the session and exit 128 + the signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO, TextIO

from skipjack.agent import RunResult
from skipjack.controller import Controller, Event, to_json
from skipjack.errors import UserError
from skipjack.rpc.rewind import rewind_handlers
from skipjack.safety.hook import Answer

MAX_LINE_BYTES = 16 * 1024 * 1024
"""A command larger than this is refused (a prompt of 16 MB is far past any context window)."""

_EOF = object()


class CommandError(Exception):
    """A command that cannot be carried out; its message is the response's `error`."""


class RpcServer:
    def __init__(self, controller: Controller, out: TextIO) -> None:
        self.controller = controller
        self.out = out
        self.run_task: asyncio.Task[None] | None = None
        self.signal_received: int | None = None
        self.handlers: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any] | None]]] = {
            "prompt": self._prompt,
            "steer": self._steer,
            "follow_up": self._follow_up,
            "abort": self._abort,
            "approve": self._approve,
            "deny": self._deny,
            "set_model": self._set_model,
            "set_approval": self._set_approval,
            "compact": self._compact,
            "new_session": self._new_session,
            "resume_session": self._resume_session,
            "get_state": self._get_state,
        }
        self.handlers.update(rewind_handlers(self, CommandError))

    # -- output ----------------------------------------------------------------------------

    def write(self, obj: dict[str, Any]) -> None:
        with contextlib.suppress(OSError, ValueError):  # the reader left: nothing to tell
            self.out.write(json.dumps(obj, ensure_ascii=False) + "\n")
            self.out.flush()

    def on_event(self, event: Event) -> None:
        self.write(to_json(event))

    def respond(self, command_id: Any, command: str | None, result: dict[str, Any] | None, error: str | None) -> None:
        line: dict[str, Any] = {"type": "response", "id": command_id, "command": command, "success": error is None}
        if error is not None:
            line["error"] = error
        elif result is not None:
            line["data"] = result
        self.write(line)

    # -- input -----------------------------------------------------------------------------

    async def handle_line(self, raw: bytes) -> None:
        command_id: Any = None
        name: str | None = None
        try:
            if len(raw) > MAX_LINE_BYTES:
                raise CommandError(f"the line is longer than {MAX_LINE_BYTES} bytes")
            try:
                message = json.loads(raw)
            except (UnicodeDecodeError, ValueError) as e:
                raise CommandError(f"not a JSON object: {e}") from None
            if not isinstance(message, dict):
                raise CommandError("a command is a JSON object with a `type`")
            command_id = message.get("id")
            if (command_id is not None and not isinstance(command_id, (str, int))) or isinstance(command_id, bool):
                command_id = None
                raise CommandError("`id` must be a string or an integer")
            kind = message.get("type")
            if not isinstance(kind, str) or kind not in self.handlers:
                raise CommandError(f"unknown command type {kind!r}; known: {', '.join(self.handlers)}")
            name = kind
            result = await self.handlers[kind](message)
        except (CommandError, UserError) as e:
            self.respond(command_id, name, None, str(e))
        else:
            self.respond(command_id, name, result, None)

    # -- commands --------------------------------------------------------------------------

    async def _prompt(self, message: dict[str, Any]) -> dict[str, Any] | None:
        text = _text(message, "text")
        if self.run_task is not None and not self.run_task.done():
            raise CommandError("a prompt is running: use steer, follow_up or abort")
        self.run_task = asyncio.create_task(self._run(text))
        return None

    async def _run(self, text: str) -> None:
        try:
            result = await self.controller.prompt(text)
        except UserError as e:
            self.write({"type": "error", "message": str(e)})
            return
        self.write(_result_line(result, self.controller))

    async def _steer(self, message: dict[str, Any]) -> dict[str, Any] | None:
        self.controller.steer(_text(message, "text"))
        return None

    async def _follow_up(self, message: dict[str, Any]) -> dict[str, Any] | None:
        self.controller.follow_up(_text(message, "text"))
        return None

    async def _abort(self, message: dict[str, Any]) -> dict[str, Any] | None:
        self.controller.abort()
        return None

    async def _approve(self, message: dict[str, Any]) -> dict[str, Any] | None:
        always = message.get("always", False)
        if not isinstance(always, bool):
            raise CommandError("`always` must be true or false")
        rule = message.get("rule")
        if rule is not None and not isinstance(rule, str):
            raise CommandError("`rule` must be a string")
        answer = Answer("always" if always else "once", rule=rule)
        self.controller.answer_approval(_text(message, "approval_id"), answer)
        return None

    async def _deny(self, message: dict[str, Any]) -> dict[str, Any] | None:
        reason = message.get("reason", "")
        if not isinstance(reason, str):
            raise CommandError("`reason` must be a string")
        self.controller.answer_approval(_text(message, "approval_id"), Answer("deny", reason))
        return None

    async def _set_model(self, message: dict[str, Any]) -> dict[str, Any] | None:
        model = self.controller.switch_model(_text(message, "model"))
        return {"model": model.ref}

    async def _set_approval(self, message: dict[str, Any]) -> dict[str, Any] | None:
        self.controller.set_approval(_text(message, "mode"))
        return {"mode": self.controller.approval_mode}

    async def _compact(self, message: dict[str, Any]) -> dict[str, Any] | None:
        focus = message.get("focus")
        if focus is not None and not isinstance(focus, str):
            raise CommandError("`focus` must be a string")
        self._require_idle()
        result = await self.controller.compact(focus)
        if result is None:
            return {"compacted": False}
        return {"compacted": True, "summarized": result.summarized, "kept": result.kept,
                "tokens_before": result.tokens_before, "tokens_after": result.tokens_after}  # fmt: skip

    async def _new_session(self, message: dict[str, Any]) -> dict[str, Any] | None:
        self._require_idle()
        self.controller.new_session()
        return None

    async def _resume_session(self, message: dict[str, Any]) -> dict[str, Any] | None:
        self._require_idle()
        session = self.controller.resume_session(_text(message, "session_id"))
        return {"session_id": session.id, "messages": len(self.controller.agent.messages)}

    async def _get_state(self, message: dict[str, Any]) -> dict[str, Any] | None:
        return self.controller.state()

    def _require_idle(self) -> None:
        if self.run_task is not None and not self.run_task.done():
            raise CommandError("a prompt is running: abort it or wait for its result")

    # -- the process -------------------------------------------------------------------------

    async def serve(self, source: BinaryIO) -> int:
        loop = asyncio.get_running_loop()
        lines: asyncio.Queue[object] = asyncio.Queue()
        # A thread reads stdin because asyncio's pipe reader refuses regular files, which a
        # clumsy user may hand us (`skipjack rpc < commands.jsonl`).
        threading.Thread(target=_read_lines, args=(source.fileno(), loop, lines), daemon=True).start()
        stopped = asyncio.Event()

        def on_signal(sig: int) -> None:
            if self.signal_received is None:
                self.signal_received = sig
            self.controller.abort()
            stopped.set()

        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, on_signal, sig)
        unsubscribe = self.controller.subscribe(self.on_event)
        self.controller.announce()
        try:
            while not stopped.is_set():
                getter = asyncio.ensure_future(lines.get())
                stopper = asyncio.ensure_future(stopped.wait())
                await asyncio.wait({getter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                stopper.cancel()
                if not getter.done():
                    getter.cancel()
                    break
                line = getter.result()
                if line is _EOF:
                    break
                assert isinstance(line, bytes)
                if line.strip():
                    # One command at a time, in order; a prompt only starts its run task.
                    await self.handle_line(line)
            if self.signal_received is None:
                # Nobody is left to answer a question: deny them, let the run end by itself.
                for approval_id in self.controller.state()["pending_approvals"]:
                    self.controller.answer_approval(approval_id, Answer("deny", "the client closed its input"))
            if self.run_task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await self.run_task
        finally:
            unsubscribe()
            self.controller.close()
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                with contextlib.suppress(NotImplementedError, RuntimeError):
                    loop.remove_signal_handler(sig)
        return 128 + self.signal_received if self.signal_received is not None else 0


def _read_lines(fd: int, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[object]) -> None:
    """Split the input into lines. Unbuffered `os.read` rather than `sys.stdin.buffer`: a
    thread blocked in a buffered read holds its lock, and the interpreter then aborts at
    exit (SIGABRT) instead of exiting with the run's status."""
    pending = b""
    oversized = False
    try:
        while chunk := os.read(fd, 1 << 16):
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if oversized:
                    # The end of a line already refused: say nothing more about it.
                    oversized = False
                    continue
                loop.call_soon_threadsafe(queue.put_nowait, line)
            if len(pending) > MAX_LINE_BYTES:
                # Refuse it now, keep no more of it in memory, and skip the rest of it.
                loop.call_soon_threadsafe(queue.put_nowait, pending[: MAX_LINE_BYTES + 1])
                pending, oversized = b"", True
        if pending and not oversized:
            loop.call_soon_threadsafe(queue.put_nowait, pending)
    except (OSError, RuntimeError):
        pass
    finally:
        with contextlib.suppress(RuntimeError):  # the loop closed first
            loop.call_soon_threadsafe(queue.put_nowait, _EOF)


def _text(message: dict[str, Any], field: str) -> str:
    value = message.get(field)
    if not isinstance(value, str) or not value.strip():
        raise CommandError(f"`{field}` must be a non-empty string")
    return value


def _result_line(result: RunResult, controller: Controller) -> dict[str, Any]:
    """The same `result` object `run --json` ends with."""
    import msgspec

    session = controller.session
    return {
        "type": "result",
        "stop_reason": result.stop_reason,
        "text": result.message.text if result.message else "",
        "turns": result.turns,
        "usage": msgspec.to_builtins(result.usage),
        "cost": result.usage.cost.total,
        "session_id": session.id if session is not None else None,
        "error_kind": result.error_kind,
        "error_message": result.error_message,
    }


def run_rpc(controller: Controller, *, source: BinaryIO | None = None, out: TextIO | None = None) -> int:
    server = RpcServer(controller, out if out is not None else sys.stdout)
    return asyncio.run(server.serve(source if source is not None else sys.stdin.buffer))
