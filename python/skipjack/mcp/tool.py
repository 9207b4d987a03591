"""An MCP server's tool as one of the agent's tools (`mcp__<server>__<tool>`)."""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec

from skipjack.agent.tool import Tool, ToolContext, ToolError, ToolOutput
from skipjack.llm.types import Tool as ToolSpec
from skipjack.mcp.errors import McpCallError
from skipjack.mcp.manager import McpManager
from skipjack.mcp.results import to_output
from skipjack.mcp.status import ToolEntry

MAX_DESCRIPTION = 4000


class _Unused(msgspec.Struct):
    """Arguments are the server's JSON object, checked by the server against its schema."""


class McpTool(Tool[Any]):
    Args = _Unused
    server: str
    remote_name: str
    read_only: bool

    def __init__(self, manager: McpManager, server: str, entry: ToolEntry, *, images: bool) -> None:
        self.manager = manager
        self.server = server
        self.remote_name = entry.tool.name
        self.read_only = entry.read_only
        self.schema = entry.schema
        self.images = images
        self._spec_name = entry.exposed
        text = (entry.tool.description or entry.tool.title or "").strip()
        self._description = (text[:MAX_DESCRIPTION] or entry.tool.name) + f" (MCP server {server})"

    # `name` and `description` are class attributes for built-in tools; an MCP tool's come
    # from its server, so each instance answers for itself.
    @property
    def name(self) -> str:  # type: ignore[override]
        return self._spec_name

    @property
    def description(self) -> str:  # type: ignore[override]
        return self._description

    def spec(self) -> ToolSpec:
        return ToolSpec(self._spec_name, self._description, self.schema)

    def parse_args(self, raw: dict[str, Any]) -> Any:
        return dict(raw)

    async def execute(self, args: Any, ctx: ToolContext) -> ToolOutput:
        loop = asyncio.get_running_loop()

        def progress(done: float, total: float | None, message: str | None) -> None:
            # Called on the MCP thread: hand the update to the agent's loop.
            shown = f"{done:g}/{total:g}" if total else f"{done:g}"
            line = f"[progress {shown}{': ' + message if message else ''}]\n"
            loop.call_soon_threadsafe(ctx.on_update, line)

        try:
            result = await self.manager.call_tool(self.server, self.remote_name, args, progress)
        except McpCallError as e:
            raise ToolError(str(e)) from None
        return to_output(result, images=self.images, server=self.server, tool=self.remote_name)
