"""`Agent.events()`: the agent's events as an async iterator, for UIs and headless mode."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType

from skipjack.agent.events import AgentEvent


class EventStream:
    """Every event emitted from subscription until `close()`, in order, none dropped.

    Use as `async with agent.events() as events: async for event in events: ...`; iteration
    ends once the stream is closed and its queue is drained.
    """

    def __init__(self, attach: Callable[[Callable[[AgentEvent], None]], Callable[[], None]]) -> None:
        self._queue: asyncio.Queue[AgentEvent | None] = asyncio.Queue()
        self._closed = False
        self._detach = attach(self._queue.put_nowait)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._detach()
            self._queue.put_nowait(None)

    def __aiter__(self) -> EventStream:
        return self

    async def __anext__(self) -> AgentEvent:
        event = await self._queue.get()
        if event is None:
            self._queue.put_nowait(None)  # so a later call stops too instead of waiting forever
            raise StopAsyncIteration
        return event

    async def __aenter__(self) -> EventStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
