from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from skipjack.testing import SSEServer

REPO = Path(__file__).resolve().parent.parent
SSE_FIXTURES = REPO / "crates" / "skipjack-llm" / "tests" / "fixtures" / "sse"


@pytest.fixture
def sse_server() -> Iterator[SSEServer]:
    with SSEServer() as server:
        yield server
