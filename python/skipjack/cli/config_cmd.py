"""`skipjack config`: show the merged settings and where each came from; `path`; `init`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from skipjack.cli.errors import UserError

TEMPLATE = """\
# skipjack user configuration. Project settings go in .skipjack/config.toml in a repository.

# The default model, provider/model-id (see `skipjack models search WORD`).
# model = "anthropic/claude-sonnet-4-5"

# ask (default) | auto-edit | yolo | plan
# approval_mode = "ask"

# Commands and tools that never ask, and ones that never run (deny wins).
# allow = ["bash: git status*", "bash: pytest *"]
# deny = ["bash: rm -rf *"]

# The OS sandbox shell commands run in (bubblewrap). Only this user file may set it.
# [sandbox]
# mode = "workspace-write"   # read-only | workspace-write | full-access (default: from approval_mode)
# network = false            # network inside the sandbox (default: off unless full-access)

# A local or self-hosted OpenAI-compatible server:
# [providers.local]
# base_url = "http://127.0.0.1:8080/v1"
# api = "openai-chat"
# [providers.local.models.my-model]
# context_window = 32768
# max_output = 4096
"""


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("config", help="show the merged configuration, its file paths, or create one")
    csub = p.add_subparsers(dest="config_command")
    csub.add_parser("show", help="every setting, its value, and where it came from")
    csub.add_parser("path", help="the config files skipjack reads")
    csub.add_parser("init", help="create the user config file with commented examples")


def run(args: argparse.Namespace, cwd: Path) -> int:
    from skipjack.config import ConfigError, load_config, project_config_paths, user_config_path
    from skipjack.config.files import find_repo_root

    command = args.config_command or "show"
    user = user_config_path(os.environ)
    if command == "path":
        print(f"user     {user}{'' if user.exists() else '  (not created)'}")
        for path in project_config_paths(cwd, find_repo_root(cwd)):
            print(f"project  {path}")
        return 0
    if command == "init":
        if user.exists():
            raise UserError(f"{user} already exists; edit it, or remove it first")
        user.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(user, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(TEMPLATE)
        print(f"created {user}")
        return 0
    try:
        loaded = load_config(cwd)
    except ConfigError as e:
        raise UserError(str(e)) from e
    for warning in loaded.warnings:
        print(f"warning: {warning}")
    for key, value in sorted(loaded.flat().items()):
        print(f"{key} = {value!r}    # {loaded.source(key)}")
    for item, value in loaded.ignored_flat():
        print(f"{item.key} = {value!r}    # {item.source}; ignored: {item.reason}")
    return 0
