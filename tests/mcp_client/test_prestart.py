"""The command line starts the session's servers before the session's own start, and the
session adopts them only when they are exactly the servers it would start itself."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tests.cli.helpers import isolated_env, run_cli
from tests.mcp_client.conftest import write_user_config

from skipjack.mcp import prestart
from skipjack.mcp.specs import ServerSpec
from skipjack.testing import ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

HOSTILE = Path(__file__).with_name("hostile_server.py")


def _config(tmp_path: Path, server: SSEServer, extra: str = "") -> None:
    write_user_config(
        tmp_path,
        f'model = "scripted/m1"\n[providers.scripted]\nbase_url = "{server.url}"\napi = "openai-chat"\n'
        "[providers.scripted.models.m1]\ncontext_window = 100000\n"
        f'[mcp.servers.g]\ncommand = "{sys.executable}"\nargs = ["{HOSTILE}", "garbage"]\n{extra}',
    )


def _trace(path: Path) -> list[str]:
    return [line.split(" ", 1)[1] for line in path.read_text().splitlines()]


def test_run_starts_its_servers_once_and_first(tmp_path: Path, server: SSEServer) -> None:
    _config(tmp_path, server)
    project = tmp_path / "project"
    project.mkdir()
    trace = tmp_path / "trace"
    server.enqueue(turn_reply(ScriptedTurn(text="hello")))
    env = isolated_env(tmp_path) | {"SKIPJACK_MCP_TRACE": str(trace)}
    out = run_cli("run", "--json", "hi", cwd=project, env=env)
    assert out.returncode == 0, out.stderr
    states = [e for e in map(json.loads, out.stdout.splitlines()) if e["type"] == "mcp_server"]
    assert [(e["name"], e["state"]) for e in states] == [("g", "ready")]
    steps = _trace(trace)
    # One start (the session adopted the command line's), the program spawned before the SDK
    # began to load, and the server ready before the request went out.
    assert steps.count("MCP start") == 1, steps
    assert steps.index("spawned g") < steps.index("SDK import begins") < steps.index("g ready"), steps
    assert len(server.requests) == 1


def test_adopt_takes_only_the_same_servers(tmp_path: Path, server: SSEServer) -> None:
    _config(tmp_path, server)
    env = isolated_env(tmp_path)
    project = tmp_path / "project"
    project.mkdir()
    prestart.prestart(project, env, trust_project=False)
    early = prestart._early
    assert early is not None
    try:
        assert prestart.adopt(early.specs, tmp_path) is None, "another folder: not adopted"
        assert early._loop is None, "and the early servers were stopped"
        assert prestart.adopt(early.specs, project) is None, "taken once only"
        prestart.prestart(project, env, trust_project=False)
        again = prestart._early
        assert again is not None
        other = [ServerSpec("g", again.specs[0].config, "user config"), *again.specs]
        assert prestart.adopt(other, project) is None, "other servers: not adopted"
        prestart.prestart(project, env, trust_project=False)
        third = prestart._early
        assert third is not None
        assert prestart.adopt(list(third.specs), project) is third
        third.close()
    finally:
        early.close()


def test_nothing_starts_early_without_servers_or_for_a_broken_config(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    env = isolated_env(tmp_path)
    prestart.prestart(project, env, trust_project=False)
    assert prestart._early is None
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text("[mcp.servers.x\ncommand = 'true'\n")
    prestart.prestart(project, env, trust_project=False)  # the session reports the error
    assert prestart._early is None
