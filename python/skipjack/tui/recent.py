"""Recently used models, newest first, kept next to the user config (`recent_models.json`)."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from skipjack.config.files import user_config_path

KEEP = 10


def recent_path(env: Mapping[str, str]) -> Path:
    return user_config_path(env).parent / "recent_models.json"


def load_recent(env: Mapping[str, str]) -> list[str]:
    try:
        data = json.loads(recent_path(env).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    return [r for r in data if isinstance(r, str)][:KEEP] if isinstance(data, list) else []


def remember(env: Mapping[str, str], ref: str) -> list[str]:
    """Put `ref` on top; best effort (a read-only config dir only loses the list)."""
    recent = [ref, *(r for r in load_recent(env) if r != ref)][:KEEP]
    path = recent_path(env)
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".recent.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(recent, f)
        os.replace(tmp, path)
    return recent
