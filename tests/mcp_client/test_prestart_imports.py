"""What a run has imported at the moment it spawns its MCP servers.

Every module loaded before the spawn delays every server by its import time (the servers
start in parallel with the rest of the session only once they are spawned), so the path from
launch to `mcp.prestart`'s spawn must load only what reading the config and spawning need:
not asyncio, the native stream core or the `llm` package (tens of ms), not the MCP SDK, not
the project instructions or the API keys, not the config writer.

The run is the real command line (`cli.main.main`, `run --json hi`) in a fresh interpreter.
Audit hooks note what was loaded at its first `subprocess.Popen`, which must be the configured
server's program, and every program started until prestart imports the MCP manager (which it
does right after spawning), then stop the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from tests.cli.helpers import isolated_env

HEAVY = (
    "asyncio",
    "skipjack._llm",
    "skipjack.llm",
    "skipjack.llm.types",
    "mcp",
    "anyio",
    "httpx",
    "pydantic",
    "skipjack.mcp.manager",
    "skipjack.config.instructions",
    "skipjack.config.keys",
    "skipjack.models",
    "skipjack.controller",
    "skipjack.tools",
    "tomli_w",
    "difflib",
    "json",
    "dataclasses",
)
"""Never loaded before the spawn (a user config with one stdio server, no project files)."""

ONLY_WITH_DEFAULT_DIRS = ("platformdirs", "tempfile")
"""Needed to find the config and data folders only when no `SKIPJACK_*_DIR` names them, and
not on Linux, where `skipjack.user_dirs` works the XDG folders out itself."""

DRIVER = textwrap.dedent(
    """
    import os, sys

    seen = {"spawned": [], "modules": None}

    def hook(event, args):
        if event == "subprocess.Popen":
            seen["spawned"].append([str(a) for a in args[1]])
            if seen["modules"] is None:
                seen["modules"] = sorted(sys.modules)
        elif event == "import" and args[0] == "skipjack.mcp.manager":
            import json  # here: at the top it would be among the modules loaded before the spawn

            with open(sys.argv[1], "w") as out:
                json.dump(seen, out)
            os._exit(0)

    sys.addaudithook(hook)
    from skipjack.cli.main import main

    main(["run", "--json", "hi"])
    """
)


def _run_to_spawn(tmp_path: Path, env: dict[str, str], cwd: Path) -> dict[str, Any]:
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    report = tmp_path / "at_spawn.json"
    done = subprocess.run(
        [sys.executable, str(driver), str(report)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert report.exists(), f"the run never started its servers (exit {done.returncode}): {done.stderr[-2000:]}"
    result: dict[str, Any] = json.loads(report.read_text())
    return result


def _config(folder: Path, marker: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.toml").write_text(
        'model = "scripted/m1"\n'
        '[providers.scripted]\nbase_url = "http://127.0.0.1:9/v1"\napi = "openai-chat"\n'
        "[providers.scripted.models.m1]\ncontext_window = 100000\n"
        f'[mcp.servers.t]\ncommand = "{marker}"\nargs = ["--flag"]\n'
    )


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH", "SYSTEMROOT")
    return {k: v for k, v in os.environ.items() if k in keep}


@pytest.mark.parametrize("dirs", ["named", "default"])
def test_the_run_spawns_its_server_before_any_heavy_import(tmp_path: Path, dirs: str) -> None:
    marker = tmp_path / "the server program"
    project = tmp_path / "project with space"
    project.mkdir()
    env = _base_env() | isolated_env(tmp_path)
    if dirs == "named":
        _config(tmp_path / "config", marker)
    else:
        # Found where platformdirs puts it: no SKIPJACK_CONFIG_DIR / SKIPJACK_DATA_DIR.
        del env["SKIPJACK_CONFIG_DIR"], env["SKIPJACK_DATA_DIR"]
        _config(tmp_path / "xdg-config" / "skipjack", marker)
    seen = _run_to_spawn(tmp_path, env, project)
    assert seen["spawned"] == [[str(marker), "--flag"]], "the configured server, and nothing before it"
    loaded = set(seen["modules"])
    assert {"skipjack.mcp.prestart", "skipjack.config.loader", "msgspec"} <= loaded
    heavy = HEAVY if dirs == "default" and sys.platform != "linux" else HEAVY + ONLY_WITH_DEFAULT_DIRS
    assert sorted(m for m in loaded if m in heavy or m.partition(".")[0] in heavy) == []


def test_an_untrusted_repository_spawns_nothing_on_the_lean_path(tmp_path: Path) -> None:
    """The shortcuts on the way to the spawn do not let a repository's own servers through."""
    marker = tmp_path / "user server"
    evil = tmp_path / "repo server"
    evil.write_text(f"#!/bin/sh\ntouch '{tmp_path}/pwned'\n")
    evil.chmod(0o755)
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {"evil": {"command": str(evil)}}}))
    (repo / ".skipjack").mkdir()
    (repo / ".skipjack" / "config.toml").write_text(f'[mcp.servers.evil2]\ncommand = "{evil}"\n')
    _config(tmp_path / "config", marker)
    env = _base_env() | isolated_env(tmp_path)
    seen = _run_to_spawn(tmp_path, env, repo)
    assert seen["spawned"] == [[str(marker), "--flag"]], "the user's server, not the repository's"
    assert not (tmp_path / "pwned").exists()
