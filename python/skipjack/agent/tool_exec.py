"""Running the tool calls of one assistant message.

Calls run in parallel under a concurrency limit; calls sharing a `concurrency_key` run one
after another, in call order. Every call ends in exactly one result, whatever happens
(rejected arguments, unknown tool, denial, exception, skip, abort), and results are
returned in the model's call order however the executions interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

import msgspec

from skipjack.agent.events import AgentEvent, ToolExecutionEnd, ToolExecutionStart, ToolExecutionUpdate
from skipjack.agent.hooks import Deny, Hooks, Replace
from skipjack.agent.tool import Tool, ToolContext, ToolError, ToolOutput
from skipjack.llm import images
from skipjack.llm.types import Model, ToolCall, ToolResultMessage
from skipjack.terminal_text import TerminalText

DEFAULT_CONCURRENCY = 8

SKIPPED = "skipped: the user sent a new message before this call started"
ABORTED_RUNNING = "aborted: the user stopped the run while this call was running"
ABORTED_NOT_RUN = "not run: the user stopped the run"
ABORTED_TAIL_LINES = 200
"""Lines of an interrupted call's streamed output its result keeps (as the bash tool's tail)."""
CUT_OFF = (
    'not run: your response hit the output token limit (stop reason "length"), so this call '
    "may be incomplete. Send it again; keep the arguments shorter if you can."
)


def not_run_after_failure(kind: str | None, message: str | None) -> str:
    return f"not run: the response failed ({kind or 'error'}: {message or 'no details'})"


class _Rejected(Exception):
    """The call cannot run as sent; the message says why, for the model."""


def _parse_args(tool: Tool[Any], call: ToolCall) -> Any:
    if call.arguments_error is not None or not isinstance(call.arguments, dict):
        reason = call.arguments_error or "the arguments are not a JSON object"
        raise _Rejected(
            f'invalid arguments for "{call.name}": {reason}; the tool was not run. '
            "Send the call again with a JSON object matching the tool's schema."
        )
    try:
        return tool.parse_args(call.arguments)
    except msgspec.ValidationError as e:
        raise _Rejected(f'invalid arguments for "{call.name}": {e}; the tool was not run.') from None


class ToolExecutor:
    """Runs batches of tool calls for one agent run; `cancel()` stops the running batch."""

    def __init__(
        self,
        tools: Mapping[str, Tool[Any]],
        *,
        hooks: Hooks,
        emit: Callable[[AgentEvent], None],
        cwd: Path,
        state: dict[str, Any],
        concurrency: int = DEFAULT_CONCURRENCY,
        model: Model | None = None,
    ) -> None:
        self._tools = tools
        # A model without image input gets a note in place of a tool's image (so does the
        # history, which is what the user sees in the tool's result).
        self._model = model
        self._hooks = hooks
        self._emit = emit
        self._cwd = cwd
        self._state = state
        self._concurrency = max(1, concurrency)
        self._tasks: list[asyncio.Task[None]] = []
        self._batch: list[ToolCall] = []
        # By position in the batch: models do not always send unique call ids.
        self._started: set[int] = set()
        self._results: dict[int, ToolResultMessage] = {}
        self._streamed: dict[int, TerminalText] = {}
        """By position: what a running call printed so far, for its result if it is aborted."""

    def cancel(self) -> None:
        for task in self._tasks:
            task.cancel()

    def answer_unrun(self, calls: Sequence[ToolCall], text: str) -> list[ToolResultMessage]:
        """Results for calls that will not run at all (their message failed or was cut off)."""
        self._begin(calls)
        return self.collect(calls, text)

    def collect(self, calls: Sequence[ToolCall], missing: str = ABORTED_NOT_RUN) -> list[ToolResultMessage]:
        """The results of `calls` in call order; a call of theirs that has none yet (the
        batch was cancelled, or it is not the current batch) is answered with `missing`."""
        if list(calls) != self._batch:
            self._begin(calls)
        return [self._results.get(i) or self._end(i, c, ToolOutput.error(missing)) for i, c in enumerate(calls)]

    def _begin(self, calls: Sequence[ToolCall]) -> None:
        self._batch = list(calls)
        self._started.clear()
        self._results.clear()
        self._streamed.clear()

    async def run(self, calls: Sequence[ToolCall], *, interrupt: Callable[[], str | None]) -> list[ToolResultMessage]:
        """Run `calls`; a call about to start runs only while `interrupt()` returns None,
        otherwise it gets that text as its error result."""
        self._begin(calls)
        slots = asyncio.Semaphore(self._concurrency)
        locks: dict[str, asyncio.Lock] = {}
        self._tasks = [asyncio.create_task(self._call_task(i, c, slots, locks, interrupt)) for i, c in enumerate(calls)]
        try:
            await asyncio.wait(self._tasks)
        except asyncio.CancelledError:
            # Our caller was cancelled: stop every call and wait, so nothing outlives the run.
            self.cancel()
            await asyncio.wait(self._tasks)
            raise
        finally:
            self._tasks = []
        return self.collect(calls)

    async def _call_task(
        self,
        i: int,
        call: ToolCall,
        slots: asyncio.Semaphore,
        locks: dict[str, asyncio.Lock],
        interrupt: Callable[[], str | None],
    ) -> None:
        try:
            output = await self._run_one(i, call, slots, locks, interrupt)
        except asyncio.CancelledError:
            self._end(i, call, ToolOutput.error(self._aborted_text(i)))
            raise
        self._end(i, call, output)

    async def _run_one(
        self,
        i: int,
        call: ToolCall,
        slots: asyncio.Semaphore,
        locks: dict[str, asyncio.Lock],
        interrupt: Callable[[], str | None],
    ) -> ToolOutput:
        tool = self._tools.get(call.name)
        try:
            if tool is None:
                known = ", ".join(sorted(self._tools)) or "none"
                raise _Rejected(f'unknown tool "{call.name}"; the available tools are: {known}.')
            args = _parse_args(tool, call)
            key = tool.concurrency_key(args)
        except _Rejected as e:
            return ToolOutput.error(str(e))
        # Everything above ran without awaiting, so calls reach their key's lock in call
        # order, and asyncio locks are fair: same-key calls run in the model's order.
        lock: AbstractAsyncContextManager[Any] = (
            contextlib.nullcontext() if key is None else locks.setdefault(key, asyncio.Lock())
        )
        async with lock, slots:
            reason = interrupt()
            if reason is not None:
                return ToolOutput.error(reason)
            self._start(i, call)
            return await self._execute(
                tool, call, args, self._streamed.setdefault(i, TerminalText(colour=False, max_lines=ABORTED_TAIL_LINES))
            )

    def _aborted_text(self, i: int) -> str:
        """An interrupted call's result: it was stopped, and what it had printed until then."""
        if i not in self._started:
            return ABORTED_NOT_RUN
        streamed = self._streamed.get(i)
        lines = streamed.all_lines() if streamed is not None else []
        if not lines:
            return ABORTED_RUNNING
        cut = f"(last {len(lines)} lines) " if streamed is not None and streamed.dropped else ""
        return f"{ABORTED_RUNNING}; its output until then {cut}was:\n" + "\n".join(lines)

    async def _execute(self, tool: Tool[Any], call: ToolCall, args: Any, streamed: TerminalText) -> ToolOutput:
        hooks = self._hooks
        update_filter = hooks.tool_update_filter(call) if hooks.tool_update_filter else None

        def on_update(chunk: str) -> None:
            if update_filter is not None:
                chunk = update_filter.feed(chunk)
            if chunk:
                streamed.feed(chunk)
                self._emit(ToolExecutionUpdate(call.id, chunk))

        ctx = ToolContext(cwd=self._cwd, tool_call_id=call.id, on_update=on_update, state=self._state)
        try:
            decision = await hooks.before_tool_call(call, args) if hooks.before_tool_call else None
            if isinstance(decision, Deny):
                return ToolOutput.error(f"denied: {decision.reason}")
            output = decision.output if isinstance(decision, Replace) else await _guarded_execute(tool, args, ctx)
            if update_filter is not None and (rest := update_filter.flush()):
                self._emit(ToolExecutionUpdate(call.id, rest))
            if hooks.after_tool_call is not None:
                output = await hooks.after_tool_call(call, output)
        except Exception as e:  # a failing hook must not break the run; the model is told
            return ToolOutput.error(f'tool "{call.name}" failed in a hook: {type(e).__name__}: {e}')
        return output

    def _start(self, i: int, call: ToolCall) -> None:
        self._started.add(i)
        self._emit(ToolExecutionStart(call.id, call.name, call.arguments))

    def _end(self, i: int, call: ToolCall, output: ToolOutput) -> ToolResultMessage:
        if i not in self._started:
            self._start(i, call)
        content = images.for_model(output.content, self._model) if self._model else list(output.content)
        result = ToolResultMessage(call.id, call.name, content, is_error=output.is_error)
        self._results[i] = result
        self._emit(ToolExecutionEnd(call.id, call.name, result, output.is_error, output.details))
        return result


async def _guarded_execute(tool: Tool[Any], args: Any, ctx: ToolContext) -> ToolOutput:
    """The tool's output; its failures become error outputs the model can act on."""
    try:
        return await tool.execute(args, ctx)
    except ToolError as e:
        return ToolOutput.error(str(e))
    except Exception as e:
        return ToolOutput.error(f'tool "{tool.name}" failed: {type(e).__name__}: {e}')
