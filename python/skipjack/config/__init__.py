"""Settings, API keys and project instructions.

load_config(cwd, env, overrides) -> LoadedConfig (settings, where each came from, warnings)
resolve_api_key(model, settings, env) -> the model's own provider's key, or None
load_instructions(cwd, repo_root) -> AGENTS.md / CLAUDE.md text and a fingerprint

Each name is imported from its module on first use (PEP 562): `mcp.prestart` reads the config
first thing after launch to spawn the MCP servers, and must not pay for the instructions or
the keys (which load the `llm` package, and with it asyncio and the native core).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from skipjack.config.files import ConfigError, find_repo_root, project_config_paths, user_config_path
    from skipjack.config.instructions import Instructions, InstructionsWatcher, load_instructions
    from skipjack.config.keys import api_key_source, missing_key_hint, resolve_api_key
    from skipjack.config.loader import ENV_VARS, LoadedConfig, load_config, set_config_value
    from skipjack.config.schema import (
        ApprovalMode,
        CompactionSettings,
        ModelConfig,
        ProviderConfig,
        Rule,
        Settings,
        parse_rule,
    )

_MODULE_OF = {
    "ConfigError": "files",
    "find_repo_root": "files",
    "project_config_paths": "files",
    "user_config_path": "files",
    "Instructions": "instructions",
    "InstructionsWatcher": "instructions",
    "load_instructions": "instructions",
    "api_key_source": "keys",
    "missing_key_hint": "keys",
    "resolve_api_key": "keys",
    "ENV_VARS": "loader",
    "LoadedConfig": "loader",
    "load_config": "loader",
    "set_config_value": "loader",
    "ApprovalMode": "schema",
    "CompactionSettings": "schema",
    "ModelConfig": "schema",
    "ProviderConfig": "schema",
    "Rule": "schema",
    "Settings": "schema",
    "parse_rule": "schema",
}

__all__ = [
    "ENV_VARS",
    "ApprovalMode",
    "CompactionSettings",
    "ConfigError",
    "Instructions",
    "InstructionsWatcher",
    "LoadedConfig",
    "ModelConfig",
    "ProviderConfig",
    "Rule",
    "Settings",
    "api_key_source",
    "find_repo_root",
    "load_config",
    "load_instructions",
    "missing_key_hint",
    "parse_rule",
    "project_config_paths",
    "resolve_api_key",
    "set_config_value",
    "user_config_path",
]


if not TYPE_CHECKING:  # so mypy still rejects a name this package does not export

    def __getattr__(name: str) -> Any:
        module = _MODULE_OF.get(name)
        if module is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(f"{__name__}.{module}"), name)
        globals()[name] = value  # later lookups skip this function
        return value
