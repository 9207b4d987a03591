"""`skipjack [PROMPT]`: the interactive terminal UI."""

from __future__ import annotations

import argparse
import asyncio
import sys


def run_interactive(args: argparse.Namespace) -> int:
    # Until the terminal UI lands, a prompt on the command line is answered in one shot.
    prompt = args.prompt if args.prompt is not None else sys.stdin.read()
    from skipjack.cli.one_shot import run_prompt

    return asyncio.run(run_prompt(prompt))
