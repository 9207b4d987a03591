"""The command line's flags as the controller's `RunOptions` (shared by `run`, the UI and `rpc`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from skipjack.runtime import RunOptions


def options_from_args(args: argparse.Namespace, cwd: Path) -> RunOptions:
    return RunOptions(
        cwd=cwd,
        model=args.model,
        base_url=args.base_url,
        api=args.api,
        api_key_env=args.api_key_env,
        approval=args.approval,
        max_turns=getattr(args, "max_turns", None),
        max_cost=getattr(args, "max_cost", None),
        system_prompt_file=getattr(args, "system_prompt_file", None),
        reasoning=getattr(args, "reasoning", None),
        sandbox_network=getattr(args, "sandbox_network", None),
        sandbox_mode=getattr(args, "sandbox", None),
        trust_project=getattr(args, "trust_project", False),
    )
