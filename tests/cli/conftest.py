from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from skipjack.testing import SSEServer


@pytest.fixture
def server() -> Iterator[SSEServer]:
    with SSEServer() as s:
        yield s


@pytest.fixture
def repo(tmp_path: Path, server: SSEServer) -> Path:
    """A git repository with one file and a project config naming the scripted server as a
    priced custom provider, so runs report a real cost. The user config (`isolated_env`'s)
    trusts the repository, since a project config may define a provider only when trusted."""
    root = tmp_path / "repo"
    (root / ".skipjack").mkdir(parents=True)
    (root / "hello.py").write_text('print("hello world")\n')
    (root / ".skipjack" / "config.toml").write_text(
        f"""model = "scripted/m1"
[providers.scripted]
base_url = "{server.url}"
api = "openai-chat"
[providers.scripted.models.m1]
context_window = 100000
max_output = 4000
price = {{ input = 3.0, output = 15.0, cache_read = 0.3 }}
"""
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "config.toml").write_text(f"trusted_projects = [{str(root)!r}]\n")
    return root
