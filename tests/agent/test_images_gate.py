"""A tool's image reaches only a model that accepts images; for any other the history and
the request carry a note naming the model instead, and the user sees it in the result."""

from __future__ import annotations

from typing import ClassVar

import msgspec

from skipjack.agent import Tool, ToolContext, ToolOutput
from skipjack.llm import ImageContent, TextContent, ToolResultMessage
from skipjack.testing import ScriptedModel, ScriptedToolCall, ScriptedTurn

from .helpers import Recorder, make_agent

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


class ShotArgs(msgspec.Struct):
    pass


class ScreenshotTool(Tool[ShotArgs]):
    name: ClassVar[str] = "screenshot"
    description: ClassVar[str] = "Take a screenshot."
    Args = ShotArgs

    async def execute(self, args: ShotArgs, ctx: ToolContext) -> ToolOutput:
        return ToolOutput.image(PNG, "image/png", note="screen.png (1x1)")


CALL = ScriptedToolCall("screenshot", {}, id="call_shot")


async def test_a_text_only_model_gets_a_note_in_the_images_place(scripted: ScriptedModel) -> None:
    assert not scripted.model.images
    scripted.enqueue(ScriptedTurn(tool_calls=[CALL]), ScriptedTurn(text="ok"))
    agent = make_agent(scripted, [ScreenshotTool()])
    rec = Recorder(agent)
    await agent.prompt("look")
    note = "[image omitted: model scripted/scripted-model does not accept images]"
    (end,) = rec.tool_ends()
    assert end.result.content == [TextContent("screen.png (1x1)"), TextContent(note)]
    (stored,) = [m for m in agent.messages if isinstance(m, ToolResultMessage)]
    assert not any(isinstance(c, ImageContent) for c in stored.content)
    raw = scripted.server.requests[1].body.decode()
    assert PNG not in raw
    assert note in raw


async def test_an_image_model_gets_the_image(scripted: ScriptedModel) -> None:
    agent = make_agent(scripted, [ScreenshotTool()])
    agent.model = msgspec.structs.replace(scripted.model, images=True)
    scripted.enqueue(ScriptedTurn(tool_calls=[CALL]), ScriptedTurn(text="ok"))
    await agent.prompt("look")
    raw = scripted.server.requests[1].body.decode()
    assert PNG in raw
    assert "image omitted" not in raw
