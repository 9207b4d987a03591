"""Which MCP servers a session gets, and starting them before the rest of the session.

A session's start imports most of skipjack (the controller, the tools, httpx; the UI's
Textual): hundreds of ms, more on a loaded machine. The servers do not depend on any of it,
only on the config, so the command line calls `prestart` first thing for the commands that
open a session in a known folder (`skipjack`, `run`, `rpc`); the session's controller then
`adopt`s the running servers if they are exactly the ones it would start itself (the same
config, trust and folder: it computes its own list with `session_servers` and compares).
Anything else (no prestart, another folder) and the session starts its own.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skipjack.config import Settings, load_config
from skipjack.config.files import data_dir, find_repo_root
from skipjack.mcp.spawn import Spawned, spawn_enabled
from skipjack.mcp.specs import PROJECT_FILE, ServerSpec, ServerSpecs, server_specs

if TYPE_CHECKING:
    # The manager (asyncio, threads) is imported only once the programs run: `prestart`.
    from skipjack.mcp.manager import McpManager

_lock = threading.Lock()
_early: McpManager | None = None


def session_servers(
    settings: Settings,
    *,
    sources: Mapping[str, str],
    project_root: Path | None,
    env: Mapping[str, str],
    trust_project: bool,
) -> ServerSpecs | None:
    """The servers of a session (`server_specs`), or None when nothing about MCP is configured."""
    if not settings.mcp.servers and not (project_root and (project_root / PROJECT_FILE).is_file()):
        return None
    return server_specs(settings, sources=sources, project_root=project_root, env=env, trust_project=trust_project)


def new_manager(
    specs: list[ServerSpec],
    *,
    cwd: Path,
    env: Mapping[str, str],
    spawned: Mapping[str, tuple[Spawned, Any]] | None = None,
) -> McpManager:
    from skipjack.mcp.manager import McpManager

    data = data_dir(env)
    return McpManager(specs, cwd=cwd, data_dir=data, auth_for=lambda s: _auth(s, data), spawned=spawned)


def prestart(cwd: Path, env: Mapping[str, str], *, trust_project: bool) -> None:
    """Start the servers a session in `cwd` will have, now; never raises (a config the
    session cannot use is reported by the session's own start)."""
    global _early
    try:
        config = load_config(cwd, env, trust_project=trust_project)
        specs = session_servers(
            config.settings,
            sources=config.sources,
            project_root=find_repo_root(cwd) or cwd.resolve(),
            env=env,
            trust_project=trust_project,
        )
    except Exception:
        return
    if specs is None or not specs.servers:
        return
    # The programs first, then the manager's own imports: the servers start meanwhile.
    spawned = spawn_enabled(specs.servers, cwd=cwd, log_dir=data_dir(env) / "mcp-logs")
    manager = new_manager(specs.servers, cwd=cwd, env=env, spawned=spawned)
    manager.start()
    with _lock:
        old, _early = _early, manager
    if old is not None:
        old.close()


def adopt(specs: list[ServerSpec], cwd: Path) -> McpManager | None:
    """The prestarted servers, if they are exactly `specs` run in `cwd` (else they are stopped)."""
    global _early
    with _lock:
        early, _early = _early, None
    if early is None:
        return None
    if early.specs == specs and early.cwd == cwd:
        return early
    with contextlib.suppress(Exception):
        early.close()
    return None


def _auth(spec: Any, data: Path) -> Any:
    # Called on the MCP thread, which has loaded the SDK: importing it here costs nothing.
    from skipjack.mcp.oauth import auth_for

    return auth_for(spec, data)
