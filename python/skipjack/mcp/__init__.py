"""The MCP client: the user's MCP servers (official `mcp` SDK) as the agent's tools, prompts
and resources. `McpManager` runs the servers; `tool.McpTool` adapts one server tool.

Nothing imported here loads the SDK (see `manager`): the modules that do are imported where
they are used."""

from skipjack.mcp.errors import McpCallError
from skipjack.mcp.manager import McpManager
from skipjack.mcp.schema import split_name, tool_name
from skipjack.mcp.specs import ServerSpec, ServerSpecs, server_specs
from skipjack.mcp.status import ServerStatus

__all__ = [
    "McpCallError",
    "McpManager",
    "ServerSpec",
    "ServerSpecs",
    "ServerStatus",
    "server_specs",
    "split_name",
    "tool_name",
]
