"""The MCP servers an editor passes in `session/new` and `session/load` (its own, e.g. Zed's
context servers), as skipjack's server configs."""

from __future__ import annotations

from typing import Any

from acp import schema

from skipjack.config.schema import McpServerConfig


def client_servers(servers: list[Any] | None) -> tuple[dict[str, McpServerConfig], list[str]]:
    """The servers skipjack can run, by name, and a warning for each it cannot."""
    out: dict[str, McpServerConfig] = {}
    skipped: list[str] = []
    for server in servers or []:
        name = str(getattr(server, "name", "") or "")
        if isinstance(server, schema.McpServerStdio):
            out[name] = McpServerConfig(
                command=server.command, args=list(server.args), env={e.name: e.value for e in server.env or []}
            )
        elif isinstance(server, schema.HttpMcpServer | schema.SseMcpServer):
            out[name] = McpServerConfig(
                url=server.url,
                headers={h.name: h.value for h in server.headers or []},
                transport="sse" if isinstance(server, schema.SseMcpServer) else "streamable-http",
            )
        else:
            skipped.append(f"MCP server {name!r} from the editor: this transport is not supported")
    return out, skipped
