"""`python -m skipjack.tui`: the terminal UI with the same flags as `skipjack`.

Kept for development and the end-to-end test; `skipjack` itself is the usual way in.
"""

from __future__ import annotations

import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    from skipjack.cli.errors import UserError
    from skipjack.cli.main import build_tui_parser
    from skipjack.runtime import RunOptions
    from skipjack.tui.launch import run_tui

    args = build_tui_parser().parse_args(sys.argv[1:] if argv is None else argv)
    cwd = (args.cwd or Path.cwd()).resolve()
    options = RunOptions(
        cwd=cwd,
        model=args.model,
        base_url=args.base_url,
        api=args.api,
        api_key_env=args.api_key_env,
        approval=args.approval,
        max_turns=args.max_turns,
        max_cost=args.max_cost,
        system_prompt_file=args.system_prompt_file,
        reasoning=args.reasoning,
    )
    try:
        return run_tui(options, prompt=args.prompt, continue_latest=args.continue_session, session_id=args.session)
    except UserError as e:
        print(f"skipjack: {e}", file=sys.stderr)
        return int(e.code)


if __name__ == "__main__":
    sys.exit(main())
