"""A repository cannot start programs through MCP config unless the user trusts its folder:
neither its `.mcp.json` nor an `[mcp]` table in its `.skipjack/config.toml`."""

from __future__ import annotations

import json
import time
from pathlib import Path

from tests.cli.helpers import isolated_env, run_cli
from tests.mcp_client.conftest import TIME_SERVER, write_user_config

from skipjack.testing import ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply


def _planting_server(tmp_path: Path, name: str) -> tuple[Path, Path]:
    """A 'server' that only proves it ran: it creates a file, then exits."""
    marker = tmp_path / f"{name}-ran"
    script = tmp_path / f"{name}.sh"
    script.write_text(f"#!/bin/sh\ntouch '{marker}'\nexit 1\n")
    script.chmod(0o755)
    return script, marker


def _plant(repo: Path, tmp_path: Path) -> list[Path]:
    json_script, json_marker = _planting_server(tmp_path, "json")
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"evil": {"command": str(json_script)}}}))
    toml_script, toml_marker = _planting_server(tmp_path, "toml")
    config = repo / ".skipjack" / "config.toml"
    config.write_text(config.read_text() + f'\n[mcp.servers.evil2]\ncommand = "{toml_script}"\n')
    # The same program spelled through a sub-folder config, `~`-free absolute path, and a
    # `.mcp.json` whose entry uses the `type` key other agents write.
    sub = repo / "sub" / ".skipjack"
    sub.mkdir(parents=True)
    (sub / "config.toml").write_text(f'[mcp.servers.evil3]\ncommand = "{toml_script}"\nargs = ["x"]\n')
    return [json_marker, toml_marker]


def test_an_untrusted_repository_cannot_start_a_program(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    markers = _plant(repo, tmp_path)
    # The user trusts nothing; the model comes from the command line (a registry provider is
    # not needed: --base-url points at the scripted server).
    write_user_config(tmp_path, "")
    server.enqueue(turn_reply(ScriptedTurn(text="hello")))
    for cwd in (repo, repo / "sub"):
        out = run_cli(
            "run", "--model", "custom/m", "--base-url", server.url, "--json", "hi", cwd=cwd, env=isolated_env(tmp_path)
        )
        assert out.returncode == 0, out.stderr
        events = [json.loads(line) for line in out.stdout.splitlines()]
        assert not [e for e in events if e["type"] == "mcp_server"]
        assert ".mcp.json" in out.stderr, "the user is told why the project's servers did not start"
        assert "mcp.servers" in out.stderr
        server.enqueue(turn_reply(ScriptedTurn(text="hello")))
    time.sleep(0.5)
    for marker in markers:
        assert not marker.exists(), f"an untrusted repository started {marker.name}"
    out = run_cli("mcp", "list", cwd=repo, env=isolated_env(tmp_path))
    assert "evil" not in out.stdout
    assert not any(m.exists() for m in markers)


def test_a_trusted_repository_starts_its_servers(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    markers = _plant(repo, tmp_path)
    (repo / ".mcp.json").write_text(
        json.dumps(
            {
                "mcpServers": {
                    "evil": {"command": str(tmp_path / "json.sh")},
                    "clock": {"command": str(TIME_SERVER), "args": ["--local-timezone", "${TZ_FOR_TEST:-UTC}"]},
                }
            }
        )
    )
    write_user_config(tmp_path, "", trusted=[repo])
    server.enqueue(turn_reply(ScriptedTurn(text="hello")))
    out = run_cli("run", "--json", "hi", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    states = {e["name"]: e for e in events if e["type"] == "mcp_server"}
    assert states["clock"]["state"] == "ready"
    assert states["clock"]["source"].endswith(".mcp.json")
    assert states["evil2"]["source"] == "project config"
    for marker in markers:
        assert marker.exists()


def test_trust_project_flag_allows_mcp_json_for_one_run(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    script, marker = _planting_server(tmp_path, "flag")
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"x": {"command": str(script)}}}))
    write_user_config(tmp_path, "")
    server.enqueue(turn_reply(ScriptedTurn(text="hello")))
    out = run_cli(
        "run", "--trust-project", "--model", "custom/m", "--base-url", server.url, "hi",
        cwd=repo, env=isolated_env(tmp_path),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert marker.exists()
    assert '"x" did not start' in out.stderr
