"""A model with no known price: its cost is unknown end to end, never $0 (issue 23)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.helpers import isolated_env, run_cli

from skipjack.testing import ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply


def unpriced_repo(repo: Path) -> None:
    """The conftest's repo, with its model's price removed."""
    config = repo / ".skipjack" / "config.toml"
    config.write_text("\n".join(ln for ln in config.read_text().splitlines() if not ln.startswith("price")) + "\n")


def test_an_unpriced_model_reports_unknown_cost(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    unpriced_repo(repo)
    server.enqueue(turn_reply(ScriptedTurn(text="hi", prompt_tokens=1000, completion_tokens=10)))
    env = isolated_env(tmp_path) | {"TZ": "UTC"}
    out = run_cli("run", "--json", "hello", cwd=repo, env=env)
    assert out.returncode == 0, out.stderr
    events = [json.loads(line) for line in out.stdout.splitlines()]
    result = events[-1]
    assert result["unpriced_requests"] == 1
    assert result["cost"] == 0
    ends = [e for e in events if e["type"] == "message_end" and e["message"]["role"] == "assistant"]
    assert ends[0]["message"]["cost_source"] == "unknown"
    # The text summary says unknown, not $0.0000.
    server.enqueue(turn_reply(ScriptedTurn(text="hi", prompt_tokens=1000, completion_tokens=10)))
    text = run_cli("run", "hello", cwd=repo, env=env)
    assert text.returncode == 0, text.stderr
    assert "? (1 unpriced)" in text.stderr
    assert "$0.0000" not in text.stderr
    # The session file holds the same record, and the report counts it as unpriced.
    doc = json.loads(run_cli("usage", "--json", cwd=repo, env=env).stdout)
    assert doc["totals"]["unpriced"] == 2
    assert doc["totals"]["cost"] == 0
    assert doc["totals"]["input"] == 2000
    listing = run_cli("sessions", "list", cwd=repo, env=env)
    assert "? (1 unpriced)" in listing.stdout
    assert "$0.0000" not in listing.stdout


def test_max_cost_on_an_unpriced_model_is_refused(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    unpriced_repo(repo)
    out = run_cli("run", "--max-cost", "1", "hello", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 2
    assert "--max-cost cannot be enforced: no price is known for scripted/m1" in out.stderr
    assert server.requests == []


def test_a_free_model_stays_free(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    config = repo / ".skipjack" / "config.toml"
    priced = "input = 3.0, output = 15.0, cache_read = 0.3"
    config.write_text(config.read_text().replace(priced, "input = 0, output = 0"))
    server.enqueue(turn_reply(ScriptedTurn(text="hi", prompt_tokens=1000, completion_tokens=10)))
    out = run_cli("run", "--json", "--max-cost", "1", "hello", cwd=repo, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.splitlines()[-1])
    assert result["unpriced_requests"] == 0
    assert result["cost"] == 0
