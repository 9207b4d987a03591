"""Snapshot clean-up for `skipjack sessions gc` and `sessions delete`: report what was freed."""

from __future__ import annotations

import sys
from pathlib import Path

from skipjack.errors import UserError
from skipjack.sessions import SessionStore


def collect_snapshots(store: SessionStore, cwd: Path, project_key: str | None) -> None:
    from skipjack.checkpoints import collect
    from skipjack.config import ConfigError, load_config

    try:
        retention = load_config(cwd).settings.checkpoints.retention_days
    except ConfigError as e:
        raise UserError(str(e)) from e
    report = collect(store, retention_days=retention, only_project=project_key)
    for error in report.errors:
        print(f"skipjack: {error}", file=sys.stderr)
    what = "its project's snapshots" if project_key is not None else f"{report.projects} project(s)' snapshots"
    kept = f"keeping {report.kept_snapshots} recorded in the last {retention} days"
    print(f"freed {human(report.freed)} from {what} ({kept})")


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
