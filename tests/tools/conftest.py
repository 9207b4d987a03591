from __future__ import annotations

from pathlib import Path

import pytest

from skipjack.agent.tool import ToolContext


@pytest.fixture
def ctx(tmp_path: Path) -> ToolContext:
    return ToolContext(cwd=tmp_path)
