"""`python -m skipjack.tui`: the terminal UI with the same flags as `skipjack`.

Kept for development and the end-to-end test; `skipjack` itself is the usual way in, and
this delegates to it so the two can never disagree.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from skipjack.cli.main import main as cli_main

    return cli_main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
