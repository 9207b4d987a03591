"""Running one `task` call: build the child agent, run it, roll its costs up, answer the call.

A child gets its own context (the task prompt only), its own tools (read-only unless its
definition grants more), an approval mode no looser than the parent's at the moment of the call,
a turn budget, and what is left of the parent's cost budget. Its costs are charged to every
ancestor as they happen, so `--max-cost` covers the whole tree, and each of its messages is
recorded once in the top session's usage. Its events reach the front ends wrapped in
`SubagentEvent`; its transcript is a sub-session of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from skipjack.agent import Agent, Hooks, Limits
from skipjack.agent.events import AgentEvent, MessageEnd
from skipjack.agent.tool import Tool, ToolContext, ToolOutput
from skipjack.config.schema import ApprovalMode, SubagentSettings
from skipjack.llm.stream import StreamOptions
from skipjack.llm.types import AssistantMessage, Model, Usage
from skipjack.subagents.events import SubagentEvent
from skipjack.subagents.task_tool import TaskArgs, TaskTool

if TYPE_CHECKING:
    from skipjack.extensions.definitions import AgentDefinition
    from skipjack.safety.policy import ApprovalPolicy
    from skipjack.sessions import Session

READ_ONLY_TOOLS = ("read", "grep", "find", "web_fetch")
STRICTNESS: tuple[ApprovalMode, ...] = ("plan", "ask", "auto-edit", "yolo")
ABORT_GRACE_S = 10.0
"""How long an aborted child gets to stop its tools (kill their process groups) and answer its calls."""

CHILD_PROMPT = """\
You are a subagent of skipjack, a coding agent: another agent handed you the task below. Work \
on it alone with the tools you have; nobody can answer questions. Your final message is all \
the other agent will see: make it complete and concise (findings, file paths with line \
numbers, what you changed if anything, what remains uncertain).

Working directory: {cwd}
Tools: {tools}
"""


def stricter(a: ApprovalMode, b: ApprovalMode) -> ApprovalMode:
    return a if STRICTNESS.index(a) <= STRICTNESS.index(b) else b


class ChildSpec(msgspec.Struct):
    """What building a child takes, made once by the controller and shared by every depth."""

    cwd: Path
    definitions: dict[str, AgentDefinition]
    settings: SubagentSettings
    parent_mode: Callable[[], ApprovalMode]
    """The session's approval mode now: the ceiling of every child's."""
    make_policy: Callable[[ApprovalMode], ApprovalPolicy]
    make_tools: Callable[[Model, ApprovalMode], list[Tool[Any]]]
    """Every built-in tool, bash sandboxed for the given mode."""
    make_hooks: Callable[[ApprovalPolicy], Hooks]
    """Approvals (asking as the session asks), the user's tool hooks, secret redaction."""
    resolve_model: Callable[[str], Model]
    """`provider/model-id` → a model; raises ValueError with a sentence."""
    key_for: Callable[[Model], str | None]
    options: Callable[[], StreamOptions]
    emit: Callable[[SubagentEvent], None]
    open_session: Callable[[Model], Session | None]
    """A sub-session for a child's transcript (None when the session is not recorded)."""
    record: Callable[[Agent, Session], Callable[[], None]]
    record_usage: Callable[[str, Usage], None]
    """A descendant's request, into the top session's usage."""


class Subagents:
    """The `task` tool's spawn function for an agent at `depth` (the top agent is 0)."""

    def __init__(
        self,
        spec: ChildSpec,
        parent: Agent,
        depth: int,
        charge_up: Callable[[Usage], None],
        top_call_id: str | None = None,
    ) -> None:
        self.spec = spec
        self.parent = parent
        self.depth = depth
        self.charge_up = charge_up
        self.top_call_id = top_call_id
        """The top agent's `task` call this agent works under (None for the top agent)."""

    def task_tool(self) -> TaskTool:
        return TaskTool(self.spec.definitions, self.run)

    async def run(self, args: TaskArgs, ctx: ToolContext) -> ToolOutput:
        spec = self.spec
        depth = self.depth + 1
        if depth > spec.settings.max_depth:
            return ToolOutput.error(
                f"subagent depth limit reached: this agent is at depth {self.depth} and "
                f"[subagents] max_depth is {spec.settings.max_depth}; do the task yourself"
            )
        definition: AgentDefinition | None = None
        if args.subagent_type:
            definition = spec.definitions.get(args.subagent_type)
            if definition is None:
                known = ", ".join(sorted(spec.definitions)) or "none are defined"
                return ToolOutput.error(f"no agent type {args.subagent_type!r} (known: {known})")
        try:
            child, session = self._build(definition, depth, ctx.tool_call_id)
        except ValueError as e:
            return ToolOutput.error(f"the subagent could not start: {e}")
        name = definition.name if definition else "general"
        return await self._run_child(child, session, args.prompt, name, depth, ctx.tool_call_id)

    def _build(self, definition: AgentDefinition | None, depth: int, call_id: str) -> tuple[Agent, Session | None]:
        spec = self.spec
        model = self.parent.model
        if definition is not None and definition.model:
            model = spec.resolve_model(definition.model)
        mode = spec.parent_mode()
        if definition is not None and definition.approval is not None:
            mode = stricter(mode, definition.approval)
        names = definition.tools if definition is not None and definition.tools is not None else READ_ONLY_TOOLS
        available = {t.name: t for t in spec.make_tools(model, mode)}
        if "edit" in names and "edit" not in available and "apply_patch" in available:
            names = tuple("apply_patch" if n == "edit" else n for n in names)  # the model's edit tool
        unknown = [n for n in names if n not in available and n != "task"]
        if unknown:
            raise ValueError(
                f"agent {definition.name if definition else ''!r} names unknown tools: {', '.join(unknown)}"
            )
        tools = [available[n] for n in names if n in available]
        # The child's own key, for its own provider: never the parent's key sent to another host.
        options = msgspec.structs.replace(spec.options(), api_key=spec.key_for(model), reasoning=None, session_id=None)
        remaining = self._remaining_budget()
        child = Agent(
            model,
            system_prompt=self._system_prompt(
                definition, [t.name for t in tools] + (["task"] if "task" in names else [])
            ),
            tools=tools,
            options=options,
            hooks=spec.make_hooks(spec.make_policy(mode)),
            limits=Limits(max_turns=spec.settings.max_turns, max_cost=remaining),
            cwd=spec.cwd,
            tool_concurrency=self.parent.tool_concurrency,
        )

        def charge(usage: Usage) -> None:
            child.charge(usage)
            self.charge_up(usage)

        if "task" in names:
            top = self.top_call_id or call_id
            child.tools.append(Subagents(spec, child, depth, charge, top).task_tool())
        session = spec.open_session(model)
        if session is not None:
            child.options = msgspec.structs.replace(child.options, session_id=session.id)
        return child, session

    def _remaining_budget(self) -> float | None:
        limit = self.parent.limits.max_cost
        if limit is None:
            return None
        return max(0.0, limit - self.parent.run_usage().cost.total)

    def _system_prompt(self, definition: AgentDefinition | None, tool_names: list[str]) -> str:
        text = CHILD_PROMPT.format(cwd=self.spec.cwd, tools=", ".join(tool_names))
        if definition is not None and definition.system_prompt:
            text += f"\n{definition.system_prompt}\n"
        return text

    async def _run_child(
        self, child: Agent, session: Session | None, prompt: str, name: str, depth: int, call_id: str
    ) -> ToolOutput:
        spec = self.spec
        session_id = session.id if session is not None else None

        def forward(event: AgentEvent) -> None:
            if isinstance(event, MessageEnd) and isinstance(event.message, AssistantMessage):
                usage = event.message.usage
                self.charge_up(usage)
                spec.record_usage(event.message.model_ref, usage)
            spec.emit(SubagentEvent(call_id, depth, name, event, session_id, self.top_call_id or call_id))

        unsubscribe = child.subscribe(forward)
        unrecord = spec.record(child, session) if session is not None else None
        run = asyncio.ensure_future(child.prompt(prompt))
        try:
            result = await asyncio.shield(run)
        except asyncio.CancelledError:
            # The parent was aborted (or its call cancelled): stop the child's model call and
            # tools, and wait until its commands are gone before the parent's abort completes.
            child.abort()
            with contextlib.suppress(BaseException):
                await asyncio.wait_for(asyncio.shield(run), ABORT_GRACE_S)
            raise
        finally:
            unsubscribe()
            if unrecord is not None:
                unrecord()
            if session is not None:
                with contextlib.suppress(OSError, Exception):
                    session.answer_open_calls()
                with contextlib.suppress(OSError):
                    session.close()
        text = result.message.text if result.message is not None else ""
        details = {
            "agent": name,
            "depth": depth,
            "session_id": session_id,
            "turns": result.turns,
            "stop_reason": result.stop_reason,
            "cost": child.usage_totals().cost.total,
        }
        if result.stop_reason == "completed":
            return ToolOutput.text(text or "(the subagent finished without a final message)", details=details)
        why = result.error_message or result.stop_reason
        note = f"[the subagent stopped early ({result.stop_reason}: {why}) after {result.turns} turns]"
        return ToolOutput.text(f"{text}\n{note}".strip(), is_error=result.stop_reason == "error", details=details)
