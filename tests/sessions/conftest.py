from __future__ import annotations

from pathlib import Path

import pytest

from skipjack.sessions import SessionStore

from .helpers import make_project


@pytest.fixture
def store(tmp_path: Path) -> SessionStore:
    return SessionStore(tmp_path / "data" / "sessions")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")
