"""Where the registry's generator, snapshot and committed output live."""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "gen_registry.py"
DATA = REPO.parent / "shared" / "data" / "models.dev"
COMMITTED = REPO / "python" / "skipjack" / "models" / "registry.json"
