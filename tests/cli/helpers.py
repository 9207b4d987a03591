from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SKIPJACK = Path(sys.executable).parent / "skipjack"


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    full_env.update(env or {})
    return subprocess.run(
        [str(SKIPJACK), *args],
        cwd=cwd,
        env=full_env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def isolated_env(tmp: Path) -> dict[str, str]:
    """Config, data and cache dirs inside the test's tmp dir."""
    return {
        "SKIPJACK_CONFIG_DIR": str(tmp / "config"),
        "SKIPJACK_DATA_DIR": str(tmp / "data"),
        "SKIPJACK_CACHE_DIR": str(tmp / "cache"),
        "XDG_CONFIG_HOME": str(tmp / "xdg-config"),
        "XDG_DATA_HOME": str(tmp / "xdg-data"),
        "XDG_CACHE_HOME": str(tmp / "xdg-cache"),
    }
