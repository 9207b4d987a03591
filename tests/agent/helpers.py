"""Tools, agents and event helpers shared by the agent-loop tests."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import msgspec

from skipjack.agent import Agent, AgentEvent, Tool, ToolContext, ToolError, ToolOutput
from skipjack.agent.events import ToolExecutionEnd
from skipjack.llm import RetryPolicy, StreamOptions, TextContent, Timeouts, ToolResultMessage
from skipjack.testing import ScriptedModel

FAST = StreamOptions(
    retry=RetryPolicy(max_retries=2, base_delay_ms=10, max_delay_ms=1_000),
    timeouts=Timeouts(connect_ms=2_000, first_byte_ms=10_000, idle_ms=10_000),
)


def make_agent(scripted: ScriptedModel, tools: list[Tool[Any]] | None = None, **kw: Any) -> Agent:
    kw.setdefault("options", FAST)
    return Agent(scripted.model, system_prompt="You are a test.", tools=tools or [], **kw)


class Recorder:
    """Every event of an agent, plus waiters for the first event matching a predicate."""

    def __init__(self, agent: Agent) -> None:
        self.events: list[AgentEvent] = []
        self._waiters: list[tuple[Callable[[AgentEvent], bool], asyncio.Future[AgentEvent]]] = []
        agent.subscribe(self._on_event)

    def _on_event(self, event: AgentEvent) -> None:
        self.events.append(event)
        for predicate, future in list(self._waiters):
            if not future.done() and predicate(event):
                future.set_result(event)

    async def wait_for(self, predicate: Callable[[AgentEvent], bool]) -> AgentEvent:
        """The first matching event, waiting (at most 10 s) if none came yet."""
        for event in self.events:
            if predicate(event):
                return event
        future: asyncio.Future[AgentEvent] = asyncio.get_running_loop().create_future()
        self._waiters.append((predicate, future))
        async with asyncio.timeout(10):
            return await future

    def types(self) -> list[str]:
        return [e.type for e in self.events]

    def tool_ends(self) -> list[ToolExecutionEnd]:
        return [e for e in self.events if isinstance(e, ToolExecutionEnd)]


def text_of(result: ToolResultMessage) -> str:
    if isinstance(result.content, str):
        return result.content
    return "".join(b.text for b in result.content if isinstance(b, TextContent))


# -- tools ------------------------------------------------------------------------------


class EchoArgs(msgspec.Struct, forbid_unknown_fields=True):
    text: str
    times: int = 1


class EchoTool(Tool[EchoArgs]):
    name: ClassVar[str] = "echo"
    description: ClassVar[str] = "Repeat text."
    Args = EchoArgs

    def __init__(self) -> None:
        self.calls: list[EchoArgs] = []

    async def execute(self, args: EchoArgs, ctx: ToolContext) -> ToolOutput:
        self.calls.append(args)
        return ToolOutput.text(args.text * args.times, details={"times": args.times})


class SleepArgs(msgspec.Struct):
    label: str
    seconds: float = 0.0
    key: str | None = None


@dataclass
class Span:
    label: str
    start: float
    end: float = 0.0


@dataclass
class SleepTool(Tool[SleepArgs]):
    """Sleeps, recording when each call ran; calls with a `key` share a concurrency key."""

    name: ClassVar[str] = "sleep"
    description: ClassVar[str] = "Sleep a while."
    Args = SleepArgs
    spans: list[Span] = field(default_factory=list)
    running: int = 0
    max_running: int = 0

    def concurrency_key(self, args: SleepArgs) -> str | None:
        return args.key

    async def execute(self, args: SleepArgs, ctx: ToolContext) -> ToolOutput:
        span = Span(args.label, time.monotonic())
        self.spans.append(span)
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await asyncio.sleep(args.seconds)
        finally:
            self.running -= 1
            span.end = time.monotonic()
        return ToolOutput.text(f"slept {args.label}")


class GateArgs(msgspec.Struct):
    name: str


@dataclass
class GateTool(Tool[GateArgs]):
    """Each call waits until the test opens its gate; `started` records the order calls began."""

    name: ClassVar[str] = "gate"
    description: ClassVar[str] = "Wait for a gate."
    Args = GateArgs
    gates: dict[str, asyncio.Event] = field(default_factory=dict)
    started: list[str] = field(default_factory=list)

    def gate(self, name: str) -> asyncio.Event:
        return self.gates.setdefault(name, asyncio.Event())

    async def execute(self, args: GateArgs, ctx: ToolContext) -> ToolOutput:
        self.started.append(args.name)
        ctx.on_update(f"{args.name} waiting\n")
        await self.gate(args.name).wait()
        return ToolOutput.text(f"{args.name} done")


class FailArgs(msgspec.Struct):
    how: str


class FailTool(Tool[FailArgs]):
    name: ClassVar[str] = "fail"
    description: ClassVar[str] = "Fail on purpose."
    Args = FailArgs

    async def execute(self, args: FailArgs, ctx: ToolContext) -> ToolOutput:
        if args.how == "tool_error":
            raise ToolError("the file is locked by another editor")
        raise RuntimeError("disk on fire")


class NoArgs(msgspec.Struct):
    pass


@dataclass
class SubprocessTool(Tool[NoArgs]):
    """Runs `sleep 30` in its own session and kills its process group when cancelled."""

    name: ClassVar[str] = "long_command"
    description: ClassVar[str] = "Run a long command."
    Args = NoArgs
    pid: int | None = None
    spawned: asyncio.Event = field(default_factory=asyncio.Event)

    async def execute(self, args: NoArgs, ctx: ToolContext) -> ToolOutput:
        proc = await asyncio.create_subprocess_exec("sleep", "30", start_new_session=True)
        self.pid = proc.pid
        self.spawned.set()
        try:
            await proc.wait()
        except asyncio.CancelledError:
            os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()
            raise
        return ToolOutput.text(f"exit {proc.returncode}")


def process_gone(pid: int) -> bool:
    """No such process, not even a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False
