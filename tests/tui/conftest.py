from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from skipjack.testing import ScriptedModel, SSEServer


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """User config and session data in the test's own folders, never the real ones."""
    values = {
        "SKIPJACK_CONFIG_DIR": str(tmp_path / "config"),
        "SKIPJACK_DATA_DIR": str(tmp_path / "data"),
        "HOME": str(tmp_path / "home"),
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / ".git").mkdir()  # a repository root, so approvals know the project
    return root


@pytest.fixture
def scripted(sse_server: SSEServer) -> Iterator[ScriptedModel]:
    with ScriptedModel(sse_server) as model:
        yield model
