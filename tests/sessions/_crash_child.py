"""Run by test_crash.py in its own process: an agent whose run is recorded into a session,
with tool results big enough that a kill can land in the middle of writing one."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import ClassVar

import msgspec

from skipjack.agent import Agent, Hooks, Tool, ToolContext, ToolOutput
from skipjack.llm import Message, RetryPolicy, StreamOptions, UserMessage
from skipjack.sessions import SessionStore
from skipjack.sessions.recorder import record
from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn

BLOB = 4 << 20


def blob(n: int) -> str:
    return f"{n}:" + chr(ord("a") + n % 26) * BLOB


class BlobArgs(msgspec.Struct):
    n: int


class BlobTool(Tool[BlobArgs]):
    name: ClassVar[str] = "blob"
    description: ClassVar[str] = "Return a large text."
    Args = BlobArgs

    async def execute(self, args: BlobArgs, ctx: ToolContext) -> ToolOutput:
        return ToolOutput.text(blob(args.n))


async def short_context(messages: list[Message]) -> list[Message]:
    # Keep the requests small: this test is about the session file, not the wire.
    return [UserMessage("continue")]


async def main(root: Path, cwd: Path) -> None:
    turns = [ScriptedTurn(tool_calls=[ScriptedToolCall("blob", {"n": i}, id=f"c{i}")]) for i in range(500)]
    with ScriptedModel(None, *turns, ScriptedTurn(text="done")) as scripted:
        session = SessionStore(root).create(cwd, "scripted/scripted-model")
        print(session.path, flush=True)
        agent = Agent(
            scripted.model,
            tools=[BlobTool()],
            hooks=Hooks(transform_context=short_context),
            options=StreamOptions(retry=RetryPolicy(max_retries=0)),
        )
        record(agent, session)
        await agent.prompt("go")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2])))
