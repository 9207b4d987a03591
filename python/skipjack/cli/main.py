"""`skipjack`: for now, stream one prompt's answer to stdout (later: the full CLI)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from skipjack import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="skipjack", description="A terminal coding agent.")
    parser.add_argument("prompt", nargs="?", help="what to ask (read from stdin if omitted)")
    parser.add_argument("--version", action="version", version=f"skipjack {__version__}")
    args = parser.parse_args(argv)
    prompt = args.prompt if args.prompt is not None else sys.stdin.read()
    from skipjack.cli.one_shot import run_prompt  # heavy imports only when a prompt runs

    try:
        return asyncio.run(run_prompt(prompt))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
