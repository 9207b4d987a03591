"""`Agent`: a conversation with a model and its tools, driven one prompt at a time."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from skipjack.agent.events import AgentEvent, MessageEnd
from skipjack.agent.hooks import Hooks
from skipjack.agent.limits import Limits
from skipjack.agent.loop import Inbox, Run, RunConfig, RunResult
from skipjack.agent.retry import retry_point
from skipjack.agent.subscription import EventStream
from skipjack.agent.tool import Tool
from skipjack.agent.tool_exec import DEFAULT_CONCURRENCY, ToolExecutor
from skipjack.agent.tool_pairing import pair_tool_results
from skipjack.llm.stream import StreamOptions
from skipjack.llm.types import AssistantMessage, InputContent, Message, Model, Usage, UserMessage
from skipjack.llm.usage import add_usage, messages_usage

log = logging.getLogger(__name__)

Listener = Callable[[AgentEvent], None]


class Agent:
    """Holds the conversation, model, system prompt and tools; `prompt()` runs the loop.

    `model`, `system_prompt`, `tools`, `options`, `hooks`, `limits` and `cwd` may be changed
    between runs; a run uses the values it started with. One run at a time: while one is
    going, talk to it with `steer()`, `follow_up()` and `abort()`.
    """

    def __init__(
        self,
        model: Model,
        *,
        system_prompt: str = "",
        tools: Sequence[Tool[Any]] = (),
        messages: Iterable[Message] | None = None,
        options: StreamOptions | None = None,
        hooks: Hooks | None = None,
        limits: Limits | None = None,
        cwd: Path | None = None,
        tool_concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self.model = model
        self.system_prompt = system_prompt
        self.tools: list[Tool[Any]] = list(tools)
        self.options = options or StreamOptions()
        self.hooks = hooks or Hooks()
        self.limits = limits or Limits()
        self.cwd = cwd or Path.cwd()
        self.tool_concurrency = tool_concurrency
        self.tool_state: dict[str, Any] = {}
        """Shared by every tool call of this agent (`ToolContext.state`)."""
        self._messages: list[Message] = pair_tool_results(list(messages or ()))
        self._usage = messages_usage(self._messages)
        self._inbox = Inbox()
        self._listeners: list[Listener] = []
        self._run: Run | None = None

    # -- state -------------------------------------------------------------------------

    @property
    def messages(self) -> list[Message]:
        """A copy of the conversation."""
        return list(self._messages)

    def replace_messages(self, messages: Iterable[Message]) -> None:
        """Swap the conversation (e.g. a loaded session); not while a run is going. Tool calls
        left unanswered by an interrupted run get an "interrupted" result, so every provider
        accepts the history."""
        self._require_idle()
        self._messages = pair_tool_results(list(messages))

    @property
    def is_running(self) -> bool:
        return self._run is not None

    def usage_totals(self) -> Usage:
        """Usage summed over every assistant message this agent has held or produced
        (kept when a compaction later drops the messages themselves)."""
        return self._usage

    def run_usage(self) -> Usage:
        """What the running run has cost so far, charges included (zero when idle): what its
        limits are checked against."""
        return self._run.usage if self._run is not None else Usage.zero()

    def charge(self, usage: Usage) -> None:
        """Count spending made for this agent outside its model turns (a compaction
        summary): it adds to `usage_totals()` and to the running run's cost and token
        limits, so `max_cost` covers everything the run caused."""
        self._usage = add_usage(self._usage, usage)
        if self._run is not None:
            self._run.usage = add_usage(self._run.usage, usage)

    # -- running -----------------------------------------------------------------------

    async def prompt(self, content: str | Sequence[InputContent]) -> RunResult:
        """Send a user message and run until the model stops asking for tools (or a limit,
        an error or `abort()` ends the run)."""
        self._require_idle()
        return await self._start([UserMessage(content if isinstance(content, str) else list(content))])

    async def retry(self) -> RunResult:
        """Ask the model again after a failed or aborted reply to the last user message: the
        failed reply is dropped and nothing new is sent (see `skipjack.agent.retry`)."""
        self._require_idle()
        end = retry_point(self._messages)
        if end is None:
            raise ValueError("the conversation does not end with a failed reply to retry")
        del self._messages[end:]
        return await self._start([])

    async def _start(self, pending: list[Message]) -> RunResult:
        tools = {t.name: t for t in self.tools}
        if len(tools) != len(self.tools):
            raise ValueError(f"two tools share a name: {sorted(t.name for t in self.tools)}")
        config = RunConfig(
            model=self.model,
            system_prompt=self.system_prompt,
            tools=tools,
            options=self.options,
            hooks=self.hooks,
            limits=self.limits,
        )
        executor = ToolExecutor(
            config.tools,
            hooks=self.hooks,
            emit=self._emit,
            cwd=self.cwd,
            state=self.tool_state,
            concurrency=self.tool_concurrency,
            model=self.model,
        )
        self._run = Run(config, self._messages, self._inbox, self._emit, executor)
        try:
            return await self._run.execute(pending)
        finally:
            self._run = None

    def steer(self, text: str) -> None:
        """Deliver `text` before the next model call; tool calls of the current turn that
        have not started yet are skipped. With no run going, it waits for the next one."""
        self._inbox.steering.append(UserMessage(text))

    def follow_up(self, text: str) -> None:
        """Deliver `text` once the run would stop, continuing it (after any steering)."""
        self._inbox.follow_ups.append(UserMessage(text))

    def abort(self) -> None:
        """Stop the run: cancel the model request and running tools, and drop queued steering
        and follow-ups. `prompt()` then returns with stop reason "aborted", the partial reply
        kept and every tool call answered. A no-op when idle."""
        self._inbox.steering.clear()
        self._inbox.follow_ups.clear()
        if self._run is not None:
            self._run.abort()

    # -- events ------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener` with every event, synchronously; returns the unsubscribe function.
        A listener that raises is logged and skipped: it cannot break a run."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def events(self) -> EventStream:
        """An async iterator of every event from now until it is closed."""
        return EventStream(self.subscribe)

    def _emit(self, event: AgentEvent) -> None:
        if isinstance(event, MessageEnd) and isinstance(event.message, AssistantMessage):
            self._usage = add_usage(self._usage, event.message.usage)
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:
                log.exception("agent event listener %r failed", listener)

    def _require_idle(self) -> None:
        if self._run is not None:
            raise RuntimeError("the agent is running; use steer(), follow_up() or abort()")
