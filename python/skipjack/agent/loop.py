"""The agent loop: one run of turns, from a prompt until the model stops asking for tools.

A turn delivers pending user messages, makes one model call (through `skipjack.llm.stream`
only) and answers every tool call of the reply. The run ends when the model stops asking
for tools and no steering or follow-up is queued, on abort, on a failed model call, or at
a limit. The history it leaves is always whole: every tool call has exactly one result.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

import msgspec

from skipjack.agent.events import (
    AgentEnd,
    AgentEvent,
    AgentStart,
    MessageEnd,
    MessageStart,
    MessageUpdate,
    ModelRetry,
    RunStopReason,
    TurnEnd,
    TurnStart,
)
from skipjack.agent.hooks import Hooks
from skipjack.agent.limits import Limits
from skipjack.agent.tool import Tool
from skipjack.agent.tool_exec import (
    ABORTED_NOT_RUN,
    CUT_OFF,
    SKIPPED,
    ToolExecutor,
    not_run_after_failure,
)
from skipjack.agent.tool_pairing import pair_tool_results
from skipjack.llm.errors import ContextOverflowError, LLMError
from skipjack.llm.events import Done, Error, Retry, Start
from skipjack.llm.stream import MessageJson, StreamOptions, stream
from skipjack.llm.types import (
    AssistantMessage,
    Context,
    Message,
    Model,
    ToolResultMessage,
    Usage,
    UserMessage,
)
from skipjack.llm.usage import add_usage

T = TypeVar("T")

MAX_OVERFLOW_RECOVERIES = 3
"""Per model call: a hook that keeps returning a history that still overflows gives up."""


class RunResult(msgspec.Struct, frozen=True):
    """How a run ended."""

    stop_reason: RunStopReason
    message: AssistantMessage | None
    """The run's last assistant message."""
    turns: int
    usage: Usage
    """Summed over the run's assistant messages."""
    error_kind: str | None = None
    error_message: str | None = None
    unpriced_requests: int = 0
    """Requests to a model with no known price: their cost is unknown, not in `usage.cost`."""


class Inbox(msgspec.Struct):
    """User messages queued while a run is busy."""

    steering: deque[UserMessage] = msgspec.field(default_factory=deque)
    """Delivered before the next model call; their presence skips tool calls not yet started."""
    follow_ups: deque[UserMessage] = msgspec.field(default_factory=deque)
    """Delivered when the run would otherwise stop, which continues it."""

    def take(self, queue: deque[UserMessage]) -> list[Message]:
        taken: list[Message] = list(queue)
        queue.clear()
        return taken


class RunConfig(msgspec.Struct, frozen=True):
    """What a run uses, fixed when it starts."""

    model: Model
    system_prompt: str
    tools: dict[str, Tool[Any]]
    options: StreamOptions
    hooks: Hooks
    limits: Limits


class _Aborted(Exception):
    """abort() cancelled a hook the loop was awaiting."""


class _HookFailed(Exception):
    """A context hook raised; the run ends as if the model call had failed."""


class Run:
    """One `prompt()`: owns the model stream and tool tasks while it lasts, so abort reaches them."""

    def __init__(
        self,
        config: RunConfig,
        history: list[Message],
        inbox: Inbox,
        emit: Callable[[AgentEvent], None],
        tools: ToolExecutor,
    ) -> None:
        self.config = config
        self.history = history
        """The agent's conversation, changed in place."""
        self.inbox = inbox
        self.emit = emit
        self.tools = tools
        self.usage = Usage.zero()
        self.unpriced_requests = 0
        self.aborted = False
        self.turns = 0
        self._stream_cancel: Callable[[], None] | None = None
        self._hook_tasks: set[asyncio.Task[Any]] = set()
        self._specs = [t.spec() for t in config.tools.values()]
        self._message_json = MessageJson()

    def abort(self) -> None:
        self.aborted = True
        if self._stream_cancel is not None:
            self._stream_cancel()
        for task in self._hook_tasks:
            task.cancel()
        self.tools.cancel()

    async def execute(self, prompt: list[Message]) -> RunResult:
        self.emit(AgentStart())
        try:
            result = await self._turns(prompt)
        except BaseException as e:
            # Cancelled from outside (or a bug): stop everything, answer open tool calls,
            # and still tell listeners the run is over.
            self.abort()
            self._answer_open_calls()
            if isinstance(e, asyncio.CancelledError):
                self.emit(AgentEnd("aborted", self.turns, self.usage))
            else:
                self.emit(AgentEnd("error", self.turns, self.usage, "internal", f"{type(e).__name__}: {e}"))
            raise
        self.emit(AgentEnd(result.stop_reason, result.turns, result.usage, result.error_kind, result.error_message))
        return result

    async def _turns(self, pending: list[Message]) -> RunResult:
        while True:
            pending += self.inbox.take(self.inbox.steering)
            self.turns += 1
            turns = self.turns
            self.emit(TurnStart(turns))
            for user_message in pending:
                self._add(user_message)
            message = await self._model_call()
            results = await self._answer_calls(message)
            for result in results:
                self._add(result)
            self.emit(TurnEnd(turns, message, results))

            stop: RunStopReason | None = None
            if self.aborted or message.stop_reason == "aborted":
                stop = "aborted"
            elif message.stop_reason == "error":
                stop = "error"
            elif not message.tool_calls:
                pending = self.inbox.take(self.inbox.steering) or self.inbox.take(self.inbox.follow_ups)
                stop = None if pending else "completed"
            else:
                pending = []
            stop = stop or self.config.limits.reached(turns, self.usage)
            if stop is not None:
                failed = stop == "error"
                return RunResult(
                    stop,
                    message,
                    turns,
                    self.usage,
                    message.error_kind if failed else None,
                    message.error_message if failed else None,
                    self.unpriced_requests,
                )

    # -- the model call --------------------------------------------------------------

    async def _model_call(self) -> AssistantMessage:
        """One assistant message, appended to the history: streamed, or failed, or aborted."""
        hooks = self.config.hooks
        recoveries = 0
        while True:
            try:
                messages = list(self.history)
                if hooks.transform_context is not None:
                    messages = await self._hook(hooks.transform_context(messages))
                message, error, streamed = await self._stream(messages)
                if (
                    isinstance(error, ContextOverflowError)
                    and not streamed
                    and hooks.on_context_overflow is not None
                    and recoveries < MAX_OVERFLOW_RECOVERIES
                ):
                    replacement = await self._hook(hooks.on_context_overflow(list(self.history), error))
                    if replacement is not None:
                        # Retry the same call on the new history: the prompt is already in
                        # it and no tool runs again.
                        recoveries += 1
                        self.history[:] = pair_tool_results(replacement)
                        continue
            except _Aborted:
                message, streamed = self._failed("aborted", "the user stopped the run", "aborted"), False
            except _HookFailed as e:
                message, streamed = self._failed("error", str(e), "hook"), False
            if message.error_message:
                message = msgspec.structs.replace(message, error_message=self._scrub(message.error_message))
            self._add(message, started=streamed)
            return message

    def _scrub(self, text: str) -> str:
        scrub = self.config.hooks.scrub_text
        return scrub(text) if scrub is not None else text

    async def _stream(self, messages: list[Message]) -> tuple[AssistantMessage, LLMError | None, bool]:
        """Stream one request; message_start is sent once content arrives, so a call that
        fails before any content (e.g. an overflow about to be recovered) emits nothing."""
        context = Context(self.config.system_prompt or None, messages, self._specs)
        try:
            s = stream(self.config.model, context, options=self.config.options, message_json=self._message_json)
        except (LLMError, ValueError) as e:
            return self._failed("error", str(e), getattr(e, "kind", "bad_request")), None, False
        started = False
        async with s:
            self._stream_cancel = s.cancel
            if self.aborted:
                s.cancel()
            try:
                async for event in s:
                    if isinstance(event, Retry):
                        error_text = self._scrub(event.error.message)
                        self.emit(ModelRetry(event.attempt, event.delay_ms, event.error.kind, error_text))
                    elif not isinstance(event, Start | Done | Error):
                        if not started:
                            self.emit(MessageStart("assistant"))
                            started = True
                        self.emit(MessageUpdate(event))
                message = await s.result()
            finally:
                self._stream_cancel = None
        return message, s.error, started

    async def _hook(self, awaitable: Awaitable[T]) -> T:
        """Await a hook as a task abort() can cancel."""
        task = asyncio.ensure_future(awaitable)
        self._hook_tasks.add(task)
        try:
            return await task
        except Exception as e:
            raise _HookFailed(f"a context hook failed: {type(e).__name__}: {e}") from e
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if self.aborted and (current is None or not current.cancelling()):
                raise _Aborted from None
            raise
        finally:
            self._hook_tasks.discard(task)

    def _failed(self, stop_reason: Literal["error", "aborted"], text: str, kind: str) -> AssistantMessage:
        """The assistant message of a call that never produced one."""
        model = self.config.model
        return AssistantMessage(
            content=[],
            api=model.api,
            provider=model.provider,
            model=model.id,
            usage=Usage.zero(),
            stop_reason=stop_reason,
            error_message=text,
            error_kind=kind,
        )

    # -- tool calls ------------------------------------------------------------------

    async def _answer_calls(self, message: AssistantMessage) -> list[ToolResultMessage]:
        calls = message.tool_calls
        if not calls:
            return []
        if message.stop_reason in ("error", "aborted"):
            text = not_run_after_failure(message.error_kind, message.error_message)
            return self.tools.answer_unrun(calls, ABORTED_NOT_RUN if message.stop_reason == "aborted" else text)
        if message.stop_reason == "length":
            return self.tools.answer_unrun(calls, CUT_OFF)
        return await self.tools.run(calls, interrupt=self._interrupt)

    def _interrupt(self) -> str | None:
        if self.aborted:
            return ABORTED_NOT_RUN
        if self.inbox.steering:
            return SKIPPED
        return None

    def _answer_open_calls(self) -> None:
        """After a cancelled run: append the results the last message's calls are missing
        (those the executor finished, else "not run")."""
        last = next((m for m in reversed(self.history) if isinstance(m, AssistantMessage)), None)
        if last is None:
            return
        answered = {m.tool_call_id for m in self.history if isinstance(m, ToolResultMessage)}
        if all(c.id in answered for c in last.tool_calls):
            return
        for result in self.tools.collect(last.tool_calls):
            if result.tool_call_id not in answered:
                self._add(result)

    # -- history ---------------------------------------------------------------------

    def _add(self, message: Message, *, started: bool = False) -> None:
        if not started:
            role: Literal["user", "assistant", "tool_result"] = (
                "user"
                if isinstance(message, UserMessage)
                else "assistant"
                if isinstance(message, AssistantMessage)
                else "tool_result"
            )
            self.emit(MessageStart(role))
        self.history.append(message)
        if isinstance(message, AssistantMessage):
            self.usage = add_usage(self.usage, message.usage)
            self.unpriced_requests += message.cost_source == "unknown"
        self.emit(MessageEnd(message))
