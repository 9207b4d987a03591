"""A child agent's event, as the parent's front ends see it."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import msgspec

from skipjack.agent.events import AgentEvent, event_to_json


class SubagentEvent(msgspec.Struct, frozen=True):
    """Every event of a child run, wrapped so no front end mistakes a child's text or tool call
    for the parent's: `task_call_id` is the parent's `task` call, `depth` 1 for a child, 2 for a
    child's child."""

    type: ClassVar[Literal["subagent_event"]] = "subagent_event"
    task_call_id: str
    depth: int
    agent: str
    event: AgentEvent
    session_id: str | None = None
    top_task_call_id: str = ""
    """The top agent's `task` call this child works under (its own call at depth 1): where a
    front end shows a grandchild's activity."""

    def to_json(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "task_call_id": self.task_call_id,
            "depth": self.depth,
            "agent": self.agent,
            "session_id": self.session_id,
            "top_task_call_id": self.top_task_call_id or self.task_call_id,
            "event": event_to_json(self.event),
        }
