"""Settings, API keys and project instructions.

load_config(cwd, env, overrides) -> LoadedConfig (settings, where each came from, warnings)
resolve_api_key(model, settings, env) -> the model's own provider's key, or None
load_instructions(cwd, repo_root) -> AGENTS.md / CLAUDE.md text and a fingerprint
"""

from __future__ import annotations

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
