"""Startup with MCP servers: launch → first model request, against the slowest server's own
start → tools-listed time (`mcp_server` events carry it).

    PYTHONPATH=python .venv/bin/python bench/mcp_startup.py [--runs N]

Configures `mcp-server-time`, `mcp-server-git` and the Streamable HTTP test server
(`tests/mcp_client/http_server.py`), runs `skipjack run --json hi` against the scripted
loopback model N times, and prints the medians, with a baseline run without servers.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.mcp_client.conftest import GIT_SERVER, TIME_SERVER, start_http_server  # noqa: E402

from skipjack.testing import ScriptedTurn, SSEServer  # noqa: E402
from skipjack.testing.scripted import turn_reply  # noqa: E402

SKIPJACK = Path(sys.executable).parent / "skipjack"


def one_run(tmp: Path, server: SSEServer, *, with_mcp: bool, http_url: str) -> tuple[float, float | None]:
    repo = tmp / "repo"
    config = tmp / "config" / "config.toml"
    body = f'model = "scripted/m1"\n[providers.scripted]\nbase_url = "{server.url}"\napi = "openai-chat"\n'
    body += "[providers.scripted.models.m1]\ncontext_window = 100000\n"
    if with_mcp:
        body += f'[mcp.servers.time]\ncommand = "{TIME_SERVER}"\n'
        body += f'[mcp.servers.git]\ncommand = "{GIT_SERVER}"\nargs = ["--repository", "{repo}"]\n'
        body += f'[mcp.servers.web]\nurl = "{http_url}"\n'
    config.write_text(body)
    server.clear()
    server.enqueue(turn_reply(ScriptedTurn(text="hi")))
    env = {**os.environ, "SKIPJACK_CONFIG_DIR": str(config.parent), "SKIPJACK_DATA_DIR": str(tmp / "data")}
    seen = len(server.requests)
    began = time.monotonic()
    proc = subprocess.Popen(
        [str(SKIPJACK), "run", "--json", "hi"], cwd=repo, env=env, stdout=subprocess.PIPE, text=True
    )
    while len(server.requests) == seen and proc.poll() is None:
        time.sleep(0.001)
    first_request = time.monotonic() - began
    out, _ = proc.communicate(timeout=120)
    starts = [json.loads(line).get("start_seconds") for line in out.splitlines() if '"mcp_server"' in line]
    slowest = max((s for s in starts if s is not None), default=None)
    return first_request, slowest


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as d, SSEServer() as server:
        tmp = Path(d)
        (tmp / "config").mkdir()
        (tmp / "repo").mkdir()
        subprocess.run(["git", "init", "-q", str(tmp / "repo")], check=True)
        http = start_http_server(tmp)
        try:
            base = [one_run(tmp, server, with_mcp=False, http_url=http.url)[0] for _ in range(runs)]
            pairs = [one_run(tmp, server, with_mcp=True, http_url=http.url) for _ in range(runs)]
        finally:
            http.proc.kill()
    with_mcp = [p[0] for p in pairs]
    slowest = [p[1] for p in pairs if p[1] is not None]
    gaps = [p[0] - p[1] for p in pairs if p[1] is not None]
    print(f"runs: {runs} each")
    print(f"launch → first request, no MCP servers:     median {statistics.median(base) * 1000:.0f} ms")
    print(f"launch → first request, 3 MCP servers:      median {statistics.median(with_mcp) * 1000:.0f} ms")
    print(f"slowest server's start → tools listed:      median {statistics.median(slowest) * 1000:.0f} ms")
    print(f"first request - slowest server's own start: median {statistics.median(gaps) * 1000:.0f} ms")
    baseline = statistics.median(base) * 1000
    print(f"  (the part of startup before the servers are spawned: no-MCP baseline {baseline:.0f} ms)")


if __name__ == "__main__":
    main()
