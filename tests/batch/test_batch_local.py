"""`skipjack batch` on the local pool: real git repos, real `skipjack run` processes, the
scripted loopback model, real kills."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from tests.batch.conftest import make_repo, script_tasks, write_tasks
from tests.cli.helpers import SKIPJACK, run_cli

from skipjack.testing import SSEServer
from skipjack.testing.sse_server import Reply


def results(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


BACKENDS = [
    pytest.param([], id="local"),
    # The same batch on a real Ray cluster the batch starts on this machine (`ray.init`).
    pytest.param(["--ray", "local"], id="ray"),
]


@pytest.mark.parametrize("backend", BACKENDS)
def test_twenty_tasks_on_four_workers(
    tmp_path: Path, server: SSEServer, batch_env: dict[str, str], backend: list[str]
) -> None:
    repos = [make_repo(tmp_path / f"repo {i}") for i in range(20)]
    tasks = []
    for i, repo in enumerate(repos):
        source = repo.as_uri() if i % 2 else str(repo.relative_to(tmp_path))  # file:// URLs and relative paths
        tasks.append(
            {
                "id": f"t{i:02d}",
                "repo": source,
                "prompt": "make it greet skipjack",
                "setup": "mkdir -p build && echo artefact > build/out.txt",
                "check": "grep -q skipjack hello.py && test -f build/out.txt",
            }
        )
    tasks_file = write_tasks(tmp_path / "tasks.jsonl", tasks)
    script_tasks(server, 20)
    out = run_cli("batch", "run", str(tasks_file), "--out", "out", "--concurrency", "4", *backend, cwd=tmp_path,
                  env=batch_env, timeout=600)  # fmt: skip
    assert out.returncode == 0, out.stderr + out.stdout
    rs = results(tmp_path / "out")
    assert sorted(r["id"] for r in rs) == [f"t{i:02d}" for i in range(20)]
    assert {r["status"] for r in rs} == {"passed"}
    cost = (1200 + 1400) * 3.0 / 1e6 + (40 + 12) * 15.0 / 1e6
    for r in rs:
        assert abs(r["cost"] - cost) < 1e-9
        assert r["turns"] == 2
        assert r["check_exit"] == 0
    for i, repo in enumerate(repos):
        folder = tmp_path / "out" / f"t{i:02d}"
        assert json.loads((folder / "result.json").read_text())["status"] == "passed"
        assert (folder / "session.jsonl").read_bytes().startswith(b'{"type":"session"')
        assert json.loads((folder / "events.jsonl").read_text().splitlines()[-1])["type"] == "result"
        # The user's repository is untouched: same file, no new refs or branches.
        assert (repo / "hello.py").read_text() == 'print("hello world")\n'
        assert subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True,
                              text=True, check=True).stdout == ""  # fmt: skip
        # The patch, applied to a fresh clone, reproduces the agent's change (and only it:
        # the gitignored build output is not in it).
        patch = (folder / "patch.diff").read_bytes()
        assert b"build/out.txt" not in patch
        fresh = tmp_path / f"fresh{i}"
        subprocess.run(["git", "clone", "-q", str(repo), str(fresh)], check=True)
        subprocess.run(["git", "-C", str(fresh), "apply", "--binary", "-"], input=patch, check=True)
        assert (fresh / "hello.py").read_text() == 'print("hello skipjack")\n'
    assert "20 tasks: 20 passed" in out.stdout
    report = run_cli("batch", "report", "out", "--json", cwd=tmp_path, env=batch_env)
    summary = json.loads(report.stdout)
    assert summary["pass_rate"] == 1.0
    assert abs(summary["cost"] - 20 * cost) < 1e-9


def test_kill_9_mid_batch_then_resume(tmp_path: Path, server: SSEServer, batch_env: dict[str, str]) -> None:
    repos = [make_repo(tmp_path / f"r{i}") for i in range(6)]
    tasks = [{"id": f"k{i}", "repo": str(r), "prompt": "go", "check": "grep -q skipjack hello.py"}
             for i, r in enumerate(repos)]  # fmt: skip
    tasks_file = write_tasks(tmp_path / "tasks.jsonl", tasks)
    script_tasks(server, 12, pause=1.5)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")} | batch_env
    proc = subprocess.Popen([str(SKIPJACK), "batch", "run", str(tasks_file), "--out", "out", "--concurrency", "2"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
    out = tmp_path / "out"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (out / "results.jsonl").is_file() and len(results(out)) >= 2:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    first = {r["id"]: r for r in results(out)}
    assert 2 <= len(first) < 6
    # The agents in flight died with the batch (nothing left writing into the folders).
    time.sleep(0.5)
    ps = subprocess.run(["pgrep", "-f", f"--cwd {out}"], capture_output=True, text=True, check=False)
    assert ps.stdout.strip() == "", ps.stdout
    done = run_cli("batch", "run", str(tasks_file), "--out", "out", "--concurrency", "2", cwd=tmp_path,
                   env=batch_env, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr + done.stdout
    final = results(out)
    ids = [r["id"] for r in final]
    assert sorted(set(ids)) == [f"k{i}" for i in range(6)]
    assert len(ids) == 6, "a finished task was run again"
    for task_id, r in first.items():
        assert next(x for x in final if x["id"] == task_id)["started"] == r["started"]
    assert all(r["status"] == "passed" for r in final)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_cost_cap_stops_scheduling(
    tmp_path: Path, server: SSEServer, batch_env: dict[str, str], backend: list[str]
) -> None:
    repos = [make_repo(tmp_path / f"c{i}") for i in range(8)]
    tasks = [{"id": f"c{i}", "repo": str(r), "prompt": "go", "max_cost": 0.01} for i, r in enumerate(repos)]
    tasks_file = write_tasks(tmp_path / "tasks.jsonl", tasks)
    script_tasks(server, 8)
    cap = 0.025
    out = run_cli("batch", "run", str(tasks_file), "--out", "out", "--concurrency", "1", "--max-cost", str(cap),
                  *backend, cwd=tmp_path, env=batch_env, timeout=300)  # fmt: skip
    rs = results(tmp_path / "out")
    spent = sum(r["cost"] for r in rs)
    per_task = rs[0]["cost"]
    # Tasks start while spent + the next budget fits: floor((cap - 0.01) / per_task) + 1 of them.
    expected = int((cap - 0.01) // per_task) + 1
    assert len(rs) == expected < 8
    assert spent <= cap
    assert "not started (cost cap)" in out.stdout
    assert out.returncode == 1  # not every task ran


def test_a_429_storm_slows_the_whole_pool(tmp_path: Path, server: SSEServer, batch_env: dict[str, str]) -> None:
    repos = [make_repo(tmp_path / f"s{i}") for i in range(8)]
    tasks = [{"id": f"s{i}", "repo": str(r), "prompt": "go"} for i, r in enumerate(repos)]
    tasks_file = write_tasks(tmp_path / "tasks.jsonl", tasks)
    storm = Reply.error(429, {"error": {"message": "slow down", "type": "rate_limit"}}, headers={"retry-after": "1"})
    # The first three requests, whichever tasks send them, are refused with a 429.
    server.enqueue_for(lambda r: True, *[storm] * 3)
    script_tasks(server, 8)
    out = run_cli("batch", "run", str(tasks_file), "--out", "out", "--concurrency", "4", cwd=tmp_path,
                  env=batch_env, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stderr + out.stdout
    rs = sorted(results(tmp_path / "out"), key=lambda r: r["started"])
    assert sum(r["rate_limited"] for r in rs) == 3
    # The first four started together; once the storm hit, later starts were spaced out.
    later = [r["started"] for r in rs[4:]]
    gaps = [b - a for a, b in itertools.pairwise(later)]
    assert later[0] - rs[0]["started"] >= 1.0
    assert max(gaps) >= 0.4


def test_bad_tasks_files_are_refused_before_anything_runs(tmp_path: Path, batch_env: dict[str, str]) -> None:
    cases = {
        '{"id": "a", "repo": ".", "prompt": "x"}\n{"id": "a", "repo": ".", "prompt": "y"}\n': "already used",
        '{"id": "../x", "repo": ".", "prompt": "x"}\n': "must be letters",
        '{"id": "a", "repo": ".", "prompt": "x", "extra": 1}\n': "tasks.jsonl:1",
        '{"id": "a", "repo": ".", "prompt": "x", "ref": "--upload-pack=evil"}\n': "looks like an option",
        '{"id": "a", "repo": ".", "prompt": "x", "env": ["A B"]}\n': "not environment variable names",
        "\n# nothing\n": "holds no tasks",
    }
    for text, error in cases.items():
        (tmp_path / "tasks.jsonl").write_text(text)
        out = run_cli("batch", "run", "tasks.jsonl", "--out", "out", cwd=tmp_path, env=batch_env)
        assert out.returncode == 2, (text, out.stderr)
        assert error in out.stderr, (text, out.stderr)
        assert not (tmp_path / "out" / "results.jsonl").exists()


def test_a_missing_ref_is_one_task_error(tmp_path: Path, server: SSEServer, batch_env: dict[str, str]) -> None:
    repo = make_repo(tmp_path / "r")
    tasks_file = write_tasks(tmp_path / "tasks.jsonl", [{"id": "x", "repo": str(repo), "prompt": "go", "ref": "nope"}])
    out = run_cli("batch", "run", str(tasks_file), "--out", "out", cwd=tmp_path, env=batch_env)
    assert out.returncode == 1
    (r,) = results(tmp_path / "out")
    assert r["status"] == "error"
    assert r["error_kind"] == "workspace"
    assert "no commit 'nope'" in r["error_message"]
    assert server.requests == []
