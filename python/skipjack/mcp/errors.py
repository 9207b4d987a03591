"""What the MCP client raises (kept apart from the SDK so importing it costs nothing)."""


class McpCallError(Exception):
    """A call that got no result: the server is down, crashed or timed out (text for the model)."""
