from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from skipjack.testing import SSEServer

REPO = Path(__file__).resolve().parent.parent
SSE_FIXTURES = REPO / "crates" / "skipjack-llm" / "tests" / "fixtures" / "sse"


@pytest.fixture(autouse=True, scope="session")
def _private_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """In-process code that falls back to the real data dir (spooled output, sessions) writes
    into a folder of the test run's, never the developer's `~/.local/share/skipjack`."""
    mp = pytest.MonkeyPatch()
    if "SKIPJACK_DATA_DIR" not in os.environ:
        mp.setenv("SKIPJACK_DATA_DIR", str(tmp_path_factory.mktemp("data-dir")))
    if "SKIPJACK_CACHE_DIR" not in os.environ:  # (the tool schema cache, `agent.schema_cache`)
        mp.setenv("SKIPJACK_CACHE_DIR", str(tmp_path_factory.mktemp("cache-dir")))
    yield
    mp.undo()


@pytest.fixture
def sse_server() -> Iterator[SSEServer]:
    with SSEServer() as server:
        yield server
