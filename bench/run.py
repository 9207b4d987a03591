"""skipjack's stream path against its peers, side by side in one run; prints a markdown report.

    python bench/run.py                 # the whole suite, ~10 minutes on 2 cores
    python bench/run.py --quick         # 1k/10k only, 3 runs: a smoke test of the harness

Each figure comes from a fresh process per client and workload (`bench/clients.py`), served
by `bench/server.py` in its own process. Medians with min-max; ratios are peer / skipjack.
Thread wake-up costs depend on the machine's load, so compare figures from one run only.
The report goes to stdout and to bench/results/ (markdown and raw JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from report import Cell, Report, cell, median_ms

HERE = Path(__file__).resolve().parent
PY = sys.executable
TUNACODE = HERE.parent / ".cache" / "tunacode-venv" / "bin" / "tunacode"
# 2 s per stream at 50 events/s: long enough for a stable per-event figure, short enough
# that 5 runs of every client fit the cell's budget.
PACED50_EVENTS = 100
CLIENTS = ["skipjack", "skipjack-responses", "tinyagent", "openai", "httpx", "socket", "curl"]
LABELS = {
    "skipjack": "skipjack `llm.stream`",
    "skipjack-responses": "skipjack `llm.stream`, Responses API",
    "tinyagent": "tinyAgent Rust binding",
    "openai": "`openai` SDK (async)",
    "httpx": "httpx + `json.loads`",
    "socket": "socket + orjson (floor)",
    "curl": "`curl -N`",
}


class Bench:
    def __init__(self, runs: int, budget: float, timeout: float) -> None:
        self.runs = runs
        self.budget = budget
        self.timeout = timeout
        self.server = subprocess.Popen(
            [PY, str(HERE / "server.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.server.stdout is not None
        self.port = int(self.server.stdout.readline())
        self.root = f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        if self.server.stdin is not None:
            self.server.stdin.close()
        self.server.wait(10)

    def stats(self, token: str) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.root}/stats/{token}") as r:
            result: dict[str, Any] = json.loads(r.read())
            return result

    def client(self, client: str, mode: str, workload: str, **extra: Any) -> dict[str, Any] | str:
        """Run one client process; its JSON, or why it gave none."""
        token = uuid.uuid4().hex[:12]
        kind, n = [*workload.split("-"), "1000"][:2] if workload != "stall" else ("text", "1")
        cmd = [PY, str(HERE / "clients.py"), client, mode, "--kind", kind, "--n", n]
        runs = extra.pop("runs", self.runs)
        cmd += ["--runs", str(runs), "--budget", str(self.budget)]
        if mode == "cancel":
            cmd += ["--base", f"{self.root}/stall/{token}", "--stats", f"{self.root}/stats", "--token", token]
        else:
            cmd += ["--base", f"{self.root}/{workload}/{token}/v1"]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired:
            return f"> {self.timeout:.0f} s"
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["?"])[-1]
            return f"failed: {tail[:60]}"
        out: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        out["token"] = token
        out["wanted"] = runs
        return out

    def server_cpu(self) -> float:
        with open(f"/proc/{self.server.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def per_event_us(out: dict[str, Any] | str, n: int, key: str = "cpu") -> Cell:
    if isinstance(out, str):
        return out
    return cell([r[key] / n * 1e6 for r in out["runs"]], runs=len(out["runs"]), wanted=out["wanted"])


def rate(out: dict[str, Any] | str, n: int) -> Cell:
    if isinstance(out, str):
        return out
    return cell([n / r["wall"] / 1000 for r in out["runs"]], runs=len(out["runs"]), wanted=out["wanted"])


def check_server(b: Bench, report: Report) -> None:
    """The server must outrun every client: time curl draining 100k events, and the server's CPU."""
    url = f"{b.root}/text-100000-burst/server-check/v1/chat/completions"
    cmd = ["curl", "-sN", "-o", "/dev/null", "-d", "{}", url]
    walls, server_us = [], []
    for _ in range(5):
        cpu0, t0 = b.server_cpu(), time.monotonic()
        subprocess.run(cmd, check=True)
        walls.append(time.monotonic() - t0)
        server_us.append((b.server_cpu() - cpu0) / 100_000 * 1e6)
    paced = []
    for _ in range(3):
        t0 = time.monotonic()
        subprocess.run(["curl", "-sN", "-o", "/dev/null", "-d", "{}", url.replace("100000-burst", "1000-paced")])
        paced.append(time.monotonic() - t0)
    report.server = {
        "curl_100k_events_per_s": cell([100_000 / w / 1000 for w in walls]),
        "server_cpu_us_per_event": cell(server_us),
        "paced_1000_wall_s": cell(paced, digits=3),
    }


def startup(report: Report) -> None:
    bindir = Path(PY).parent
    commands = {
        "`python -c pass` (floor)": [PY, "-c", "pass"],
        "`skipjack --version`": [str(bindir / "skipjack"), "--version"],
        "`tunacode --version`": [str(TUNACODE if TUNACODE.exists() else bindir / "tunacode"), "--version"],
    }
    for label, cmd in commands.items():
        if not Path(cmd[0]).exists():
            report.startup[label] = "not installed"
            continue
        subprocess.run(cmd, capture_output=True, check=False)  # warm the file cache
        walls = []
        for _ in range(10):
            t0 = time.monotonic()
            subprocess.run(cmd, capture_output=True, check=False)
            walls.append((time.monotonic() - t0) * 1000)
        report.startup[label] = cell(walls, digits=0)


def isolated_env(home: Path) -> dict[str, str]:
    """The environment with config, data and sessions in `home`, away from the user's own."""
    dirs = {k: str(home / k.lower()) for k in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")}
    return {**os.environ, "HOME": str(home), "SKIPJACK_CONFIG_DIR": str(home / "config"), **dirs}


def run_startup_to_request(b: Bench, report: Report) -> None:
    """`skipjack run` from process start to its first request reaching the server."""
    exe = Path(PY).parent / "skipjack"
    if not exe.exists():
        report.startup["`skipjack run` → first request"] = "not installed"
        return
    probe = subprocess.run([str(exe), "run", "--help"], capture_output=True, text=True, check=False)
    if probe.returncode != 0 or "--base-url" not in probe.stdout:
        report.startup["`skipjack run` → first request"] = "pending: `skipjack run` not available"
        return
    walls = []
    home = Path(tempfile.mkdtemp(prefix="skipjack-bench-"))
    for _ in range(5):
        token = uuid.uuid4().hex[:12]
        base = f"{b.root}/text-10-burst/{token}/v1"
        t0 = time.monotonic()
        subprocess.run(
            [str(exe), "run", "--base-url", base, "--model", "bench", "--api", "openai-chat", "say hi"],
            capture_output=True,
            timeout=60,
            check=False,
            env=isolated_env(home),
        )
        first = b.stats(token)["first_request"]
        if first is None:
            report.startup["`skipjack run` → first request"] = "failed: no request reached the server"
            return
        walls.append((first - t0) * 1000)
    report.startup["`skipjack run` → first request"] = cell(walls, digits=0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--quick", action="store_true", help="1k and 10k only, 3 runs")
    p.add_argument("--budget", type=float, default=30.0, help="seconds per cell before fewer runs are taken")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds before a client process is abandoned")
    p.add_argument("--clients", default=",".join(CLIENTS))
    args = p.parse_args()
    clients = args.clients.split(",")
    sizes = [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000]
    runs = 3 if args.quick else args.runs
    if shutil.which("curl") is None and "curl" in clients:
        clients.remove("curl")

    b = Bench(runs, args.budget, args.timeout)
    report = Report(clients=clients, labels=LABELS, runs=runs, largest=sizes[-1])
    report.machine = f"{platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at start"
    started = time.monotonic()
    try:
        check_server(b, report)
        for kind in ("text", "tool"):
            for n in sizes:
                workload = f"{kind}-{n}-burst"
                for c in clients:
                    out = b.client(c, "stream", workload)
                    report.raw[f"{c} {workload}"] = out
                    report.cpu[workload][c] = per_event_us(out, n)
                    report.rate[workload][c] = rate(out, n)
                    if isinstance(out, dict) and n == sizes[-1] and kind == "text":
                        growth = out.get("rss_growth_mib")
                        report.memory[c] = f"{growth:.1f}" if growth is not None else f"{out['peak_rss_mib']:.0f} peak"
                    if isinstance(out, dict) and n == 1_000 and kind == "text":
                        report.ttfd_fresh[c] = f"{out['fresh_ttfd'] * 1000:.1f}"
                        report.ttfd_warm[c] = median_ms(out["runs"], "ttfd")
                print(f"  {workload} done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        for kind in ("text", "tool"):
            workload = f"{kind}-1000-paced"
            for c in clients:
                out = b.client(c, "stream", workload)
                report.raw[f"{c} {workload}"] = out
                report.cpu[workload][c] = per_event_us(out, 1000)
            print(f"  {workload} done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        for kind in ("text", "tool"):
            workload = f"{kind}-{PACED50_EVENTS}-paced50"
            for c in clients:
                out = b.client(c, "stream", workload)
                report.raw[f"{c} {workload}"] = out
                report.cpu[workload][c] = per_event_us(out, PACED50_EVENTS)
            print(f"  {workload} done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        for c in clients:
            out = b.client(c, "connections", "text-1000-burst")
            report.connections[c] = out if isinstance(out, str) else str(b.stats(out["token"])["connections"])
            out = b.client(c, "cancel", "stall")
            report.raw[f"{c} cancel"] = out
            if isinstance(out, str):
                report.cancel[c] = out
            elif None in out["cancel_ms"]:
                report.cancel[c] = "socket left open"
            else:
                report.cancel[c] = cell(out["cancel_ms"], digits=2)
            out = b.client(c, "concurrent", "text-1000-paced", runs=min(runs, 5))
            report.raw[f"{c} concurrent"] = out
            if isinstance(out, str):
                report.concurrent[c] = (out, out)
            else:
                report.concurrent[c] = (
                    cell([r["wall"] for r in out["runs"]], digits=2),
                    per_event_us(out, 64 * 1000),
                )
        print(f"  connections, cancel, concurrency done ({time.monotonic() - started:.0f} s)", file=sys.stderr)
        startup(report)
        run_startup_to_request(b, report)
    finally:
        b.close()
    report.machine += f", {os.getloadavg()[0]:.2f} at end; {time.monotonic() - started:.0f} s in all"
    text = report.markdown()
    print(text)
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    (out_dir / "latest.md").write_text(text)
    (out_dir / "latest.json").write_text(json.dumps(report.raw, indent=1))


if __name__ == "__main__":
    main()
