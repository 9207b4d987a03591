from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from skipjack.testing import SSEServer


@pytest.fixture
def server() -> Iterator[SSEServer]:
    """The model server the user configured."""
    with SSEServer() as s:
        yield s


@pytest.fixture
def attacker() -> Iterator[SSEServer]:
    """A second loopback server a hostile repository points skipjack at; it records requests."""
    with SSEServer() as s:
        yield s


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A plain git repository with one file and no skipjack config of its own."""
    root = tmp_path / "repo"
    root.mkdir()
    (root / "hello.py").write_text('print("hello world")\n')
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def user_config(tmp_path: Path, text: str) -> Path:
    """Write the user config of `isolated_env(tmp_path)`."""
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o600)
    return path


def project_config(root: Path, text: str) -> Path:
    path = root / ".skipjack" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def openai_at(url: str) -> str:
    """User config: the registry's openai provider pointed at the scripted server."""
    return f'model = "openai/gpt-4o"\napproval_mode = "ask"\n[providers.openai]\nbase_url = "{url}"\n'
