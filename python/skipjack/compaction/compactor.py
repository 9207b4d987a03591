"""Compacting a live conversation: the agent's hooks, `/compact`, and the session record.

`Compactor` plugs into the agent loop (`agent.hooks = compactor.hooks(agent.hooks)`):

- `transform_context` runs before every model call, tool-loop steps included. When the
  context would not leave `reserve_tokens` of the window free, the older history is
  summarised and the call is sent with `[summary, *kept]`. The agent's own history is not
  changed by this hook, so the compactor remembers which prefix its summary stands for and
  substitutes it again on later calls (and summarises again, merging, when that fills up).
- `on_context_overflow` compacts when the provider rejects the context as too long and
  returns the new history, which the agent adopts before retrying the same call: the
  user's prompt is in the kept part once, and no tool runs again.

With a session, each compaction is appended to it (summary, first kept entry, tokens
before, the summary's usage), so `Session.messages()` resumes from the compacted context
while `all_entries()` keeps everything. The session must hold the agent's messages (see
`skipjack.sessions.recorder.record`), since the compaction names the first kept one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import msgspec

from skipjack.agent.hooks import Hooks
from skipjack.compaction.errors import CompactionError
from skipjack.compaction.estimate import context_limit, estimate_context_tokens, estimate_tokens, should_compact
from skipjack.config.schema import CompactionSettings
from skipjack.llm.errors import LLMError
from skipjack.llm.stream import StreamOptions
from skipjack.llm.types import CostSource, Message, Model, Usage, UserMessage, now_ms
from skipjack.sessions.format import (
    SUMMARY_PREFIX,
    SUMMARY_SUFFIX,
    CompactionEntry,
    CompactionTrigger,
    MessageEntry,
    summary_message,
)
from skipjack.sessions.session import Session

if TYPE_CHECKING:
    from skipjack.compaction.summarize import Summary

log = logging.getLogger(__name__)


class CompactionResult(msgspec.Struct, frozen=True):
    """A compacted context and what it replaced."""

    summary: str
    messages: list[Message]
    """The new context: the summary message, then the kept messages."""
    summarized: int
    """How many messages (besides a previous summary) the summary replaced."""
    kept: int
    tokens_before: int
    tokens_after: int
    """Estimated (chars/4) size of `messages`."""
    usage: Usage
    requests: int
    model: str
    trigger: CompactionTrigger
    entry: CompactionEntry | None
    """The session record, when there is a session."""


class _View(msgspec.Struct, frozen=True):
    """The context a history stands for: `head` (a summary, or nothing), then `history[offset:]`."""

    messages: list[Message]
    head: int
    offset: int
    previous_summary: str | None
    usage_from: int


class Compactor:
    def __init__(
        self,
        model: Model | Callable[[], Model],
        *,
        session: Session | None = None,
        settings: CompactionSettings | None = None,
        summary_model: Model | None = None,
        options: StreamOptions | None = None,
        on_compaction: Callable[[CompactionResult], None] | None = None,
        key_for: Callable[[Model], str | None] | None = None,
        on_start: Callable[[CompactionTrigger], None] | None = None,
        on_failure: Callable[[CompactionError], None] | None = None,
    ) -> None:
        """`model` is the conversation's model (or a function giving the current one, e.g.
        `lambda: agent.model`); `summary_model` a cheaper one for summaries (default: the
        conversation's). `options` carry the API key, retry policy and timeouts; `key_for`
        gives a summary model on another provider its own key (the application's resolver:
        environment, then `[keys]` in config). `on_start`/`on_failure` tell the front end."""
        self._model = model
        self.key_for = key_for
        self.on_start = on_start
        self.on_failure = on_failure
        self.session = session
        self.settings = settings or CompactionSettings()
        self.summary_model = summary_model
        self.options = options
        self.on_compaction = on_compaction
        self.results: list[CompactionResult] = []
        self.errors: list[CompactionError] = []
        """Automatic compactions that failed (the call then went ahead uncompacted)."""
        self._summary: UserMessage | None = None
        self._summary_text: str | None = None
        self._replaced: list[Message] = []
        self._kept_at_compaction = 0

    @property
    def model(self) -> Model:
        return self._model() if callable(self._model) else self._model

    # -- the agent's hooks -----------------------------------------------------------

    def hooks(self, base: Hooks | None = None) -> Hooks:
        """`base` (e.g. the approval hooks) with this compactor's context hooks added:
        `agent.hooks = compactor.hooks(agent.hooks)`."""
        return msgspec.structs.replace(
            base or Hooks(), transform_context=self.transform_context, on_context_overflow=self.on_context_overflow
        )

    async def transform_context(self, messages: list[Message]) -> list[Message]:
        view = self._view(messages)
        if not self.settings.enabled or not should_compact(
            view.messages, self.model, self.settings, usage_from=view.usage_from
        ):
            return view.messages
        try:
            result = await self._compact(messages, view, trigger="threshold", focus=None)
        except CompactionError as e:
            # Compacting early is a precaution: if the summary fails, the call still goes
            # ahead, and an actual overflow gets its own recovery.
            log.warning("compaction failed: %s", e)
            self._failed(e)
            return view.messages
        return result.messages if result is not None else view.messages

    async def on_context_overflow(self, messages: list[Message], error: LLMError) -> list[Message] | None:
        if not self.settings.enabled:
            return None
        view = self._view(messages)
        try:
            result = await self._compact(messages, view, trigger="overflow", focus=None)
        except CompactionError as e:
            log.warning("compaction after a context overflow failed: %s", e)
            self._failed(e)
            return None
        return result.messages if result is not None else None

    def _failed(self, error: CompactionError) -> None:
        self.errors.append(error)
        if self.on_failure is not None:
            self.on_failure(error)

    async def compact(self, messages: Sequence[Message], focus: str | None = None) -> CompactionResult | None:
        """Compact now (`/compact [focus]`); None when there is too little to summarise.
        Give the agent `result.messages` (`Agent.replace_messages`)."""
        history = list(messages)
        return await self._compact(history, self._view(history), trigger="manual", focus=focus)

    # -- the work --------------------------------------------------------------------

    def _keep_tokens(self, view: _View, trigger: CompactionTrigger) -> int:
        keep = self.settings.keep_recent_tokens
        limit = context_limit(self.model, self.settings)
        if limit is not None:
            # Keeping more than half of what fits would leave the next compaction no room.
            keep = min(keep, limit // 2)
        if trigger != "threshold":
            # After an overflow, what was sent did not fit whatever the estimate said; on
            # request, the user wants it smaller now. Either way keep at most half of the
            # messages (the system prompt and tools in the reported usage cannot shrink).
            keep = min(keep, sum(estimate_tokens(m) for m in view.messages[view.head :]) // 2)
        return keep

    async def _compact(
        self, history: list[Message], view: _View, *, trigger: CompactionTrigger, focus: str | None
    ) -> CompactionResult | None:
        messages = view.messages
        # The cut and the summariser (its prompt, apply_patch's parser) load when one is due.
        from skipjack.compaction.cut import find_cut
        from skipjack.compaction.summarize import summarize

        cut = find_cut(messages, self._keep_tokens(view, trigger), start=view.head)
        if cut <= view.head:
            return None
        first_kept = self._entry_id(messages[cut]) if self.session is not None and cut < len(messages) else None
        tokens_before = estimate_context_tokens(messages, usage_from=view.usage_from)
        summariser = self.summary_model or self.model
        options = self.options
        if summariser.provider != self.model.provider:
            # The key in the options is the conversation provider's: never send it to another.
            # The summariser gets its own provider's key (environment or `[keys]`).
            own_key = self.key_for(summariser) if self.key_for is not None else None
            options = msgspec.structs.replace(options or StreamOptions(), api_key=own_key)
        if self.on_start is not None:
            self.on_start(trigger)
        try:
            summary = await summarize(
                messages[view.head : cut],
                summariser,
                previous_summary=view.previous_summary,
                focus=focus,
                options=options,
            )
        except CompactionError as e:
            if self.session is not None and e.requests:
                self.session.append_usage(e.model, e.usage, "failed compaction", cost_source=_cost_source(summariser))
            raise
        return self._adopt(history, view, cut, first_kept, tokens_before, summary, trigger, focus, summariser)

    def _adopt(
        self,
        history: list[Message],
        view: _View,
        cut: int,
        first_kept: str | None,
        tokens_before: int,
        summary: Summary,
        trigger: CompactionTrigger,
        focus: str | None,
        summariser: Model,
    ) -> CompactionResult:
        entry: CompactionEntry | None = None
        if self.session is not None:
            entry = self.session.append_compaction(
                summary.text,
                first_kept=first_kept,
                tokens_before=tokens_before,
                model=summary.model,
                usage=summary.usage,
                requests=summary.requests,
                trigger=trigger,
                focus=focus,
                cost_source=_cost_source(summariser),
            )
            self.session.sync()
            head = summary_message(entry)
        else:
            head = UserMessage(SUMMARY_PREFIX + summary.text + SUMMARY_SUFFIX, timestamp=now_ms())
        kept = view.messages[cut:]
        self._summary, self._summary_text = head, summary.text
        self._replaced = history[: view.offset + cut - view.head]
        self._kept_at_compaction = len(kept)
        new = [head, *kept]
        result = CompactionResult(
            summary=summary.text,
            messages=new,
            summarized=cut - view.head,
            kept=len(kept),
            tokens_before=tokens_before,
            tokens_after=sum(estimate_tokens(m) for m in new),
            usage=summary.usage,
            requests=summary.requests,
            model=summary.model,
            trigger=trigger,
            entry=entry,
        )
        self.results.append(result)
        if self.on_compaction is not None:
            self.on_compaction(result)
        return result

    def _view(self, history: list[Message]) -> _View:
        if self._summary is not None and history and history[0] is self._summary:
            # The agent adopted our compacted history (after an overflow, or `/compact`).
            return _View(history, 1, 1, self._summary_text, 1 + self._kept_at_compaction)
        n = len(self._replaced)
        if n and len(history) >= n and all(a is b for a, b in zip(history, self._replaced, strict=False)):
            assert self._summary is not None
            return _View([self._summary, *history[n:]], 1, n, self._summary_text, 1 + self._kept_at_compaction)
        resumed = self._resumed_view(history)
        if resumed is not None:
            return resumed
        return _View(history, 0, 0, None, 0)

    def _resumed_view(self, history: list[Message]) -> _View | None:
        """A history loaded from the session (`Session.messages()`), starting with its summary."""
        if self.session is None or not history:
            return None
        latest = self.session.latest_compaction()
        if latest is None or history[0] != summary_message(latest):
            return None
        at = self.session.index_of(latest.id)
        # Before the compaction entry, the kept messages carry usage of the old, larger context.
        stale = sum(1 for entry_id, _ in self.session.context_entries() if self.session.index_of(entry_id) <= at)
        return _View(history, 1, 1, latest.summary, stale)

    def _entry_id(self, message: Message) -> str:
        assert self.session is not None
        entries = self.session.all_entries()
        for e in reversed(entries):
            if isinstance(e, MessageEntry) and e.message is message:
                return e.id
        for e in reversed(entries):
            if isinstance(e, MessageEntry) and e.message == message:
                return e.id
        raise CompactionError(
            "the message the compaction would keep from is not in the session; "
            "record the agent into it (skipjack.sessions.recorder.record) before compacting",
            usage=Usage.zero(),
            requests=0,
            model="",
        )


async def compact(
    session: Session,
    model: Model,
    focus: str | None = None,
    *,
    settings: CompactionSettings | None = None,
    summary_model: Model | None = None,
    options: StreamOptions | None = None,
) -> CompactionResult | None:
    """`/compact [focus]` on a session: summarise its context now and record it.
    None when there is too little history to summarise."""
    compactor = Compactor(model, session=session, settings=settings, summary_model=summary_model, options=options)
    return await compactor.compact(session.messages(), focus)


def _cost_source(summariser: Model) -> CostSource:
    return "unknown" if summariser.price is None else "computed"
