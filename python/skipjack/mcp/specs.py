"""Which MCP servers a session gets: the user's `[mcp.servers]`, plus a project's own
(`.mcp.json` at the repository root, `[mcp]` in its `.skipjack/config.toml`) only when the
user trusts its folder. A repository must not start programs on the user's machine unasked.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from skipjack.config.schema import McpServerConfig, Settings
from skipjack.safety.trust import is_trusted

PROJECT_FILE = ".mcp.json"
MAX_PROJECT_FILE_BYTES = 1024 * 1024
SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


# msgspec Structs rather than dataclasses: a dataclass costs ~1 ms to define, paid at every
# start before `mcp.prestart` can spawn anything.
class ServerSpec(msgspec.Struct, frozen=True):
    name: str
    config: McpServerConfig
    source: str
    """Where it was configured: `user config`, `project config`, or the `.mcp.json` path."""

    @property
    def kind(self) -> str:
        return "stdio" if self.config.command else "http"


class ServerSpecs(msgspec.Struct):
    servers: list[ServerSpec] = msgspec.field(default_factory=list)
    warnings: list[str] = msgspec.field(default_factory=list)


def expand_vars(text: str, env: Mapping[str, str]) -> str:
    """`${VAR}` and `${VAR:-default}`, as `.mcp.json` files written for other agents use them."""
    return _VAR.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), text)


def server_specs(
    settings: Settings,
    *,
    sources: Mapping[str, str],
    project_root: Path | None,
    env: Mapping[str, str],
    trust_project: bool = False,
) -> ServerSpecs:
    """Every configured server, enabled or not, in config order. `sources` is the loaded
    config's dotted-key → layer map (an untrusted project's `[mcp]` never reaches it)."""
    out = ServerSpecs()
    seen: set[str] = set()
    for name, cfg in settings.mcp.servers.items():
        origin = sources.get(f"mcp.servers.{name}.command") or sources.get(f"mcp.servers.{name}.url") or "config"
        _add(out, seen, name, cfg, "project config" if origin.startswith("project") else "user config", env)
    if project_root is None:
        return out
    path = project_root / PROJECT_FILE
    if not path.is_file():
        return out
    if not (trust_project or is_trusted(project_root, settings.trusted_projects)):
        out.warnings.append(
            f"ignored the MCP servers in {path}: the folder is not trusted "
            "(trust it with --trust-project or add it to trusted_projects in your user config)"
        )
        return out
    for name, cfg in read_project_file(path, out.warnings).items():
        if name in seen:
            continue  # the user's own definition of a server wins
        _add(out, seen, name, cfg, str(path), env)
    return out


def add_server(out: ServerSpecs, name: str, cfg: McpServerConfig, source: str, env: Mapping[str, str]) -> None:
    """Check one server's name and config and add it, `${VAR}`s expanded; or add a warning."""
    _add(out, set(), name, cfg, source, env)


def _add(
    out: ServerSpecs, seen: set[str], name: str, cfg: McpServerConfig, source: str, env: Mapping[str, str]
) -> None:
    if not SERVER_NAME.match(name) or "__" in name:
        out.warnings.append(f"MCP server {name!r} ({source}): the name must be letters, digits, -, _ or . without '__'")
        return
    if bool(cfg.command) == bool(cfg.url):
        out.warnings.append(f"MCP server {name!r} ({source}): set either `command` or `url`")
        return
    cfg = msgspec.structs.replace(
        cfg,
        env={k: expand_vars(v, env) for k, v in cfg.env.items()},
        headers={k: expand_vars(v, env) for k, v in cfg.headers.items()},
        args=[expand_vars(a, env) for a in cfg.args],
        url=expand_vars(cfg.url, env) if cfg.url else None,
    )
    if cfg.url is not None and not cfg.url.lower().startswith(("http://", "https://")):
        # Said here, once, rather than as two transports' errors when it is tried.
        out.warnings.append(f"MCP server {name!r} ({source}): `url` must start with http:// or https://")
        return
    seen.add(name)
    out.servers.append(ServerSpec(name, cfg, source))


def read_project_file(path: Path, warnings: list[str]) -> dict[str, McpServerConfig]:
    """`{"mcpServers": {NAME: {command, args, env} | {type, url, headers}}}`; an entry this
    version cannot use is skipped with a warning, not an error."""
    import json  # here, not at the top: only a folder with a `.mcp.json` needs it at start

    try:
        raw = path.read_bytes()[:MAX_PROJECT_FILE_BYTES]
        data = json.loads(raw)
    except (OSError, ValueError) as e:
        warnings.append(f"{path}: not readable JSON ({e}); its MCP servers are ignored")
        return {}
    servers = data.get("mcpServers") if isinstance(data, dict) else None
    if not isinstance(servers, dict):
        warnings.append(f"{path}: no `mcpServers` object; ignored")
        return {}
    out: dict[str, McpServerConfig] = {}
    for name, entry in servers.items():
        if not isinstance(entry, dict):
            warnings.append(f"{path}: server {name!r} is not an object; ignored")
            continue
        fields: dict[str, Any] = {k: v for k, v in entry.items() if k in _JSON_FIELDS}
        kind = entry.get("type")
        if kind == "sse":
            fields["transport"] = "sse"
        elif kind in ("http", "streamable-http", "streamableHttp"):
            fields["transport"] = "streamable-http"
        if entry.get("disabled") is True:
            fields["enabled"] = False
        try:
            out[name] = msgspec.convert(fields, McpServerConfig)
        except msgspec.ValidationError as e:
            warnings.append(f"{path}: server {name!r}: {e}; ignored")
    return out


_JSON_FIELDS = frozenset({"command", "args", "env", "cwd", "url", "headers"})
