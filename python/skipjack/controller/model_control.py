"""The model side of `Controller`: switching models mid-conversation, and the compactor that
follows the model in use (automatic compaction's events, `/compact`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from skipjack.compaction import CompactionError, CompactionResult, Compactor
from skipjack.config import missing_key_hint
from skipjack.controller.events import (
    CompactionEnded,
    CompactionFailed,
    CompactionStarted,
    Event,
    ModelSwitched,
    PersistenceFailed,
    Warning_,
)
from skipjack.errors import UserError
from skipjack.llm.types import Model
from skipjack.runtime import Runtime, check_cost_limit, install_compactor
from skipjack.sessions import Session
from skipjack.tools import with_edit_tool_for

if TYPE_CHECKING:
    from skipjack.agent import Agent


class ModelControl:
    """Part of `Controller` (which sets these attributes up)."""

    runtime: Runtime
    session: Session | None
    _models: dict[str, Model]
    _compactor: Compactor | None

    if TYPE_CHECKING:

        @property
        def agent(self) -> Agent: ...

        def _emit(self, event: Event) -> None: ...

    def switch_model(self, ref: str) -> Model:
        """Use `ref` (`provider/model-id`) from the next request on: its own key, base URL
        and API; the compactor follows; the session records the change."""
        from skipjack.models import RegistryError, registry_for

        runtime = self.runtime
        agent = runtime.agent
        if ref == agent.model.ref:
            model = agent.model
        elif ref in self._models:
            model = self._models[ref]
        else:
            try:
                model = registry_for(runtime.config.settings).get_model(ref, runtime.env)
            except RegistryError as e:
                raise UserError(str(e)) from e
        check_cost_limit(model, agent.limits.max_cost)
        key = runtime.key_for(model)
        self._models[ref] = model
        agent.model = model
        runtime.model = model
        # A GPT-5/codex model gets apply_patch, any other the edit tool (`tools.edit_format`).
        agent.tools = with_edit_tool_for(agent.tools, agent.cwd, model, runtime.config.settings.tools.edit_format)
        agent.options = msgspec.structs.replace(
            agent.options, api_key=key, reasoning=agent.options.reasoning if model.reasoning else None
        )
        if self._compactor is not None:
            self._compactor.options = agent.options
        if self.session is not None:
            try:
                self.session.append_model_change(ref)
            except OSError as e:
                self._emit(PersistenceFailed(self.session.id, f"the model change was not saved: {e}"))
        self._emit(ModelSwitched(ref, model.api, model.base_url, key is not None))
        if key is None and model.api_key_env:
            self._emit(Warning_(missing_key_hint(model)))
        return model

    def _install_compactor(self, compactor: Compactor | None) -> None:
        """The session's compactor (from `attach_session`), or one for a conversation that is
        not recorded; either way its start, end and failure become events."""
        runtime, agent = self.runtime, self.runtime.agent
        if compactor is None:
            compactor = install_compactor(runtime, None)

        def compacted(result: CompactionResult) -> None:
            agent.charge(result.usage)
            self._emit(
                CompactionEnded(
                    result.trigger,
                    result.summarized,
                    result.kept,
                    result.tokens_before,
                    result.tokens_after,
                    result.usage.cost.total,
                )
            )

        compactor.on_compaction = compacted
        compactor.on_start = lambda trigger: self._emit(CompactionStarted(trigger))
        compactor.on_failure = lambda e: self._emit(CompactionFailed(str(e), True))
        runtime.compactor = compactor
        self._compactor = compactor

    async def compact(self, focus: str | None = None) -> CompactionResult | None:
        """Compact now (`/compact`); None when there is too little history. A failure is a
        `compaction_failed` event and a `UserError`."""
        if self.agent.is_running:
            raise UserError("the agent is running: compact once it is idle")
        compactor = self._compactor
        assert compactor is not None  # installed in __init__ and by every use_session
        compactor.options = self.agent.options  # the key of the model in use now
        try:
            result = await compactor.compact(self.agent.messages, focus)
        except CompactionError as e:
            self._emit(CompactionFailed(str(e), False))
            raise UserError(f"compaction failed: {e}") from e
        if result is not None:
            self.agent.replace_messages(result.messages)
        return result
