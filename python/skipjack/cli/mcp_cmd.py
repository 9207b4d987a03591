"""`skipjack mcp list|add|remove|test`: the user's MCP servers.

`add` and `remove` edit the user config with tomlkit, so its comments and every other
setting stay as the user wrote them (`tomli_w`, used elsewhere, would drop the comments)."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from skipjack.errors import UserError


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("mcp", help="list, add, remove or test MCP servers")
    msub = p.add_subparsers(dest="mcp_command")
    ls = msub.add_parser("list", help="servers, their state, tools and errors (starts them to find out)")
    ls.add_argument("--json", action="store_true", help="one JSON object")
    add = msub.add_parser(
        "add",
        help="add a server to the user config: NAME -- CMD ARGS… (stdio) or NAME --url URL",
        usage="skipjack mcp add NAME [--env K=V] -- CMD [ARGS…]  |  skipjack mcp add NAME --url URL [--header K=V]",
    )
    add.add_argument("name")
    _add_options(add)
    add.add_argument("server_command", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the program to run")
    rm = msub.add_parser("remove", help="remove a server from the user config")
    rm.add_argument("name")
    test = msub.add_parser("test", help="connect to one server, list its tools and print the timings")
    test.add_argument("name")


def _add_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--url", help="a Streamable HTTP (or HTTP+SSE) endpoint")
    p.add_argument("--header", action="append", default=[], metavar="K=V", help="an HTTP header (repeatable)")
    p.add_argument("--env", action="append", default=[], metavar="K=V", help="a variable for the program")
    p.add_argument("--transport", choices=["auto", "streamable-http", "sse"], help="for --url (default: auto)")
    p.add_argument("--oauth", action="store_true", help="sign in with OAuth (browser) for --url")


def _split_add(args: argparse.Namespace) -> list[str]:
    """The program's words. argparse hands everything after NAME over unparsed (so the
    program's own flags stay its own); options written there, before `--`, are ours."""
    words = list(args.server_command)
    ours: list[str] = []
    if "--" in words:
        cut = words.index("--")
        ours, words = words[:cut], words[cut + 1 :]
    elif words and words[0].startswith("-"):
        ours, words = words, []
    if ours:
        more = argparse.ArgumentParser(prog="skipjack mcp add NAME", add_help=False, exit_on_error=False)
        _add_options(more)
        try:
            extra = more.parse_args(ours)
        except (argparse.ArgumentError, SystemExit) as e:
            raise UserError(f"mcp add: {e}; usage: skipjack mcp add NAME [--env K=V] -- CMD ARGS…") from None
        args.url = extra.url or args.url
        args.header = [*args.header, *extra.header]
        args.env = [*args.env, *extra.env]
        args.transport = extra.transport or args.transport
        args.oauth = extra.oauth or args.oauth
    return words


def run(args: argparse.Namespace, cwd: Path) -> int:
    command = args.mcp_command or "list"
    if command == "add":
        return _add(args)
    if command == "remove":
        return _remove(args.name)
    import asyncio

    return asyncio.run(
        _inspect(cwd, only=args.name if command == "test" else None, as_json=getattr(args, "json", False))
    )


# -- editing the user config -------------------------------------------------------------------


def _pairs(items: list[str], flag: str) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UserError(f"{flag} {item!r}: expected KEY=VALUE")
        out[key.strip()] = value
    return out


def _add(args: argparse.Namespace) -> int:
    from skipjack.mcp.specs import SERVER_NAME

    name: str = args.name
    if not SERVER_NAME.match(name) or "__" in name:
        raise UserError(f"server name {name!r}: use letters, digits, '-', '_' or '.' (not '__'), at most 64")
    words = _split_add(args)
    entry: dict[str, Any] = {}
    if args.url and words:
        raise UserError("give either --url URL or -- CMD ARGS…, not both")
    if args.url:
        entry["url"] = args.url
        if args.header:
            entry["headers"] = _pairs(args.header, "--header")
        if args.transport:
            entry["transport"] = args.transport
        if args.oauth:
            entry["oauth"] = True
    elif words:
        entry["command"], entry["args"] = words[0], words[1:]
        if args.env:
            entry["env"] = _pairs(args.env, "--env")
    else:
        raise UserError("nothing to run: skipjack mcp add NAME -- CMD ARGS…  or  skipjack mcp add NAME --url URL")
    path, doc = _user_doc()
    servers = _servers_table(doc, create=True)
    replaced = name in servers
    servers[name] = entry
    _write(path, doc)
    print(f"{'replaced' if replaced else 'added'} MCP server {name!r} in {path}")
    return 0


def _remove(name: str) -> int:
    path, doc = _user_doc()
    servers = _servers_table(doc, create=False)
    if servers is None or name not in servers:
        raise UserError(f"no MCP server {name!r} in {path}")
    del servers[name]
    _write(path, doc)
    print(f"removed MCP server {name!r} from {path}")
    return 0


def _user_doc() -> tuple[Path, Any]:
    import tomlkit

    from skipjack.config import user_config_path

    path = user_config_path(os.environ)
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        return path, tomlkit.parse(text)
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError) as e:
        raise UserError(f"{path}: cannot edit it ({e})") from e


def _servers_table(doc: Any, *, create: bool) -> Any:
    import tomlkit

    mcp = doc.get("mcp")
    if mcp is None:
        if not create:
            return None
        mcp = tomlkit.table(is_super_table=True)
        doc["mcp"] = mcp
    servers = mcp.get("servers")
    if servers is None:
        if not create:
            return None
        servers = tomlkit.table(is_super_table=True)
        mcp["servers"] = servers
    return servers


def _write(path: Path, doc: Any) -> None:
    """Check the result as a config before writing it (atomically, keeping the file's mode)."""
    import tomlkit

    from skipjack.config import ConfigError
    from skipjack.config.loader import _check_layer

    try:
        _check_layer(doc.unwrap(), str(path), [], path=path)
    except ConfigError as e:
        raise UserError(str(e)) from e
    text = tomlkit.dumps(doc)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, path.stat().st_mode & 0o777 if path.exists() else 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


# -- starting them -----------------------------------------------------------------------------

STARTUP_MARGIN_S = 15.0
"""Beyond the longest startup timeout: the manager's own start (its thread, the SDK's import)."""


async def _inspect(cwd: Path, *, only: str | None, as_json: bool) -> int:
    from skipjack.config import ConfigError, load_config
    from skipjack.config.files import find_repo_root
    from skipjack.mcp.manager import McpManager
    from skipjack.mcp.oauth import auth_for
    from skipjack.mcp.specs import server_specs
    from skipjack.sessions.store import data_dir

    try:
        loaded = load_config(cwd)
    except ConfigError as e:
        raise UserError(str(e)) from e
    specs = server_specs(
        loaded.settings, sources=loaded.sources, project_root=find_repo_root(cwd) or cwd, env=os.environ
    )
    for warning in specs.warnings:
        print(f"skipjack: warning: {warning}", file=sys.stderr)
    chosen = [s for s in specs.servers if only is None or s.name == only]
    if only is not None and not chosen:
        if any(f"server {only!r}" in w for w in specs.warnings):
            raise UserError(f"MCP server {only!r} is configured but cannot be used: see the warning above")
        raise UserError(f"no MCP server {only!r} is configured (`skipjack mcp list`)")
    if only is not None:
        import msgspec

        # `test` tries a disabled server too: that is how one checks it before enabling it.
        spec = chosen[0]
        chosen = [msgspec.structs.replace(spec, config=msgspec.structs.replace(spec.config, enabled=True))]
    if not chosen and specs.warnings:
        print("no usable MCP servers: see the warnings above")
        return 1
    if not chosen:
        print("no MCP servers configured; add one with `skipjack mcp add NAME -- CMD ARGS…`")
        return 0
    data = data_dir(os.environ)
    manager = McpManager(chosen, cwd=cwd, data_dir=data, auth_for=lambda spec: auth_for(spec, data))
    began = time.monotonic()
    manager.start()
    try:
        # Until each server is up or has failed by its own timeout: the session's bound (the
        # longest timeout from the launch) can pass before a slow-to-load connection has timed
        # out, which would print it as still "starting" with no reason.
        longest = max(s.config.startup_timeout_s for s in chosen)
        await manager.wait_started(bound_s=longest + STARTUP_MARGIN_S)
        waited = time.monotonic() - began
        statuses = manager.statuses()
    finally:
        manager.close()
    if as_json:
        print(json.dumps([_status_json(s) for s in statuses], indent=1))
    else:
        for s in statuses:
            _print_status(s, detailed=only is not None)
        if only is not None:
            print(f"  waited {waited * 1000:.0f} ms in all (start, initialize, list)")
    return 0 if all(s.state in ("ready", "disabled") for s in statuses) else 1


def _status_json(s: Any) -> dict[str, Any]:
    return {
        "name": s.name,
        "kind": s.kind,
        "source": s.source,
        "state": s.state,
        "error": s.error,
        "tools": s.tools,
        "start_seconds": s.start_seconds,
        "warnings": s.warnings,
        "prompts": [p.name for p in s.prompts],
        "resources": [str(r.uri) for r in s.resources],
    }


def _print_status(s: Any, *, detailed: bool) -> None:
    timing = f" in {s.start_seconds * 1000:.0f} ms" if s.start_seconds is not None else ""
    print(f"{s.name}  [{s.kind}, {s.source}]  {s.state}{timing}")
    if s.error:
        print(f"  error: {s.error}")
    for warning in s.warnings:
        print(f"  warning: {warning}")
    if s.tools:
        shown = s.tools if detailed else s.tools[:8]
        more = "" if len(shown) == len(s.tools) else f" … ({len(s.tools)} in all)"
        print(f"  tools: {', '.join(shown)}{more}")
    if detailed and s.prompts:
        print(f"  prompts: {', '.join('/' + p.name for p in s.prompts)}")
    if detailed and s.resources:
        print(f"  resources: {', '.join(str(r.uri) for r in s.resources)}")
