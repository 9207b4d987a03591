"""A Streamable HTTP MCP server written with the SDK's server side, for the client's tests.

Run: `python http_server.py PORT MARKER_DIR [sse]` (or `stdio` for PORT). Its tools cover what a client must handle: a
tool list that changes, progress, a slow call (cancelled by an abort: it writes
`MARKER_DIR/cancelled`), an error result, an image result, and a crash mid-call.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from pathlib import Path

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.utilities.types import Image

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)

port = int(sys.argv[1]) if sys.argv[1] != "stdio" else 0
markers = Path(sys.argv[2])
server = MCPServer("skipjack-test")


@server.tool(description="Echo the text back.")
def echo(text: str) -> str:
    return f"echo: {text}"


@server.tool(description="Report progress in steps, then finish.")
async def count(steps: int, ctx: Context) -> str:
    for i in range(1, steps + 1):
        await ctx.report_progress(i, steps, f"step {i}")
        await asyncio.sleep(0.05)
    return f"counted to {steps}"


@server.tool(description="Sleep, unless cancelled first.")
async def slow(seconds: float) -> str:
    (markers / "slow-started").write_text("1")
    try:
        await asyncio.sleep(seconds)
    except BaseException:
        (markers / "cancelled").write_text("1")
        raise
    return "slept"


@server.tool(description="Always fails.")
def fail() -> str:
    raise ValueError("the disk is on fire")


@server.tool(description="A one-pixel PNG.")
def picture() -> Image:
    return Image(data=PNG_1PX, format="png")


@server.tool(description="Exit the server process in the middle of the call.")
async def crash() -> str:
    await asyncio.sleep(0.05)
    os._exit(3)


@server.tool(description="Say a lot.")
def flood(lines: int) -> str:
    return "\n".join(f"line {i} " + "x" * 60 for i in range(lines))


@server.tool(description="Add a tool named NAME and tell the client the list changed.")
async def add_tool(name: str, ctx: Context) -> str:
    def added() -> str:
        return f"{name} here"

    server.add_tool(added, name=name, description=f"The {name} tool.")
    await ctx.request_context.session.send_tool_list_changed()
    return f"added {name}"


@server.prompt(description="Greet someone.")
def greet(who: str) -> str:
    return f"Please greet {who} warmly."


@server.resource("notes://readme", description="The project's notes.")
def readme() -> str:
    return "the notes say hello"


@server.resource("mem://odd", name="[/bold] odd [red", description="A name that is not markup.")
def odd() -> str:
    return "odd content"


if __name__ == "__main__":
    if sys.argv[1] == "stdio":  # the same tools over stdio (`python http_server.py stdio MARKER_DIR`)
        asyncio.run(server.run_stdio_async())
    elif len(sys.argv) > 3 and sys.argv[3] == "sse":  # the older HTTP+SSE transport only, at /sse
        asyncio.run(server.run_sse_async(host="127.0.0.1", port=port))
    else:
        asyncio.run(server.run_streamable_http_async(host="127.0.0.1", port=port))
