"""`skipjack config`: show the merged settings and where each came from; `path`; `init`."""

from __future__ import annotations

import argparse
import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from skipjack.errors import UserError

if TYPE_CHECKING:
    from skipjack.config import LoadedConfig

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
    for line in show_lines(loaded):
        print(line)
    return 0


def show_lines(loaded: LoadedConfig) -> list[str]:
    """The merged settings as TOML that reads back to the same values, each line commented
    with where it came from; unset and ignored settings are commented out."""
    import msgspec

    lines = [f"# warning: {w}" for w in loaded.warnings]
    for parts, value in _leaves(msgspec.to_builtins(loaded.settings), ()):
        dotted = ".".join(parts)
        if parts[0] == "keys" and isinstance(value, str):
            value = _mask(value)
        key = ".".join(_toml_key(p) for p in parts)
        if value is None:
            lines.append(f"# {key} = (not set)    # {loaded.source(dotted)}")
        else:
            lines.append(f"{key} = {_toml_value(value)}    # {loaded.source(dotted)}")
    for item, ignored in loaded.ignored_flat():
        shown = "(not set)" if ignored is None else _toml_value(ignored)
        lines.append(f"# {item.key} = {shown}    # {item.source}; ignored: {item.reason}")
    return lines


def _leaves(value: Any, parts: tuple[str, ...]) -> list[tuple[tuple[str, ...], Any]]:
    if isinstance(value, dict) and value:
        out: list[tuple[tuple[str, ...], Any]] = []
        for k in sorted(value):
            out += _leaves(value[k], (*parts, str(k)))
        return out
    return [(parts, value)]


def _toml_key(part: str) -> str:
    # A model id such as `gpt-4.1` must stay one key, not two tables.
    return part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else json.dumps(part, ensure_ascii=False)


def _toml_value(value: Any) -> str:
    import tomli_w

    if isinstance(value, dict):
        return (
            "{}"
            if not value
            else "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    if isinstance(value, list):  # on one line, so each setting stays one line
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return tomli_w.dumps({"v": value}).strip().removeprefix("v = ")


def _mask(key: str) -> str:
    return key[:4] + "…" if len(key) > 12 else "…"
