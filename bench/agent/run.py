"""The agent benchmark: every agent on the same scripted task against one loopback server.

    python bench/agent/run.py               # the full run (`make bench-agent`)
    python bench/agent/run.py --quick       # 1 run, a few turns: a smoke test of the harness
    python bench/agent/run.py --agents skipjack --runs 3

Writes `bench/agent/results/latest.md` and `latest.json` (every run's raw figures). Agents take
turns within each round of runs, so a change in the machine's load falls on all of them alike.
The method is in `bench/agent/README.md`.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE.parent.parent) not in sys.path:
    sys.path.insert(0, str(HERE.parent.parent))

from bench.agent import agents as agent_defs  # noqa: E402
from bench.agent import measure, script  # noqa: E402

RESULTS = HERE / "results"


# -- the server ------------------------------------------------------------------------


class Server:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "server.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())
        self.root = f"http://127.0.0.1:{self.port}"

    def base(self, fmt: str, variant: str, turns: int, token: str) -> str:
        return f"{self.root}/{fmt}/{variant}/{turns}/{token}/v1"

    def log(self, token: str) -> list[dict[str, Any]]:
        with urllib.request.urlopen(f"{self.root}/log/{token}", timeout=10) as r:
            result: list[dict[str, Any]] = json.load(r)
            return result

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


# -- the tools' own run time -------------------------------------------------------------


def tool_baselines(work: Path) -> dict[str, float]:
    """Median seconds of each kind of tool work done directly, to subtract from the gaps.

    `read`: open and read the small file in Python; `bash`: spawn `bash -c 'true && echo ran-01'`
    and wait for it; `sh`: the same through `subprocess.run(..., shell=True)` (/bin/sh, as
    mini-swe-agent runs its commands); `sh-read`: `cat` of the small file that way; `edit`: read
    the notes file and write it back (aider applies its edits so).
    """
    script.prepare_workspace(work, 2)
    f = work / script.read_file_name(0)
    notes = work / "notes.txt"

    def timed(fn: Any, n: int) -> float:
        walls = []
        for _ in range(n):
            t = time.perf_counter()
            fn()
            walls.append(time.perf_counter() - t)
        return statistics.median(walls)

    cmd = script.shell_command(1)
    return {
        "read": timed(f.read_bytes, 200),
        "bash": timed(lambda: subprocess.run(["bash", "-c", cmd], capture_output=True, check=True), 30),
        "sh": timed(lambda: subprocess.run(cmd, shell=True, capture_output=True, check=True), 30),
        "sh-read": timed(
            lambda: subprocess.run(f"cat {f.name}", shell=True, cwd=work, capture_output=True, check=True), 30
        ),
        "edit": timed(lambda: notes.write_text(notes.read_text()), 200),
    }


def turn_kinds(fmt: str, turns: int) -> list[str]:
    """The baseline (`tool_baselines`) that matches each turn's tool work for this agent."""
    if fmt == "aider":
        return ["edit"] * turns
    if fmt.partition("-")[2] in script.SHELL_READS:
        return ["sh-read" if kind == "read" else "sh" for kind in script.tool_kinds(turns)]
    return script.tool_kinds(turns)


# -- one run ---------------------------------------------------------------------------


@dataclass
class RunFigures:
    agent: str
    variant: str
    turns: int
    ok: bool
    problems: list[str] = field(default_factory=list)
    first_request_ms: float | None = None
    overhead_ms: list[float] = field(default_factory=list)
    gaps_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    wall_s: float = 0.0
    peak_pss_tree_mb: float = 0.0
    max_rss_single_mb: float = 0.0
    requests: int = 0
    request_bytes: list[int] = field(default_factory=list)
    prefix_kept: list[bool] = field(default_factory=list)
    common_prefix: list[int] = field(default_factory=list)
    agent_cost: float | None = None
    expected_cost: float = 0.0


def expected_cost(log: list[dict[str, Any]]) -> float:
    """Prices x the tokens the server reported, summed over the run's requests."""
    return sum(
        e["usage"]["prompt_tokens"] * script.PRICE_INPUT / 1e6
        + e["usage"]["completion_tokens"] * script.PRICE_OUTPUT / 1e6
        for e in log
        if "usage" in e
    )


def one_run(
    server: Server, agent: agent_defs.Agent, variant: str, turns: int, baselines: dict[str, float], keep: Path | None
) -> RunFigures:
    token = uuid.uuid4().hex[:12]
    tmp = Path(tempfile.mkdtemp(prefix=f"agentbench-{agent.name}-"))
    work, home = tmp / "work", tmp / "home"
    script.prepare_workspace(work, turns)
    home.mkdir()
    launch = agent.launch(
        server.base(agent.fmt, variant, turns, token), work, home, turns, script.prompt(agent.fmt, turns)
    )
    out, err = tmp / "stdout", tmp / "stderr"
    timeout = 60 + turns * (8 if variant == "paced" else 3)
    fin = measure.run(launch.argv, cwd=work, env=launch.env, stdout=out, stderr=err, timeout=timeout)
    log = server.log(token)  # the server waits for the last reply's end to be stamped
    fig = RunFigures(agent.name, variant, turns, ok=True)
    fig.cpu_s = fin.cpu
    fig.wall_s = fin.wall
    fig.peak_pss_tree_mb = fin.peak_pss_tree / 2**20
    fig.max_rss_single_mb = fin.max_rss_single / 2**20
    fig.requests = len(log)
    fig.expected_cost = expected_cost(log)
    try:
        fig.agent_cost = agent.cost(out, work, home)
    except (OSError, ValueError, KeyError) as e:
        fig.problems.append(f"cost unreadable: {e}")

    problems = fig.problems
    if fin.timed_out:
        problems.append(f"timed out after {timeout} s")
    if fin.exit_code != 0:
        problems.append(f"exit code {fin.exit_code}")
    answered = [e["turn"] for e in log]
    if answered != list(range(turns + 1)):
        problems.append(f"turns answered {answered[:8]}{'…' if len(answered) > 8 else ''}, want 0..{turns}")
    bad = [e["turn"] for e in log if not e["result_ok"]]
    if bad:
        problems.append(f"wrong or missing tool result before turn(s) {bad[:5]}")
    if any("error" in e for e in log):
        problems.append("; ".join(sorted({e["error"] for e in log if "error" in e})))
    if not agent.completed(out, work, turns):
        problems.append("the agent's own outcome is wrong (see its check in agents.py)")
    fig.ok = not problems

    if log:
        fig.first_request_ms = (log[0]["arrival"] - fin.started) * 1000
        kinds = turn_kinds(agent.fmt, turns)
        for prev, cur in itertools.pairwise(log):
            gap = cur["arrival"] - prev["end"]
            k = prev["turn"]
            tool = baselines[kinds[k]] if k < len(kinds) else 0.0
            fig.gaps_ms.append(gap * 1000)
            fig.overhead_ms.append((gap - tool) * 1000)
        fig.request_bytes = [e["bytes"] for e in log]
        fig.prefix_kept = [bool(e["messages_prefix_kept"]) for e in log[1:]]
        fig.common_prefix = [e["common_prefix"] for e in log[1:]]
    if keep is not None and not fig.ok:
        dest = keep / f"{agent.name}-{variant}-{token}"
        shutil.copytree(tmp, dest, dirs_exist_ok=True, ignore_dangling_symlinks=True)
        fig.problems.append(f"files kept in {dest}")
    shutil.rmtree(tmp, ignore_errors=True)
    return fig


# -- the report -------------------------------------------------------------------------


def cell(values: list[float], digits: int = 1) -> str:
    if not values:
        return "-"
    med = statistics.median(values)
    if len(values) == 1 or f"{min(values):.{digits}f}" == f"{max(values):.{digits}f}":
        return f"{med:.{digits}f}"
    return f"{med:.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def summarise(runs: list[RunFigures]) -> dict[str, str]:
    good = [r for r in runs if r.ok]
    if not good:
        return {"status": "no complete run: " + " | ".join(sorted({p for r in runs for p in r.problems}))[:300]}
    pairs = [k for r in good for k in r.prefix_kept]
    growth = [(r.request_bytes[-1] - r.request_bytes[0]) / max(1, len(r.request_bytes) - 1) for r in good]
    costs = [r.agent_cost for r in good if r.agent_cost is not None]
    return {
        "status": f"{len(good)}/{len(runs)} runs complete",
        "first_request_ms": cell([r.first_request_ms for r in good if r.first_request_ms is not None], 0),
        "overhead_ms": cell([statistics.median(r.overhead_ms) for r in good if r.overhead_ms], 2),
        "cpu_s": cell([r.cpu_s for r in good], 2),
        "peak_pss_tree_mb": cell([r.peak_pss_tree_mb for r in good], 0),
        "max_rss_single_mb": cell([r.max_rss_single_mb for r in good], 0),
        "first_bytes": cell([float(r.request_bytes[0]) for r in good], 0),
        "last_bytes": cell([float(r.request_bytes[-1]) for r in good], 0),
        "growth_bytes": cell(growth, 0),
        "prefix_share": f"{100 * sum(pairs) / len(pairs):.0f}% ({sum(pairs)}/{len(pairs)})" if pairs else "-",
        "agent_cost": cell(costs, 5) if costs else "not reported",
        "expected_cost": cell([r.expected_cost for r in good], 5),
    }


def render(meta: dict[str, Any], table: dict[str, dict[str, dict[str, str]]]) -> str:
    lines = [
        "# Agent benchmark: results",
        "",
        f"{meta['date']} · {meta['machine']} · load (1/5/15 min) {meta['load_start']} at start, "
        f"{meta['load_end']} at end · {meta['seconds']:.0f} s in all.",
        "",
        "What ran: "
        + "; ".join(
            f"{v}: {c['turns']} tool turns + a final answer, {c['runs']} runs per agent"
            for v, c in meta["variants"].items()
        )
        + ". "
        "Replies: 200 text deltas per turn (burst: one write; paced: 50 deltas/s). Method: `bench/agent/README.md`.",
        "",
        "Tool work subtracted from each gap (median, done directly by the harness): "
        + ", ".join(f"{k} {v * 1000:.2f} ms" for k, v in meta["baselines"].items())
        + ".",
        "",
    ]
    cols = [
        ("start → 1st request, ms", "first_request_ms"),
        ("per-turn overhead, ms", "overhead_ms"),
        ("CPU of tree, s", "cpu_s"),
        ("peak PSS of tree, MB", "peak_pss_tree_mb"),
        ("max RSS of one process, MB", "max_rss_single_mb"),
        ("1st / last request, bytes", None),
        ("growth per request, bytes", "growth_bytes"),
        ("prefix kept", "prefix_share"),
        ("cost by agent, $", "agent_cost"),
        ("prices x tokens, $", "expected_cost"),
    ]
    for variant, rows in table.items():
        lines += [
            f"## {variant}",
            "",
            "| agent | runs | " + " | ".join(c for c, _ in cols) + " |",
            "|---" * (len(cols) + 2) + "|",
        ]
        for label, s in rows.items():
            if "first_request_ms" not in s:
                lines.append(f"| {label} | {s['status']} |" + " |" * len(cols))
                continue
            vals = [f"{s['first_bytes']} / {s['last_bytes']}" if key is None else s[key] for _, key in cols]
            lines.append(f"| {label} | {s['status']} | " + " | ".join(vals) + " |")
        lines.append("")
    lines += ["Medians over runs, (min-max) of the per-run figures; per-turn overhead is each run's median turn.", ""]
    if meta["not_run"]:
        lines += ["## Not in the table", ""] + [f"- **{k}**: {v}" for k, v in meta["not_run"].items()] + [""]
    if meta["problems"]:
        lines += ["## Runs that did not count", ""] + [f"- {p}" for p in meta["problems"]] + [""]
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="1 run, 5 burst turns and 2 paced turns")
    p.add_argument("--agents", default="", help="comma-separated names (default: all)")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--turns", type=int, default=30)
    p.add_argument("--paced-runs", type=int, default=5)
    p.add_argument("--paced-turns", type=int, default=5)
    p.add_argument("--variants", default="burst,paced")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--keep-failed", type=Path, default=None, help="copy a failed run's folder here")
    p.add_argument("--render", type=Path, default=None, help="rewrite the .md of this results .json only")
    a = p.parse_args()
    if a.render is not None:
        doc = json.loads(a.render.read_text())
        runs = [RunFigures(**r) for r in doc["runs"]]
        labels = {ag.name: ag.label for ag in agent_defs.AGENTS}
        names = list(dict.fromkeys(r.agent for r in runs))
        table = {
            v: {labels[n]: summarise([r for r in runs if r.agent == n and r.variant == v]) for n in names}
            for v in doc["meta"]["variants"]
        }
        doc["table"] = table
        a.render.write_text(json.dumps(doc, indent=1))
        a.render.with_suffix(".md").write_text(render(doc["meta"], table))
        return
    if a.quick:
        a.runs, a.turns, a.paced_runs, a.paced_turns = 1, 5, 1, 2
    wanted = {n for n in a.agents.split(",") if n}
    t_start = time.monotonic()
    load_start = " / ".join(f"{x:.2f}" for x in os.getloadavg())
    subreaper = measure.become_subreaper()
    variants = {
        v: {"turns": a.turns if v == "burst" else a.paced_turns, "runs": a.runs if v == "burst" else a.paced_runs}
        for v in a.variants.split(",")
    }
    not_run = dict(agent_defs.NOT_DRIVEN)
    chosen = []
    for ag in agent_defs.AGENTS:
        if wanted and ag.name not in wanted:
            continue
        why = ag.installed()
        if why:
            not_run[ag.label] = why
        else:
            chosen.append(ag)
    with tempfile.TemporaryDirectory() as d:
        baselines = tool_baselines(Path(d))
    server = Server()
    all_runs: list[RunFigures] = []
    try:
        for variant, conf in variants.items():
            for i in range(conf["runs"]):
                for ag in chosen:
                    fig = one_run(server, ag, variant, conf["turns"], baselines, a.keep_failed)
                    all_runs.append(fig)
                    state = "ok" if fig.ok else "BROKEN: " + "; ".join(fig.problems)
                    overhead = statistics.median(fig.overhead_ms) if fig.overhead_ms else 0
                    print(
                        f"[{variant} {i + 1}/{conf['runs']}] {ag.name}: {state} · first request "
                        f"{fig.first_request_ms or 0:.0f} ms · overhead {overhead:.2f} ms · cpu {fig.cpu_s:.2f} s",
                        file=sys.stderr,
                        flush=True,
                    )
    finally:
        server.close()
    table: dict[str, dict[str, dict[str, str]]] = {}
    for variant in variants:
        table[variant] = {
            ag.label: summarise([r for r in all_runs if r.agent == ag.name and r.variant == variant]) for ag in chosen
        }
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.system()} {platform.release()}",
        "load_start": load_start,
        "load_end": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "seconds": time.monotonic() - t_start,
        "variants": variants,
        "baselines": baselines,
        "subreaper": subreaper,
        "not_run": not_run,
        "problems": [f"{r.agent} {r.variant}: {'; '.join(r.problems)}" for r in all_runs if not r.ok],
    }
    a.out.mkdir(parents=True, exist_ok=True)
    name = "quick" if a.quick else "latest"
    (a.out / f"{name}.json").write_text(
        json.dumps({"meta": meta, "table": table, "runs": [asdict(r) for r in all_runs]}, indent=1)
    )
    (a.out / f"{name}.md").write_text(render(meta, table))
    print(render(meta, table))
    if not any(r.ok for r in all_runs):
        sys.exit(1)


if __name__ == "__main__":
    main()
