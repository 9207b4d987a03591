"""What `skipjack run` costs around the model: what it imports, and what it resends.

- The run path imports neither the terminal UI nor the libraries only some tools or
  commands need (counted from the interpreter's own import log, not timed).
- Every request of a multi-turn run starts, byte for byte, with the previous request's
  messages, and what follows them (tools, options) is the same bytes: a provider's prompt
  cache then serves the whole history again (outside compaction).
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from tests.cli.helpers import isolated_env, run_cli

from skipjack.testing import ScriptedToolCall, ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply

NOT_ON_THE_RUN_PATH = (
    "textual",
    "skipjack.tui",
    "mcp",  # the MCP SDK, when no MCP server is configured
    "httpx",  # web_fetch's client: imported by the first fetch
    "yaml",  # front matter: imported by the first extension file
    "pathspec",  # globs: imported by the first glob
    "rich",
    "click",
    "pygments",
    "skipjack.cli.models_cmd",
    "skipjack.cli.config_cmd",
    "skipjack.cli.sessions_cmd",
    "skipjack.cli.batch_cmd",
    "skipjack.cli.mcp_cmd",
    "skipjack.batch",
    "skipjack.acp",
    "skipjack.rpc",
)


def _imported(stderr: str) -> set[str]:
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":
                names.add(name)
    return names


def _offenders(imported: set[str]) -> list[str]:
    return sorted(n for n in imported for bad in NOT_ON_THE_RUN_PATH if n == bad or n.startswith(bad + "."))


def test_the_run_path_imports_no_ui_and_no_on_demand_library(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    server.enqueue(turn_reply(ScriptedTurn(text="hello")))
    out = run_cli("run", "say hi", cwd=repo, env={**isolated_env(tmp_path), "PYTHONPROFILEIMPORTTIME": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    imported = _imported(out.stderr)
    assert "skipjack.controller" in imported, "the import log was read"
    assert _offenders(imported) == []


def test_a_tool_turn_still_imports_only_what_it_uses(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    # A read and a find with a glob: pathspec comes in for the glob, the rest stays out.
    server.enqueue(
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("read", {"path": "hello.py"}, id="r1")])),
        turn_reply(ScriptedTurn(tool_calls=[ScriptedToolCall("find", {"pattern": "*.py"}, id="f1")])),
        turn_reply(ScriptedTurn(text="done")),
    )
    out = run_cli("run", "look", cwd=repo, env={**isolated_env(tmp_path), "PYTHONPROFILEIMPORTTIME": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    imported = _imported(out.stderr)
    assert "pathspec" in imported
    assert [n for n in _offenders(imported) if not n.startswith("pathspec")] == []
    assert "hello world" in server.requests[1].json()["messages"][-1]["content"]


def _split(body: bytes) -> tuple[bytes, bytes]:
    """(the body up to the end of its last message, what follows the messages array)."""
    text = body.decode()
    start = text.index('"messages":') + len('"messages":')
    _, end = json.JSONDecoder().raw_decode(text, start)
    return text[: end - 1].encode(), text[end:].encode()


def test_consecutive_requests_share_a_byte_identical_prefix(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    (repo / "notes.txt").write_text('ünïcödé line\n\ttabbed "quoted" \\ backslash\n')
    calls = [
        ScriptedToolCall("read", {"path": "notes.txt"}, id="a1"),
        ScriptedToolCall("bash", {"command": "echo hi; date +%s%N"}, id="a2"),
        ScriptedToolCall("grep", {"pattern": "line", "path": "."}, id="a3"),
        ScriptedToolCall("edit", {"path": "hello.py", "old_text": "world", "new_text": "there"}, id="a4"),
        ScriptedToolCall("read", {"path": "missing.txt"}, id="a5"),  # an error result
        ScriptedToolCall("write", {"path": "new.txt", "content": "x\n"}, id="a6"),
        ScriptedToolCall("todo", {"todos": [{"content": "check", "status": "pending"}]}, id="a7"),
    ]
    turns = [turn_reply(ScriptedTurn(text=f"step {i}", tool_calls=[c])) for i, c in enumerate(calls)]
    # Two calls in one turn, and a turn with thinking.
    both = [
        ScriptedToolCall("read", {"path": "hello.py"}, id="b1"),
        ScriptedToolCall("find", {"pattern": "*"}, id="b2"),
    ]
    turns.append(turn_reply(ScriptedTurn(thinking="hmm", tool_calls=both)))
    server.enqueue(*turns, turn_reply(ScriptedTurn(text="all done")))
    out = run_cli("run", "--approval", "yolo", "do the steps", cwd=repo, env=isolated_env(tmp_path), timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    bodies = [r.body for r in server.requests]
    assert len(bodies) == len(calls) + 2
    for i, (earlier, later) in enumerate(itertools.pairwise(bodies)):
        prefix, after = _split(earlier)
        later_prefix, later_after = _split(later)
        assert later.startswith(prefix), f"request {i + 1} rewrote history the previous one sent"
        assert len(later_prefix) > len(prefix), "and added to it"
        assert later_after == after, f"request {i + 1} changed the tools or options"
