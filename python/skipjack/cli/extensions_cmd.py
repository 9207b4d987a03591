"""`skipjack skills|commands|agents list`: what this folder's sessions get, from where, and
the files that were not usable (with why)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

KINDS = ("skills", "commands", "agents")


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    helps = {
        "skills": "Agent Skills found (SKILL.md folders) and any front-matter errors",
        "commands": "custom slash commands found (/name) and any front-matter errors",
        "agents": "subagent definitions found and any front-matter errors",
    }
    for kind in KINDS:
        p = sub.add_parser(kind, help=helps[kind])
        p.add_argument("action", nargs="?", choices=["list"], default="list")
        p.add_argument("--cwd", type=Path, help="the project folder (default: the current directory)")
        p.add_argument("--trust-project", action="store_true", help="read this folder's extensions for this listing")


def run(args: argparse.Namespace, cwd: Path) -> int:
    from skipjack.runtime import discover_extensions, load_settings

    env = os.environ
    config = load_settings(cwd, env, trust_project=args.trust_project)
    found, trusted = discover_extensions(cwd, config.settings, env, trust_project=args.trust_project)
    kind: str = args.command
    items: list[tuple[str, str, str, Path]] = []
    if kind == "skills":
        items = [(s.name, s.description, s.origin, s.path) for s in found.skills.values()]
    elif kind == "commands":
        items = [
            (f"/{c.name}" + (f" {c.argument_hint}" if c.argument_hint else ""), c.description, c.origin, c.path)
            for c in found.commands.values()
        ]
    else:
        items = [(a.name, a.description, a.origin, a.path) for a in found.agents.values()]
    for name, description, origin, path in sorted(items):
        print(f"{name}  [{origin}]  {description}\n    {path}")
    if not items:
        print(f"no {kind} found")
    print(f"\nsearched: {', '.join(str(p) for p in found.searched.get(kind, []))}")
    if not trusted:
        print(f"not searched: this project's .skipjack/{kind} and .claude/{kind} (the folder is not trusted; "
              "use --trust-project or add it to trusted_projects)")  # fmt: skip
    problems = [p for p in found.problems if p.kind == kind]
    for problem in problems:
        print(f"error: {problem}")
    return 1 if problems else 0
