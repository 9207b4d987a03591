"""`skipjack sessions`: list, show, export, fork, delete (wired once sessions land)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub.add_parser("sessions", help="list, show, export, fork or delete saved sessions")


def run(args: argparse.Namespace, cwd: Path) -> int:
    raise NotImplementedError
