"""Startup with MCP servers: launch → first model request, against the slowest server's own
start → tools-listed time.

    PYTHONPATH=python .venv/bin/python bench/mcp_startup.py [--runs N]

Configures `mcp-server-time`, `mcp-server-git` and the Streamable HTTP test server
(`tests/mcp_client/http_server.py`, already listening), and runs `skipjack run --json hi`
against the scripted loopback model N times. Reports medians of:

- each server's own start → tools listed, measured alone in this process with the SDK already
  loaded (spawn, initialize, list tools; nothing else running): the figure to beat;
- launch → first request without servers (skipjack's own start) and with the three;
- within each run (the session's trace, `SKIPJACK_MCP_TRACE`, on the same monotonic clock as
  this process): launch → servers spawned, the SDK's import, each server's tools listed, and the
  first request after the last of them. The order of these events does not depend on how loaded
  the machine is; the durations do (2 cores shared with others: everything starts at once).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mcp import ClientSession, StdioServerParameters  # noqa: E402
from mcp.client.stdio import stdio_client  # noqa: E402
from mcp.client.streamable_http import streamable_http_client  # noqa: E402
from tests.mcp_client.conftest import GIT_SERVER, TIME_SERVER, start_http_server  # noqa: E402

from skipjack.testing import ScriptedTurn, SSEServer  # noqa: E402
from skipjack.testing.scripted import turn_reply  # noqa: E402

SKIPJACK = Path(sys.executable).parent / "skipjack"


async def _alone(params: StdioServerParameters | None, url: str | None) -> float:
    began = time.monotonic()
    if params is not None:
        transport = stdio_client(params, errlog=sys.stderr)
    else:
        assert url is not None
        transport = streamable_http_client(url)
    async with transport as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        await session.list_tools()
        return time.monotonic() - began


def children_cpu() -> float:
    """CPU seconds (user + system) of the processes this one has waited for, and theirs."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def server_alone(repo: Path, http_url: str) -> dict[str, float]:
    """Each server's own start → tools listed, one at a time, the SDK already imported;
    `cpu`: the two stdio servers' CPU seconds."""
    cpu = children_cpu()
    out = {
        "time": asyncio.run(_alone(StdioServerParameters(command=str(TIME_SERVER)), None)),
        "git": asyncio.run(
            _alone(StdioServerParameters(command=str(GIT_SERVER), args=["--repository", str(repo)]), None)
        ),
        "web": asyncio.run(_alone(None, http_url)),
    }
    out["cpu"] = children_cpu() - cpu
    return out


def one_run(tmp: Path, server: SSEServer, *, with_mcp: bool, http_url: str) -> dict[str, float]:
    """Times (s) from launch: `request`, and with servers the session's trace steps."""
    repo = tmp / "repo"
    config = tmp / "config" / "config.toml"
    trace = tmp / "trace"
    trace.unlink(missing_ok=True)
    body = f'model = "scripted/m1"\n[providers.scripted]\nbase_url = "{server.url}"\napi = "openai-chat"\n'
    body += "[providers.scripted.models.m1]\ncontext_window = 100000\n"
    if with_mcp:
        body += f'[mcp.servers.time]\ncommand = "{TIME_SERVER}"\n'
        body += f'[mcp.servers.git]\ncommand = "{GIT_SERVER}"\nargs = ["--repository", "{repo}"]\n'
        body += f'[mcp.servers.web]\nurl = "{http_url}"\n'
    config.write_text(body)
    server.clear()
    server.enqueue(turn_reply(ScriptedTurn(text="hi")))
    env = {
        **os.environ,
        "SKIPJACK_CONFIG_DIR": str(config.parent),
        "SKIPJACK_DATA_DIR": str(tmp / "data"),
        "SKIPJACK_MCP_TRACE": str(trace),
    }
    seen = len(server.requests)
    cpu = children_cpu()
    began = time.monotonic()
    proc = subprocess.Popen(
        [str(SKIPJACK), "run", "--json", "hi"], cwd=repo, env=env, stdout=subprocess.PIPE, text=True
    )
    while len(server.requests) == seen and proc.poll() is None:
        time.sleep(0.0005)
    out: dict[str, float] = {"request": time.monotonic() - began}
    stdout, _ = proc.communicate(timeout=120)
    # skipjack reaps its servers before it exits, so their CPU time is counted in its own.
    out["cpu"] = children_cpu() - cpu
    for line in stdout.splitlines():
        event = json.loads(line)
        if event.get("type") == "mcp_server" and event.get("state") != "ready":
            raise SystemExit(f"server {event.get('name')} did not start: {event.get('error')}")
    if trace.exists():
        for line in trace.read_text().splitlines():
            at, what = line.split(" ", 1)
            out[what] = float(at) - began
    return out


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:6.0f} ms" if values else "     - "


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
            alone = [server_alone(tmp / "repo", http.url) for _ in range(runs)]
            base = [one_run(tmp, server, with_mcp=False, http_url=http.url) for _ in range(runs)]
            full = [one_run(tmp, server, with_mcp=True, http_url=http.url) for _ in range(runs)]
        finally:
            http.proc.kill()
    slowest_alone = [max(v for k, v in a.items() if k != "cpu") for a in alone]
    print(f"runs: {runs} of each; medians; times from launch unless said otherwise")
    for name in ("time", "git", "web"):
        print(f"  {name} server alone, start → tools listed:        {ms([a[name] for a in alone])}")
    print(f"  slowest server alone (the figure to beat):        {ms(slowest_alone)}")
    print(f"launch → first request, no MCP servers:             {ms([b['request'] for b in base])}")
    print(f"launch → first request, 3 MCP servers:              {ms([f['request'] for f in full])}")
    minus = [f["request"] - s for f, s in zip(full, slowest_alone, strict=True)]
    print(f"  minus the slowest server alone:                   {ms(minus)}")
    # Against the slowest stdio server's own start in the same run, slowed as much as the rest of it.
    own = [
        f["request"] - max(f[f"{n} ready"] - f[f"spawned {n}"] for n in ("time", "git"))
        for f in full
        if all(f"{n} ready" in f and f"spawned {n}" in f for n in ("time", "git"))
    ]
    print(f"  minus the slowest stdio server's own spawn → tools listed, same run: {ms(own)}")
    print("order of events in the session (median time from launch):")
    steps = sorted(
        {k for f in full for k in f if k not in ("request", "cpu")},
        key=lambda k: statistics.median(f[k] for f in full if k in f),
    )
    for step in [*steps, "request"]:
        print(f"  {step:<44} {ms([f[step] for f in full if step in f])}")
    ready = [max(v for k, v in f.items() if k.endswith(" ready")) for f in full if any(k.endswith(" ready") for k in f)]
    gaps = [f["request"] - r for f, r in zip(full, ready, strict=False)]
    print(f"last server ready → first request (same run):       {ms(gaps)}")
    spawned = [f["spawned git"] - f["MCP start"] for f in full if "spawned git" in f]
    print(f"session's MCP start → both programs spawned:        {ms(spawned)}")
    print("CPU time (user + system; the wall time cannot be below it divided by the cores):")
    print(f"  skipjack alone, launch → exit:                    {ms([b['cpu'] for b in base])}")
    print(f"  the two stdio servers alone, start → listed:      {ms([a['cpu'] for a in alone])}")
    print(f"  skipjack with the 3 servers, launch → exit:       {ms([f['cpu'] for f in full])}")
    cores = os.cpu_count() or 1
    print(f"  … spread over this machine's {cores} cores at best: {ms([f['cpu'] / cores for f in full])}")
    order_ok = sum(1 for f in full if f.get("spawned git", 1e9) < f.get("SDK import begins", 0))
    print(f"runs in which the programs were spawned before the SDK import began: {order_ok}/{len(full)}")


if __name__ == "__main__":
    main()
