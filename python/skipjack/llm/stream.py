"""`stream()`: one model request through the Rust core, as an async iterator of events."""

from __future__ import annotations

import asyncio
import operator
import os
import weakref
from collections import deque
from types import TracebackType
from typing import Any

import msgspec

from skipjack import _llm
from skipjack.llm.azure import azure_ad_token
from skipjack.llm.errors import AuthError, LLMError
from skipjack.llm.events import Done, Error, StreamEvent
from skipjack.llm.types import (
    AssistantMessage,
    Context,
    Message,
    Model,
    ReasoningEffort,
    RetryPolicy,
    StreamLimits,
    Timeouts,
    Tool,
)

_encoder = msgspec.json.Encoder()


class StreamOptions(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Per-request options; mirrors the core's `StreamOptions`."""

    api_key: str | None = None
    max_tokens: int | None = None
    temperature: float | None = None
    reasoning: ReasoningEffort | None = None
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    bearer_token: str | None = None
    """An Entra ID / OAuth token the core sends as `Authorization: Bearer` in place of the
    key's header (Azure's `AZURE_OPENAI_AD_TOKEN`; see `skipjack.llm.azure`)."""
    session_id: str | None = None
    """Stable id (the session's) used as a prompt-cache key where the server accepts one."""
    retry: RetryPolicy = RetryPolicy()
    timeouts: Timeouts = Timeouts()
    limits: StreamLimits = StreamLimits()


class _ContextHead(msgspec.Struct, frozen=True):
    system_prompt: str | None
    tools: list[Tool]


class _RequestHead(msgspec.Struct, frozen=True):
    """The request without its messages, which go to the core one by one: its cache of
    parsed messages then looks each up by its bytes without scanning the history for them."""

    model: Model
    context: _ContextHead
    options: StreamOptions


class MessageJson:
    """Each message's JSON for the requests of one conversation, kept by the message object.

    An agent sends the same message objects with every turn and one or two new ones, and
    encoding them all again grew each turn's cost with the session (1.4 M instructions a
    turn at 150 turns). Only for a caller that never changes a message in place, as the agent
    loop: its messages are frozen structs, replaced (`msgspec.structs.replace`), never edited.
    `stream()` without it encodes every message, for a library caller that changes a tool
    call's arguments dict in place and expects the change sent. What is kept is the last
    call's messages (held, so their ids are not reused while kept) and the last head."""

    __slots__ = ("_head", "_head_of", "_json", "_sent")

    def __init__(self) -> None:
        self._sent: list[Message] = []
        """The last call's messages (a copy: the caller's list grows in place)."""
        self._json: list[bytes] = []
        """Their JSON, in the same order."""
        self._head_of: tuple[Model, str | None, list[Tool], StreamOptions] | None = None
        self._head = b""

    def head(self, model: Model, system_prompt: str | None, tools: list[Tool], options: StreamOptions) -> bytes:
        """The request's head: the system prompt and the tools' schemas (most of its ~10 kB)
        are the same objects every turn, so it is encoded again only when one is replaced
        (the options are compared by value: `stream()` may rebuild them with the key)."""
        was = self._head_of
        if (
            was is None
            or was[0] is not model
            or was[1] is not system_prompt
            or was[2] is not tools
            or (was[3] is not options and was[3] != options)
        ):
            self._head = _encoder.encode(_RequestHead(model, _ContextHead(system_prompt, tools), options))
            self._head_of = (model, system_prompt, tools, options)
        return self._head

    def __call__(self, messages: list[Message]) -> list[bytes]:
        sent, known = self._sent, self._json
        if len(messages) >= len(sent) and all(map(operator.is_, messages, sent)):
            # The usual turn: the same messages and new ones after them. Checking identity
            # at C speed is ~20 ns a message; looking each up by id cost ~0.3 us.
            out = known + [_encoder.encode(m) for m in messages[len(sent) :]]
        else:  # a rewritten history (compaction, a rewind): reuse what is still there
            by_id = {id(m): b for m, b in zip(sent, known, strict=True)}
            out = [by_id.get(id(m)) or _encoder.encode(m) for m in messages]
        self._sent = list(messages)
        self._json = out
        return out


class AssistantStream:
    """Events of one request. Iterate it, then `await result()`; `cancel()` aborts.

    The native side queues events; each wake-up of this iterator takes every queued event
    at once, so a fast stream costs one thread hop per burst, not per token, and a paced
    one a hop per 4 ms window (the core's wake window; never for the first delta or a
    delta after a pause).
    """

    def __init__(self, native: _llm.NativeStream) -> None:
        self._native = native
        self._buffer: deque[StreamEvent] = deque()
        self._message: AssistantMessage | None = None
        self._error: LLMError | None = None
        self._waker: _Waker | None = None

    def __aiter__(self) -> AssistantStream:
        return self

    async def __anext__(self) -> StreamEvent:
        while not self._buffer:
            if self._message is not None:
                raise StopAsyncIteration
            batch = self._native.drain()
            if not batch:
                if self._native.finished:
                    # The core always ends with a terminal event; reaching here means the
                    # native task died, which must not look like a clean end.
                    raise LLMError("the stream ended without a terminal event")
                # Inlined rather than a helper coroutine: at a paced stream's one event per
                # wake-up, every frame on this path is paid once per event.
                loop = asyncio.get_running_loop()
                waker = self._waker
                if waker is None or waker.loop is not loop:
                    waker = self._watch(loop)
                waker.waiter = woken = loop.create_future()
                try:
                    await woken
                finally:
                    waker.waiter = None
                # The reader callback took the batch that woke us into the buffer.
                continue
            self._buffer.extend(batch)
        event = self._buffer.popleft()
        if isinstance(event, Done):
            self._finish(event.message, None)
        elif isinstance(event, Error):
            self._finish(event.message, event.error)
        return event

    def _finish(self, message: AssistantMessage, error: LLMError | None) -> None:
        self._message = message
        self._error = error
        if self._waker is not None:
            self._waker.unwatch()
            self._waker = None

    def _watch(self, loop: asyncio.AbstractEventLoop) -> _Waker:
        """Watch the wake descriptor from `loop` (moving it off a previous loop)."""
        if self._waker is not None:
            self._waker.unwatch()
        self._waker = _Waker(self, self._buffer, loop)
        return self._waker

    async def result(self) -> AssistantMessage:
        """The final message (consuming any events not yet read). A failed request returns
        its partial message with `stop_reason` "error" or "aborted"; see `error`."""
        async for _ in self:
            pass
        assert self._message is not None  # __anext__ stops only after a terminal event
        return self._message

    @property
    def error(self) -> LLMError | None:
        """The classified error, once a terminal `error` event was read."""
        return self._error

    def cancel(self) -> None:
        """Abort the request; the stream then ends with an `aborted` error event."""
        self._native.cancel()

    async def __aenter__(self) -> AssistantStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._message is None:
            self.cancel()


class _Waker:
    """The stream's wake descriptor, watched by one event loop for the stream's lifetime.

    Registering the reader once instead of around every wait saves two `epoll_ctl` calls
    and a handle per wake, which at a paced stream's one event per wake-up is a large part
    of the cost. The loop holds this object, not the stream: a stream the caller drops
    unfinished is still collected, and its finalizer takes the reader off the loop before
    the native handle (and so the descriptor) can close.
    """

    __slots__ = ("__weakref__", "_buffer", "_finalizer", "_native", "loop", "waiter")

    def __init__(self, owner: AssistantStream, buffer: deque[StreamEvent], loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._native = owner._native
        self._buffer = buffer
        self.waiter: asyncio.Future[None] | None = None
        """The consumer's future while it sleeps; set and cleared by `__anext__`."""
        loop.add_reader(self._native.wake_fd, self._on_readable)
        self._finalizer = weakref.finalize(owner, _remove_reader, loop, self._native.wake_fd)

    def _on_readable(self) -> None:
        # Level-triggered: the wake-up must be consumed here or the loop spins on it. A wake
        # nobody waits for is only consumed: the consumer drains before it waits again, and
        # taking events it has not asked for would move them past the core's bounded queue
        # (its back-pressure) into this unbounded buffer.
        waiter = self.waiter
        if waiter is None or waiter.done():
            self._native.clear_wake()
            return
        # The waiting consumer gets the batch with its wake-up: at a paced stream's one
        # event per wake-up, a second call into the core after resuming is a large share of
        # the per-event cost.
        self._buffer.extend(self._native.drain_woken())
        waiter.set_result(None)

    def unwatch(self) -> None:
        self._finalizer()


def _remove_reader(loop: asyncio.AbstractEventLoop, fd: int) -> None:
    if not loop.is_closed():
        loop.remove_reader(fd)


def _key_or_env(model: Model, api_key: str | None) -> str | None:
    """The explicit key, else the model's own provider variable; never another provider's.

    Only a fallback for direct library use: the application resolves keys (environment and
    `[keys]` in config) with `skipjack.config.resolve_api_key` and passes them in."""
    if api_key:
        return api_key
    if model.api_key_env:
        return os.environ.get(model.api_key_env) or None
    return None


def stream(
    model: Model,
    context: Context,
    *,
    api_key: str | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    reasoning: ReasoningEffort | None = None,
    headers: dict[str, str] | None = None,
    session_id: str | None = None,
    retry: RetryPolicy | None = None,
    timeouts: Timeouts | None = None,
    limits: StreamLimits | None = None,
    options: StreamOptions | None = None,
    require_key: bool = False,
    message_json: MessageJson | None = None,
) -> AssistantStream:
    """Start one request and return its event stream.

    Callers holding a `StreamOptions` pass it as is (`options=`); the single keyword
    arguments are a convenience for one-off calls and may not be mixed with it. The key
    comes from the options (or `api_key`), else the environment variable the model names.
    With `require_key`, a missing key raises `AuthError` before anything is sent.
    `message_json` keeps the messages' JSON between a conversation's requests (see `MessageJson`).
    """
    if options is None:
        options = StreamOptions(
            api_key=api_key,
            max_tokens=max_tokens,
            temperature=temperature,
            reasoning=reasoning,
            headers=headers or {},
            session_id=session_id,
            retry=retry or RetryPolicy(),
            timeouts=timeouts or Timeouts(),
            limits=limits or StreamLimits(),
        )
    elif any(
        v is not None
        for v in (api_key, max_tokens, temperature, reasoning, headers, session_id, retry, timeouts, limits)
    ):
        raise TypeError("stream(): pass either options= or single option keywords, not both")
    key = _key_or_env(model, options.api_key)
    if key is None and options.bearer_token is None:
        token = azure_ad_token(model, os.environ)
        if token is not None:
            options = msgspec.structs.replace(options, bearer_token=token)
    if require_key and key is None and options.bearer_token is None:
        where = f"set {model.api_key_env}" if model.api_key_env else "pass api_key"
        raise AuthError(f"no API key for provider {model.provider!r}: {where}")
    if key != options.api_key:
        options = msgspec.structs.replace(options, api_key=key)
    if message_json is not None:
        head = message_json.head(model, context.system_prompt, context.tools, options)
        messages = message_json(context.messages)
    else:
        head = _encoder.encode(_RequestHead(model, _ContextHead(context.system_prompt, context.tools), options))
        messages = [_encoder.encode(m) for m in context.messages]
    return AssistantStream(_llm.start_stream(head, messages))


async def complete(model: Model, context: Context, **kwargs: Any) -> AssistantMessage:
    """Run a request to its end; raise the classified `LLMError` if it failed."""
    s = stream(model, context, **kwargs)
    message = await s.result()
    if s.error is not None:
        raise s.error
    return message
