"""Trust of project folders: what a repository's own `.skipjack/config.toml` may set.

A cloned repository is someone else's code. Until the user trusts its folder, its config may
only tune harmless things; anything that decides what runs without asking, what a command may
touch, or where a credential goes stays the user's. The rule is an allow-list, so a key added
to the schema later is privileged until someone decides here that it is harmless.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import msgspec

HARMLESS_PROJECT_KEYS: tuple[str, ...] = (
    # The model among providers skipjack already knows (the registry's or the user's own);
    # `check_model_ref` rejects a provider only the project defines.
    "model",
    # Compaction tuning; its summary model follows the same rule as `model`.
    "compaction.enabled",
    "compaction.reserve_tokens",
    "compaction.keep_recent_tokens",
    "compaction.model",
    # How patiently requests are retried and timed out: never where they go.
    "retry.*",
    "timeouts.*",
    # Deny rules only ever take permissions away.
    "deny",
)
"""Dotted keys (`table.*` for every key of a table) an untrusted project config may set.
Everything else (approval_mode, allow, providers, keys, shell, sandbox, trusted_projects, and
any key this list does not name) is privileged. Instructions (AGENTS.md) are not config and
are always read."""

USER_ONLY_KEYS: tuple[str, ...] = ("trusted_projects", "shell.env_passthrough")
"""Keys only the user config may set, even from a trusted project: a project cannot trust
itself, nor hand the model's shell a credential."""

UNTRUSTED = "untrusted project"
USER_ONLY = "only the user config may set this"


class IgnoredSetting(msgspec.Struct, frozen=True):
    # A Struct, not a dataclass: defining one costs ~1 ms at every start (`mcp.prestart`).
    key: str
    """Dotted key as written in the file."""
    value: Any
    source: str
    """The layer it came from, e.g. `project (/r/.skipjack/config.toml)`."""
    path: Path
    reason: str


def is_harmless(dotted: str) -> bool:
    for allowed in HARMLESS_PROJECT_KEYS:
        if allowed.endswith(".*"):
            if dotted.startswith(allowed[:-1]):
                return True
        elif dotted == allowed:
            return True
    return False


def real_path(text: str | Path) -> Path:
    """One spelling per folder: `~` expanded, `..` and symlinks resolved."""
    return Path(os.path.realpath(os.path.expanduser(str(text).strip())))


def is_absolute_entry(entry: str) -> bool:
    """Only absolute (or `~`) entries count: a relative one would trust wherever skipjack runs."""
    return os.path.isabs(os.path.expanduser(str(entry).strip()))


def is_trusted(folder: Path, trusted: Iterable[str]) -> bool:
    """Whether `folder` is one of `trusted` or lies inside one, comparing real paths."""
    here = real_path(folder)
    for entry in trusted:
        if not is_absolute_entry(entry):
            continue
        root = real_path(entry)
        if here == root or root in here.parents:
            return True
    return False


def partition(layer: Mapping[str, Any], *, trusted: bool) -> tuple[dict[str, Any], dict[str, tuple[Any, str]]]:
    """Split one project layer into what applies and what is ignored (dotted key -> value, reason).

    `layer` is a checked layer; its `extra` holds unknown keys by dotted path, which are
    privileged like any key the allow-list does not name.
    """
    kept: dict[str, Any] = {}
    ignored: dict[str, tuple[Any, str]] = {}
    for dotted, value in dict(layer.get("extra", {})).items():
        if trusted:
            kept.setdefault("extra", {})[dotted] = value
        else:
            ignored.update({leaf: (v, UNTRUSTED) for leaf, v in _leaves(dotted, value).items()})
    for key, value in layer.items():
        if key == "extra":
            continue
        _split(key, value, kept, ignored, trusted=trusted)
    return kept, ignored


def _split(
    dotted: str, value: Any, kept: dict[str, Any], ignored: dict[str, tuple[Any, str]], *, trusted: bool
) -> None:
    if any(dotted == k or dotted.startswith(k + ".") for k in USER_ONLY_KEYS):
        ignored[dotted] = (value, USER_ONLY)
        return
    # A table holding keys judged one by one: split it, so `[compaction]` keeps its harmless
    # keys and `[shell]` loses its user-only ones whatever the trust.
    judged = USER_ONLY_KEYS if trusted else (*USER_ONLY_KEYS, *HARMLESS_PROJECT_KEYS)
    if isinstance(value, dict) and value and any(k.startswith(dotted + ".") for k in judged):
        for k, v in value.items():
            _split(f"{dotted}.{k}", v, kept, ignored, trusted=trusted)
        return
    if trusted or is_harmless(dotted):
        _put(kept, dotted, value)
        return
    for leaf, v in _leaves(dotted, value).items():
        ignored[leaf] = (v, UNTRUSTED)


def _leaves(prefix: str, value: Any) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_leaves(f"{prefix}.{k}", v))
        return out
    return {prefix: value}


def _put(into: dict[str, Any], dotted: str, value: Any) -> None:
    *tables, leaf = dotted.split(".")
    for t in tables:
        into = into.setdefault(t, {})
    into[leaf] = value


def warning_line(ignored: Iterable[IgnoredSetting], user_config: Path) -> str | None:
    """The one warning line naming every ignored project setting, grouped by file."""
    by_file: dict[Path, list[str]] = {}
    for item in ignored:
        by_file.setdefault(item.path, []).append(item.key)
    if not by_file:
        return None
    parts = [f"{path}: {', '.join(keys)}" for path, keys in by_file.items()]
    return (
        f"ignored untrusted project settings in {'; '.join(parts)} "
        f"(trust this folder with --trust-project or add it to trusted_projects in {user_config})"
    )
