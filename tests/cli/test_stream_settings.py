"""`[limits]` and `[timeouts]` from config.toml reach the stream core through `skipjack run`."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.helpers import isolated_env, run_cli

from skipjack.config import ConfigError, load_config
from skipjack.testing import Pause, Reply, ScriptedTurn, SSEServer, openai_turn


def _user_config(tmp_path: Path, text: str) -> dict[str, str]:
    env = isolated_env(tmp_path)
    config = Path(env["SKIPJACK_CONFIG_DIR"]) / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    # After what the `repo` fixture wrote there (it trusts the repository).
    config.write_text((config.read_text() if config.exists() else "") + text)
    return env


def test_a_message_limit_from_config_ends_the_run_with_a_clear_error(
    tmp_path: Path, repo: Path, server: SSEServer
) -> None:
    server.enqueue(Reply.sse(openai_turn(ScriptedTurn(text="x" * 5000))))
    env = _user_config(tmp_path, "[limits]\nmax_message_bytes = 1000\n")
    out = run_cli("run", "say a lot", cwd=repo, env=env)
    assert out.returncode != 0
    assert "limits.max_message_bytes" in out.stderr + out.stdout


def test_a_total_deadline_from_config_ends_a_trickling_run(tmp_path: Path, repo: Path, server: SSEServer) -> None:
    chunk = b'data: {"choices":[{"index":0,"delta":{"content":"."}}]}\n\n'
    server.enqueue(Reply(body=[*[chunk, Pause(0.2)] * 200]))
    env = _user_config(tmp_path, "[timeouts]\ntotal_ms = 1500\n[retry]\nmax_retries = 0\n")
    out = run_cli("run", "go", cwd=repo, env=env, timeout=30)
    assert out.returncode != 0
    assert "timeouts.total_ms" in out.stderr + out.stdout


def test_limits_load_from_config_and_nonsense_is_refused(tmp_path: Path) -> None:
    env = _user_config(tmp_path, "[limits]\nmax_event_bytes = 1048576\n[timeouts]\ntotal_ms = 60000\n")
    cfg = load_config(tmp_path, env)
    assert cfg.settings.limits.max_event_bytes == 1 << 20
    assert cfg.settings.limits.max_message_bytes == 64 << 20
    assert cfg.settings.timeouts.total_ms == 60_000
    for bad in ("max_event_bytes = 0", "max_message_bytes = -1", 'max_tool_args_bytes = "big"'):
        env = _user_config(tmp_path, f"[limits]\n{bad}\n")
        with pytest.raises(ConfigError):
            load_config(tmp_path, env)
