"""What a headless run has loaded when its first request leaves, and a stop signal while the
checkpoint snapshot (taken beside that request) runs."""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.helpers import isolated_env, run_cli

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

# Spies on the one function the agent loop calls to send a request, and writes the names of
# the loaded modules as the first request leaves (and, beside them, whether cyclic garbage
# collection, paused while the run imports, is on again, and how many objects it froze).
DRIVER = """
import gc, json, sys
import skipjack.agent.loop as loop
real = loop.stream
def spy(*args, **kwargs):
    loop.stream = real
    with open(sys.argv[1], "w") as f:
        json.dump(sorted(sys.modules), f)
    with open(sys.argv[1] + ".gc", "w") as f:
        f.write(f"{gc.isenabled()} {gc.get_freeze_count()}")
    return real(*args, **kwargs)
loop.stream = spy
from skipjack.cli.main import main
sys.exit(main(sys.argv[2:]))
"""

NOT_BEFORE_THE_FIRST_REQUEST = (
    "textual",
    "skipjack.tui",
    "mcp",  # the MCP SDK, with no server configured
    "skipjack.mcp.manager",
    "skipjack.compaction.summarize",
    "skipjack.compaction.cut",
    "skipjack.compaction.prompt",
    "skipjack.checkpoints.rewind",
    "skipjack.checkpoints.gc",
    "skipjack.checkpoints.timeline",  # read back by rewind only
    "skipjack.safety.commands",  # the shell parser: at the first command to check
    "tree_sitter",
    "tree_sitter_bash",
    "skipjack.tools.apply_patch",  # this model gets the edit tool
    "skipjack.tools._patch_parse",
    "skipjack.tools._diff",  # edit's diff and exact-text helpers: at the first edit
    "skipjack.tools._exact",
    "skipjack.tools._output",  # bash's output spool: at the first command
    "skipjack.tools._spool",
    "skipjack.models.convert",  # models.dev's format: only for a refreshed catalog
    "skipjack.models.catalog",
    "importlib.resources",
    "skipjack.cli.interactive",
    "skipjack.rpc",
    "skipjack.acp",
    "skipjack.batch",
    # A project with no command, skill or agent folders: their loaders and front-matter parser.
    "skipjack.extensions.commands",
    "skipjack.extensions.definitions",
    "skipjack.extensions.skills",
    "skipjack.extensions.frontmatter",
    # Standard modules only some calls use: a fuzzy "did you mean", a binary file's type by
    # its name; random names come from `os.urandom` (`secrets` brings hmac, hashlib, random).
    "difflib",
    "mimetypes",
    "secrets",
    # The XDG folders are worked out by `skipjack.user_dirs` (platformdirs brought `tempfile`
    # and `random`); the sandbox's private folder is made at the first sandboxed command.
    "platformdirs",
    "tempfile",
)


def _loaded_at_first_request(tmp_path: Path, repo: Path, server: SSEServer, *args: str) -> set[str]:
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(isolated_env(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, str(out), "run", *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return set(json.loads(out.read_text()))


def test_a_headless_run_sends_its_first_request_without_what_it_does_not_need(
    tmp_path: Path, repo: Path, server: SSEServer
) -> None:
    server.enqueue(turn_reply(ScriptedTurn(text="hello")))
    loaded = _loaded_at_first_request(tmp_path, repo, server, "--json", "say hi")
    assert len(server.requests) == 1
    assert "skipjack.agent.loop" in loaded
    assert "skipjack.controller.checkpointing" in loaded
    early = sorted(m for m in loaded for name in NOT_BEFORE_THE_FIRST_REQUEST if m == name or m.startswith(name + "."))
    assert early == [], f"loaded before the first request: {early}"
    assert _dataclasses(loaded) == []
    enabled, frozen = (tmp_path / "modules.json.gc").read_text().split()
    assert enabled == "True", "garbage collection stayed off after start-up"
    # The imports' objects (~20,000) are frozen: no collection before the request walks them.
    assert int(frozen) > 10_000, frozen


def _dataclasses(modules: set[str]) -> list[str]:
    """The dataclasses of these skipjack modules. `dataclass` writes each class's methods as
    source and compiles them (~3.5 M instructions a class, ~0.7 ms, at every start; 43 of
    them were a quarter of `run`'s imports): a class on this path is a `msgspec.Struct`
    (~0.5 M) or a plain class."""
    found = []
    for name in sorted(m for m in modules if m == "skipjack" or m.startswith("skipjack.")):
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None or not spec.origin.endswith(".py"):
            continue
        tree = ast.parse(Path(spec.origin).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and any(_is_dataclass(d) for d in node.decorator_list):
                found.append(f"{name}.{node.name}")
    return found


def _is_dataclass(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (isinstance(target, ast.Name) and target.id == "dataclass") or (
        isinstance(target, ast.Attribute) and target.attr == "dataclass"
    )


def test_what_was_deferred_still_loads_when_it_is_needed(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    """The same run shape with a command to approve and an edit: the parser and the rest come
    in when used, and the run works."""
    server.enqueue(
        turn_reply(ScriptedTurn(text="", tool_calls=[ScriptedToolCall("bash", {"command": "ls | wc -l"}, id="b1")])),
        turn_reply(
            ScriptedTurn(
                text="",
                tool_calls=[
                    ScriptedToolCall("edit", {"path": "hello.py", "old_text": "world", "new_text": "there"}, id="e1")
                ],
            )
        ),
        turn_reply(ScriptedTurn(text="done")),
    )
    out = run_cli("run", "--approval", "auto-edit", "go", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert (repo / "hello.py").read_text() == 'print("hello there")\n'
    # The parser was loaded to judge the command: it named both programs of the pipeline.
    assert "(ls, wc)" in server.requests[1].json()["messages"][-1]["content"]
    rewound = run_cli("rewind", "--continue", "--to", "1", "--files-only", cwd=repo, env=isolated_env(tmp_path))
    assert rewound.returncode == 0, rewound.stderr
    assert (repo / "hello.py").read_text() == 'print("hello world")\n'


def _many_files(repo: Path, count: int) -> None:
    for d in range(count // 100):
        folder = repo / f"src{d}"
        folder.mkdir()
        for f in range(100):
            (folder / f"f{f}.txt").write_text(f"{d} {f}\n" * 20)


def _shadow(tmp_path: Path) -> Path:
    roots = list((tmp_path / "data" / "snapshots").iterdir())
    assert len(roots) == 1
    return roots[0]


def test_stop_signals_while_the_snapshot_runs_leave_the_store_whole(
    tmp_path: Path, repo: Path, server: SSEServer
) -> None:
    """SIGTERM (once: the run waits for the snapshot; twice: a forced exit kills git mid-write)
    at random moments of the first snapshot of a big tree: the shadow repository stays valid,
    and the next run snapshots and rewinds as usual."""
    _many_files(repo, 4000)
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env.update(isolated_env(tmp_path))
    rng = random.Random(22)
    for attempt in range(6):
        server.enqueue(turn_reply(ScriptedTurn(text="slow " * 200), chunk_size=20, pause=0.02))
        proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "skipjack"), "run", "hi"],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        # The snapshot starts as the first request leaves: strike within its run.
        before = len(server.requests)
        deadline = time.monotonic() + 30
        while len(server.requests) == before and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(rng.uniform(0.0, 0.15))
        proc.send_signal(signal.SIGTERM)
        if attempt % 2:
            time.sleep(rng.uniform(0.0, 0.05))
            proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode in (0, 143), err.decode()
    shadow = _shadow(tmp_path)
    fsck = subprocess.run(["git", "--git-dir", str(shadow), "fsck", "--no-dangling"], capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stderr + fsck.stdout
    # The next run takes its checkpoint (a lock left by a killed git is no obstacle) and rewinds.
    edit = ScriptedToolCall("edit", {"path": "hello.py", "old_text": "world", "new_text": "there"}, id="e1")
    server.enqueue(turn_reply(ScriptedTurn(text="", tool_calls=[edit])), turn_reply(ScriptedTurn(text="done")))
    out = run_cli("run", "--approval", "auto-edit", "--json", "edit", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "no checkpoint" not in out.stderr
    assert not (shadow / "skipjack.index.lock").exists()
    assert (repo / "hello.py").read_text() == 'print("hello there")\n'
    session = json.loads(out.stdout.splitlines()[-1])["session_id"]
    rewound = run_cli("rewind", "--session", session, "--to", "1", "--files-only", cwd=repo, env=isolated_env(tmp_path))
    assert rewound.returncode == 0, rewound.stderr + rewound.stdout
    assert (repo / "hello.py").read_text() == 'print("hello world")\n'


def test_the_first_request_is_byte_identical_with_a_cold_and_a_warm_schema_cache(
    tmp_path: Path, repo: Path, server: SSEServer
) -> None:
    env = isolated_env(tmp_path)
    cache = Path(env["SKIPJACK_CACHE_DIR"]) / "tool-schemas.json"
    bodies = []
    for _ in range(2):
        server.enqueue(turn_reply(ScriptedTurn(text="hello")))
        out = run_cli("run", "say hi", cwd=repo, env=env)
        assert out.returncode == 0, out.stderr
        bodies.append(server.requests[-1].body)
        assert cache.is_file(), "the first run kept the schemas"
    assert b'"tools"' in bodies[0]
    # Only the session id (the prompt-cache key) differs between the two runs: with it
    # blanked, the bodies are the same bytes.
    first, second = (json.loads(b) for b in bodies)
    assert first["tools"] == second["tools"]
    differing = [k for k in first if first[k] != second[k]]
    assert len(differing) <= 1, differing
    blanked = [b for b in bodies]
    for key in differing:
        blanked = [
            b.replace(json.dumps(d[key]).encode(), b'"-"') for b, d in zip(blanked, (first, second), strict=True)
        ]
    assert blanked[0] == blanked[1]
