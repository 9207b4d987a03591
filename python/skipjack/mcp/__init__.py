"""The MCP client: the user's MCP servers (official `mcp` SDK) as the agent's tools, prompts
and resources. `McpManager` runs the servers; `McpTool` adapts one server tool."""

from skipjack.mcp.connection import McpCallError, ServerStatus
from skipjack.mcp.manager import McpManager
from skipjack.mcp.schema import split_name, tool_name
from skipjack.mcp.specs import ServerSpec, ServerSpecs, server_specs
from skipjack.mcp.tool import McpTool

__all__ = [
    "McpCallError",
    "McpManager",
    "McpTool",
    "ServerSpec",
    "ServerSpecs",
    "ServerStatus",
    "server_specs",
    "split_name",
    "tool_name",
]
