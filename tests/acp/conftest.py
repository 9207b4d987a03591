"""Fixtures of the ACP tests: the scripted model and a project whose user config names it."""

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
def project(tmp_path: Path, server: SSEServer) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    (root / "hello.py").write_text('print("hello world")\n')
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.toml").write_text(
        f"""model = "first/m1"
[keys]
first = "key-first"
second = "key-second"
[providers.second]
base_url = "{server.url}"
api = "openai-chat"
[providers.second.models.m2]
context_window = 100000
[providers.nokey]
base_url = "{server.url}"
api = "openai-chat"
api_key_env = "NOKEY_API_KEY"
[providers.nokey.models.m3]
context_window = 100000
[providers.first]
base_url = "{server.url}"
api = "openai-chat"
[providers.first.models.m1]
context_window = 100000
price = {{ input = 3.0, output = 15.0 }}
"""
    )
    return root
