"""`skipjack [PROMPT]`: the interactive terminal UI."""

from __future__ import annotations

import argparse
from pathlib import Path

from skipjack.cli.options import options_from_args


def run_interactive(args: argparse.Namespace) -> int:
    from skipjack.tui.launch import run_tui

    cwd = (args.cwd or Path.cwd()).resolve()
    return run_tui(
        options_from_args(args, cwd),
        prompt=args.prompt,
        continue_latest=args.continue_session,
        session_id=args.session,
    )
