"""The shared runtime: the configured summary model reaches the compactor."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.cli.helpers import isolated_env

from skipjack.cli.errors import UserError
from skipjack.runtime import RunOptions, attach_session, build_runtime
from skipjack.sessions import SessionStore

CONFIG = """model = "local/big"
[compaction]
model = "local/cheap"
[providers.local]
base_url = "http://127.0.0.1:9/v1"
api = "openai-chat"
[providers.local.models.big]
context_window = 100000
[providers.local.models.cheap]
context_window = 32000
"""


def test_configured_summary_model_reaches_the_compactor(tmp_path: Path) -> None:
    (tmp_path / ".skipjack").mkdir()
    (tmp_path / ".skipjack" / "config.toml").write_text(CONFIG)
    env = isolated_env(tmp_path)
    runtime = build_runtime(RunOptions(cwd=tmp_path, trust_project=True), env=env)
    assert runtime.summary_model is not None
    assert runtime.summary_model.id == "cheap"
    session = SessionStore(env=env).create(tmp_path, "local/big")
    try:
        attach_session(runtime, session, resume=False)
        assert runtime.compactor is not None
        assert runtime.compactor.summary_model == runtime.summary_model
        assert runtime.agent.options.session_id == session.id
    finally:
        session.close()


def test_unknown_summary_model_is_a_user_error(tmp_path: Path) -> None:
    (tmp_path / ".skipjack").mkdir()
    (tmp_path / ".skipjack" / "config.toml").write_text(CONFIG.replace('model = "local/cheap"', 'model = "local/nope"'))
    with pytest.raises(UserError, match=r"compaction\.model"):
        build_runtime(RunOptions(cwd=tmp_path, trust_project=True), env=isolated_env(tmp_path))
