"""`python -m skipjack.testing serve --deltas N`: a loopback server in its own process.

Benchmarks run the server apart from the client, so the client's CPU figures are its own.
It prints its base URL on one line, then serves until stdin closes.
"""

from __future__ import annotations

import argparse
import sys

from skipjack.testing.openai_script import text_deltas
from skipjack.testing.sse_server import Reply, SSEServer


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m skipjack.testing")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the same text-delta stream to every request")
    serve.add_argument("--deltas", type=int, default=100_000)
    args = parser.parse_args()
    with SSEServer(default=Reply.sse(text_deltas(args.deltas))) as server:
        print(server.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
