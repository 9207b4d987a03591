"""The session's MCP servers, wired into the controller: their tools join the agent's (and the
approval policy learns which are read-only), their state becomes `mcp_server` events (a
failure also a `warning`, which every front end shows), `/mcp__server__prompt args` expands
a server's prompt and `@server:uri` attaches one of its resources, in every front end."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from skipjack.controller.events import Event, McpServerChanged, Warning_

if TYPE_CHECKING:
    from skipjack.agent.tool import Tool
    from skipjack.config.schema import McpServerConfig
    from skipjack.mcp.manager import McpManager
    from skipjack.mcp.status import ServerStatus
    from skipjack.runtime import Runtime

_MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9][A-Za-z0-9_.-]*):(\S+)")
MAX_RESOURCE_CHARS = 256 * 1024


class McpBridge:
    def __init__(self, runtime: Runtime, emit: Callable[[Event], None], *, trust_project: bool = False) -> None:
        self.runtime = runtime
        self._emit = emit
        self._reported: dict[str, tuple[str, str | None, tuple[str, ...]]] = {}
        self.manager: McpManager | None = None
        from skipjack.mcp.prestart import adopt, new_manager, session_servers

        specs = session_servers(
            runtime.config.settings,
            sources=runtime.config.sources,
            project_root=runtime.project_root,
            env=runtime.env,
            trust_project=trust_project,
        )
        if specs is None:
            return  # no MCP at all: not even the SDK is imported
        runtime.warnings.extend(specs.warnings)
        if not specs.servers:
            return
        cwd = runtime.agent.cwd
        # The command line may have started these very servers already (`mcp.prestart`).
        self.manager = adopt(specs.servers, cwd) or new_manager(specs.servers, cwd=cwd, env=runtime.env)
        self.manager.start()

    @property
    def active(self) -> bool:
        return self.manager is not None

    def statuses(self) -> list[ServerStatus]:
        return self.manager.statuses() if self.manager is not None else []

    async def before_prompt(self) -> None:
        """Wait for the servers still starting (each at most its startup timeout), report
        what changed, and give the agent the current tools."""
        manager = self.manager
        if manager is None:
            return
        await manager.wait_started()
        self.refresh()

    def refresh(self) -> None:
        """Report changed server states and rebuild the agent's MCP tools (between turns)."""
        manager = self.manager
        if manager is None:
            return
        manager.take_changed()
        for status in manager.statuses():
            key = (status.state, status.error, tuple(status.tools))
            if self._reported.get(status.name) == key or status.state == "starting":
                continue
            self._reported[status.name] = key
            self._emit(
                McpServerChanged(
                    status.name, status.state, status.error, status.tools, status.start_seconds, status.source
                )
            )
            if status.state in ("failed", "dead"):
                self._emit(Warning_(f'MCP server "{status.name}" {_verb(status.state)}: {status.error}'))
            for warning in status.warnings:
                self._emit(Warning_(f'MCP server "{status.name}": {warning}'))
        self._install_tools()

    def _install_tools(self) -> None:
        from skipjack.mcp.tool import McpTool

        manager = self.manager
        assert manager is not None
        agent = self.runtime.agent
        images = bool(agent.model.images)
        own: list[Tool[Any]] = [t for t in agent.tools if not isinstance(t, McpTool)]
        builtin = {t.name for t in own}
        mcp_tools: list[Tool[Any]] = []
        table: dict[str, tuple[str, str, bool]] = {}
        for server, entry in manager.tool_entries():
            if entry.exposed in builtin or entry.exposed in table:
                continue
            mcp_tools.append(McpTool(manager, server, entry, images=images))
            table[entry.exposed] = (server, entry.tool.name, entry.read_only)
        agent.tools = own + mcp_tools
        self.runtime.policy.mcp_tools = table

    def changed(self) -> bool:
        """A server said its lists changed since the tools were last installed."""
        return self.manager is not None and self.manager.take_changed()

    # -- prompts and resources ---------------------------------------------------------------

    def _prompts(self) -> dict[str, tuple[str, Any]]:
        """`mcp__server__prompt` → (server, the SDK's `Prompt`) for every ready server."""
        from skipjack.mcp.schema import tool_name

        return {
            tool_name(s.name, p.name): (s.name, p) for s in self.statuses() if s.state == "ready" for p in s.prompts
        }

    def prompt_commands(self) -> list[tuple[str, str, list[str]]]:
        """(`mcp__server__prompt`, description, argument names) for every ready server's prompts."""
        return [
            (name, p.description or p.title or p.name, [a.name for a in p.arguments or []])
            for name, (_server, p) in self._prompts().items()
        ]

    def resource_refs(self) -> list[tuple[str, str]]:
        """(`server:uri`, name) for `@` completion."""
        return [
            (f"{s.name}:{r.uri}", r.name or str(r.uri))
            for s in self.statuses()
            if s.state == "ready"
            for r in s.resources
        ]

    async def expand(self, text: str) -> str:
        """`/mcp__server__prompt args` → the prompt's text; `@server:uri` mentions of a
        configured server → the resource's text attached below the message."""
        if self.manager is None:
            return text
        stripped = text.strip()
        if stripped.startswith("/mcp__"):
            text = await self._expand_prompt(stripped[1:])
        return await self._attach_resources(text)

    async def _expand_prompt(self, line: str) -> str:
        from skipjack.errors import UserError
        from skipjack.mcp.errors import McpCallError

        name, _, rest = line.partition(" ")
        found = self._prompts().get(name)
        if found is None:
            raise UserError(f"/{name}: no MCP server offers that prompt (see `skipjack mcp list`)")
        server, prompt = found
        try:
            words = shlex.split(rest)
        except ValueError as e:
            raise UserError(f"/{name}: {e}") from e
        arguments: dict[str, str] = {}
        names = [a.name for a in prompt.arguments or []]
        positional = [w for w in words if "=" not in w]
        for word in words:
            if "=" in word:
                k, _, v = word.partition("=")
                arguments[k] = v
        for arg_name, value in zip([n for n in names if n not in arguments], positional, strict=False):
            arguments[arg_name] = value
        missing = [a.name for a in prompt.arguments or [] if a.required and a.name not in arguments]
        if missing:
            raise UserError(f"/{name}: missing {', '.join(missing)} (usage: /{name} {' '.join(names)})")
        assert self.manager is not None
        try:
            result = await self.manager.get_prompt(server, prompt.name, arguments)
        except McpCallError as e:
            raise UserError(f"/{name}: {e}") from e
        parts = [getattr(m.content, "text", None) for m in result.messages]
        return "\n\n".join(p for p in parts if p)

    async def _attach_resources(self, text: str) -> str:
        from skipjack.errors import UserError
        from skipjack.mcp.errors import McpCallError

        manager = self.manager
        assert manager is not None
        servers = {s.name for s in self.statuses()}
        attached: list[str] = []
        for m in _MENTION.finditer(text):
            server, uri = m.group(1), m.group(2)
            if server not in servers:
                continue
            try:
                result = await manager.read_resource(server, uri)
            except McpCallError as e:
                raise UserError(f"@{server}:{uri}: {e}") from e
            for item in result.contents:
                body = getattr(item, "text", None)
                if body is None:
                    body = f"({item.mime_type or 'binary'} content not attached)"
                attached.append(
                    f'<resource server="{server}" uri="{item.uri}">\n{body[:MAX_RESOURCE_CHARS]}\n</resource>'
                )
        return text if not attached else text + "\n\n" + "\n\n".join(attached)

    def add_client_servers(
        self, servers: Mapping[str, McpServerConfig], source: str, *, problems: Sequence[str] = ()
    ) -> None:
        """Servers a client hands over for this session (an ACP editor's own): started with
        the configured ones, replacing a configured server of the same name. The servers
        already running restart, so a client should pass them once, at the session's start."""
        from skipjack.mcp.prestart import new_manager
        from skipjack.mcp.specs import ServerSpecs, add_server

        extra = ServerSpecs(warnings=list(problems))
        for name, cfg in servers.items():
            add_server(extra, name, cfg, source, self.runtime.env)
        for warning in extra.warnings:
            self._emit(Warning_(warning))
        if not extra.servers:
            return
        names = {spec.name for spec in extra.servers}
        kept = [spec for spec in self.manager.specs if spec.name not in names] if self.manager is not None else []
        if self.manager is not None:
            self.manager.close()
        self._reported.clear()
        cwd = self.runtime.agent.cwd
        self.manager = new_manager([*kept, *extra.servers], cwd=cwd, env=self.runtime.env)
        self.manager.start()

    def close(self) -> None:
        if self.manager is not None:
            self.manager.close()


def _verb(state: str) -> str:
    return "did not start" if state == "failed" else "stopped"
