"""Compaction in the UI: the automatic compactor on the agent, and `/compact [focus]`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from skipjack.compaction import CompactionError, CompactionResult, Compactor
from skipjack.tui.formatting import tokens

if TYPE_CHECKING:
    from skipjack.tui.app import SkipjackApp


def install_compactor(app: SkipjackApp) -> Compactor | None:
    """A compactor for a conversation without a session (one with a session gets its
    compactor from `runtime.attach_session`), hooked into the agent. It replaces any previous
    one: its memory of what it summarised belongs to one conversation."""
    runtime = app.runtime
    if runtime is None:
        return None
    agent = runtime.agent

    def compacted(result: CompactionResult) -> None:
        agent.charge(result.usage)
        announce(app, result)

    compactor = Compactor(
        lambda: agent.model,
        session=None,
        settings=runtime.config.settings.compaction,
        summary_model=runtime.summary_model,
        options=agent.options,
        on_compaction=compacted,
    )
    agent.hooks = compactor.hooks(agent.hooks)
    return compactor


def announce(app: SkipjackApp, result: CompactionResult) -> None:
    how = {"threshold": "the context was filling up", "overflow": "the model said the context was too long"}
    why = how.get(result.trigger, "on request")
    app.chat.notice(
        f"compacted ({why}): {result.summarized} messages summarised, {result.kept} kept; "
        f"~{tokens(result.tokens_before)} → ~{tokens(result.tokens_after)} tokens"
    )
    app.view.last_context = result.tokens_after
    app.refresh_usage()


async def compact_now(app: SkipjackApp, focus: str | None) -> None:
    agent = app.agent
    compactor = app.compactor
    if agent is None or compactor is None:
        app.chat.notice("no model is set up yet", "error")
        return
    if app.session is None:
        app.chat.notice("nothing to compact yet")
        return
    compactor.options = agent.options  # the key of the model in use now
    app.status.set_state("compacting…")
    try:
        result = await compactor.compact(agent.messages, focus)
    except CompactionError as e:
        app.chat.notice(f"compaction failed: {e}", "error")
        return
    finally:
        app.status.set_state("ready")
    if result is None:
        app.chat.notice("too little history to compact")
        return
    agent.replace_messages(result.messages)
