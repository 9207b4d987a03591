"""The MCP client: the user's MCP servers (official `mcp` SDK) as the agent's tools, prompts
and resources. `manager.McpManager` runs the servers; `tool.McpTool` adapts one server tool.

Nothing is imported here: the command line's `prestart` spawns the servers' programs before
anything heavy loads (the manager's asyncio and threads included), and the modules that load
the SDK are imported where they are used."""
