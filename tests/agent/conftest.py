from __future__ import annotations

from collections.abc import Iterator

import pytest

from skipjack.testing import ScriptedModel, SSEServer


@pytest.fixture
def scripted(sse_server: SSEServer) -> Iterator[ScriptedModel]:
    with ScriptedModel(sse_server) as model:
        yield model
