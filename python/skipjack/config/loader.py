"""Settings from every layer, merged, with where each value came from.

Layers, later winning: defaults, the user config, project configs (repository root down to
cwd), environment variables, then overrides (command-line flags). Tables merge key by key;
`allow` and `deny` rules accumulate across layers, so a project can add rules but never drop
the user's. A project config whose folder the user has not trusted applies only its harmless
keys (`safety.trust`); the rest is kept in `LoadedConfig.ignored` and named in one warning.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import msgspec

from skipjack.config.files import (
    ConfigError,
    config_present,
    find_repo_root,
    locate_key,
    project_config_paths,
    read_toml,
    user_config_path,
    write_toml,
)
from skipjack.config.schema import Settings, parse_rule
from skipjack.llm_settings import RetryPolicy, Timeouts
from skipjack.safety.trust import (
    UNTRUSTED,
    IgnoredSetting,
    is_absolute_entry,
    is_trusted,
    partition,
    real_path,
    warning_line,
)

ENV_VARS: dict[str, str] = {
    "SKIPJACK_MODEL": "model",
    "SKIPJACK_APPROVAL_MODE": "approval_mode",
}
"""Environment variables that set a setting, and the setting."""

_ACCUMULATE = ("allow", "deny")
_DEFAULT = "default"


class LoadedConfig(msgspec.Struct, frozen=True):
    settings: Settings
    sources: dict[str, str]
    """Dotted key -> where its value came from (`default` when no layer set it)."""
    warnings: list[str]
    files: list[Path] = msgspec.field(default_factory=list)
    """The config files read, in merge order."""
    ignored: list[IgnoredSetting] = msgspec.field(default_factory=list)
    """Project settings that were not applied, with why (untrusted folder, user-only key)."""

    def source(self, key: str) -> str:
        return self.sources.get(key, _DEFAULT)

    def flat(self, *, redact: bool = True) -> dict[str, Any]:
        """Every setting as dotted key -> value, for display; API keys masked unless asked not to."""
        out = _flatten(msgspec.to_builtins(self.settings))
        if redact:
            for k, v in out.items():
                if k.startswith("keys.") and isinstance(v, str):
                    out[k] = v[:4] + "…" if len(v) > 12 else "…"
        return out

    def ignored_flat(self, *, redact: bool = True) -> list[tuple[IgnoredSetting, Any]]:
        """Each ignored setting with its value for display (API keys masked unless asked not to)."""
        out = []
        for item in self.ignored:
            value = item.value
            if redact and item.key.startswith("keys.") and isinstance(value, str):
                value = value[:4] + "…" if len(value) > 12 else "…"
            out.append((item, value))
        return out

    @property
    def untrusted_privileged(self) -> list[IgnoredSetting]:
        """The ignored settings that trusting the project folder would apply."""
        return [i for i in self.ignored if i.reason.startswith(UNTRUSTED)]


def load_config(
    cwd: Path,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    repo_root: Path | None = None,
    trust_project: bool = False,
) -> LoadedConfig:
    """`trust_project` trusts every project config of this load (`--trust-project`); otherwise
    a project config is trusted when its folder is in the user config's `trusted_projects`."""
    env = os.environ if env is None else env
    root = repo_root or find_repo_root(cwd)
    merged: dict[str, Any] = {}
    sources: dict[str, str] = {}
    warnings: list[str] = []
    files: list[Path] = []
    ignored: list[IgnoredSetting] = []

    user = user_config_path(env)
    layers: list[tuple[str, Path]] = [("user", user)] if config_present(user) else []
    layers += [("project", p) for p in project_config_paths(cwd, root) if p != user]
    for kind, path in layers:
        raw, text = read_toml(path)
        clean = _check_layer(raw, f"{kind} ({path})", warnings, path=path, text=text)
        if clean.get("keys"):
            warnings += _key_warnings(kind, path)
        label = f"{kind} ({path})"
        if kind == "user":
            warnings += [
                f"{path}: trusted_projects entry {entry!r} is not an absolute path; ignored"
                for entry in clean.get("trusted_projects", [])
                if not is_absolute_entry(entry)
            ]
        if kind == "project":
            # `trusted_projects` as the user's own config set it: no project layer can add to it.
            trusted = trust_project or is_trusted(path.parent.parent, merged.get("trusted_projects", []))
            clean, dropped = partition(clean, trusted=trusted)
            if not trusted:
                dropped.update(_unknown_providers(clean, merged))
                dropped.update(_more_patient(clean, merged))
            ignored += [IgnoredSetting(k, v, label, path, why) for k, (v, why) in dropped.items()]
        _merge(merged, clean, sources, label)
        files.append(path)
    if line := warning_line([i for i in ignored if i.reason.startswith(UNTRUSTED)], user):
        warnings.append(line)
    for item in ignored:
        if not item.reason.startswith(UNTRUSTED):
            warnings.append(f"{item.path}: {item.key} ignored ({item.reason})")

    for var, key in ENV_VARS.items():
        if env.get(var):
            env_layer: dict[str, Any] = {}
            _set_dotted(env_layer, key, env[var])
            label = f"env {var}"
            _merge(merged, _check_layer(env_layer, label, warnings, key_prefix=var), sources, label)

    if overrides:
        layer: dict[str, Any] = {}
        for key, value in overrides.items():
            _set_dotted(layer, key, value)
        _merge(merged, _check_layer(layer, "command line", warnings), sources, "command line")

    extra = merged.pop("extra", {})
    try:
        settings = msgspec.convert(merged, Settings)
    except msgspec.ValidationError as e:  # each layer passed alone, so only a mix can fail here
        raise ConfigError(str(e)) from e
    settings = msgspec.structs.replace(settings, extra=extra)
    return LoadedConfig(settings=settings, sources=sources, warnings=warnings, files=files, ignored=ignored)


def _unknown_providers(layer: dict[str, Any], merged: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """Drop from an untrusted layer a model whose provider neither the registry nor a trusted
    layer defines: an untrusted project picks among providers, it never brings one."""
    from skipjack.models import default_registry  # lazy: the registry imports this package

    known = set(default_registry().data.providers) | set(merged.get("providers", {}))
    out: dict[str, tuple[Any, str]] = {}
    for table, key in ((layer, "model"), (layer.get("compaction", {}), "model")):
        ref = table.get(key)
        if isinstance(ref, str) and ref.partition("/")[0] not in known:
            del table[key]
            dotted = "model" if table is layer else "compaction.model"
            out[dotted] = (ref, f"{UNTRUSTED}: provider {ref.partition('/')[0]!r} is not in the registry")
    return out


def _more_patient(layer: dict[str, Any], merged: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """Drop from an untrusted layer a `[retry]` or `[timeouts]` value above the one in effect
    (the user's, or the default): a project may make skipjack give up sooner, never wait or
    retry longer (`timeouts.total_ms = 10**15` and `retry.max_retries = 10**9` would keep a
    run against a failing provider going for ever)."""
    out: dict[str, tuple[Any, str]] = {}
    for table, defaults in (("retry", RetryPolicy()), ("timeouts", Timeouts())):
        values = layer.get(table)
        if not isinstance(values, dict):
            continue
        current = merged.get(table, {})
        for key in list(values):
            limit = current.get(key, getattr(defaults, key, None))
            value = values[key]
            if isinstance(value, int) and isinstance(limit, int) and value > limit:
                del values[key]
                out[f"{table}.{key}"] = (value, f"{UNTRUSTED}: above {limit}, the value in effect")
        if not values:
            del layer[table]
    return out


def set_config_value(path: Path, key: str | tuple[str, ...], value: Any) -> None:
    """Set one key in a config file (created if missing), validated before writing. `key` is
    dotted text, or the key's parts: a part may itself hold dots, slashes or spaces (a model
    named `gpt-4.1`), which the TOML written quotes."""
    data = read_toml(path)[0] if config_present(path) else {}
    _set_dotted(data, key, value)
    _check_layer(data, str(path), [], path=path)
    write_toml(path, data)


def add_trusted_project(user_config: Path, folder: Path) -> Path:
    """Remember `folder` (its real path) in the user config's `trusted_projects`; the file is
    kept at mode 0600 since it may hold keys. Returns the path written."""
    data = read_toml(user_config)[0] if user_config.exists() else {}
    current = data.get("trusted_projects", [])
    entry = str(real_path(folder))
    if not isinstance(current, list) or entry not in current:
        set_config_value(user_config, "trusted_projects", [*(current if isinstance(current, list) else []), entry])
    os.chmod(user_config, 0o600)
    return Path(entry)


# -- validation ------------------------------------------------------------------------------


@functools.cache
def _settings_info() -> Any:
    """The schema's type description, built once: msgspec builds it by introspecting every
    settings class, which cost a run's start several milliseconds per config layer."""
    return msgspec.inspect.type_info(Settings)


def _check_layer(
    raw: dict[str, Any],
    label: str,
    warnings: list[str],
    *,
    path: Path | None = None,
    text: str = "",
    key_prefix: str | None = None,
) -> dict[str, Any]:
    """Validate one layer alone; unknown keys become warnings and move to `extra`."""
    unknown: dict[str, Any] = {}
    typed = _known_file_layer(raw) if path is not None else None
    clean = raw
    if typed is None:
        try:
            clean = _split_unknown(raw, _settings_info(), "", unknown)
            typed = msgspec.convert(clean, Settings, strict=path is not None)
        except msgspec.ValidationError as e:
            raise _type_error(e, path, text, key_prefix, raw) from e
    if path is None:
        # Environment values and flags arrive as text; merge what they were converted to.
        clean = _typed_like(clean, msgspec.to_builtins(typed))
    for dotted in unknown:
        warnings.append(f"{label}: unknown key {dotted!r}{_did_you_mean(dotted)}; kept but not used")
    for name in _ACCUMULATE:
        for i, rule in enumerate(clean.get(name, [])):
            try:
                parse_rule(rule)
            except ValueError as e:
                dotted = f"{name}[{i}]"
                line = locate_key(text, name) if text else None
                raise ConfigError(str(e), path=path, key=key_prefix or dotted, line=line) from e
    if unknown:
        clean["extra"] = unknown
    return clean


def _known_file_layer(raw: dict[str, Any]) -> Settings | None:
    """The settings of a file layer that converts as it is, else None (then `_split_unknown`
    sorts it out).

    Every settings class forbids unknown fields, so a file that converts strictly has none, and
    each of its tables converts alone too: the walk over the schema's type description that
    finds unknown keys (several ms at each start, before `mcp.prestart` can spawn anything) is
    needed only for a file that does not. A top-level `extra` is the user's key, never ours."""
    if "extra" in raw:
        return None
    try:
        return msgspec.convert(raw, Settings, strict=True)
    except msgspec.ValidationError:
        return None


def _split_unknown(value: Any, info: msgspec.inspect.Type, path: str, unknown: dict[str, Any]) -> Any:
    if isinstance(info, msgspec.inspect.UnionType):
        structs = [t for t in info.types if isinstance(t, msgspec.inspect.StructType)]
        return _split_unknown(value, structs[0], path, unknown) if structs else value
    if not isinstance(value, dict):
        return value
    if isinstance(info, msgspec.inspect.StructType):
        fields = {f.encode_name: f for f in info.fields if not (path == "" and f.name == "extra")}
        out: dict[str, Any] = {}
        for k, v in value.items():
            f = fields.get(k)
            if f is None:
                unknown[path + k] = v
            else:
                out[k] = _split_unknown(v, f.type, f"{path}{k}.", unknown)
        return out
    if isinstance(info, msgspec.inspect.DictType) and isinstance(info.value_type, msgspec.inspect.StructType):
        checked: dict[str, Any] = {}
        for k, v in value.items():
            checked[k] = _split_unknown(v, info.value_type, f"{path}{k}.", unknown)
            try:
                msgspec.convert(checked[k], info.value_type.cls)
            except msgspec.ValidationError as e:
                # msgspec writes dict keys as `[...]`; name the entry here instead.
                raise _Nested(f"{path}{k}", e) from e
        return checked
    return value


def _typed_like(layer: dict[str, Any], typed: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in layer.items():
        t = typed.get(k, v)
        out[k] = _typed_like(v, t) if isinstance(v, dict) and isinstance(t, dict) else t
    return out


class _Nested(msgspec.ValidationError):
    def __init__(self, prefix: str, inner: msgspec.ValidationError) -> None:
        msg, _, rest = str(inner).partition(" - at `$")
        sub = rest.rstrip("`")
        super().__init__(f"{msg} - at `$.{prefix}{sub}`")


_AT = re.compile(r"^(.*?)(?: - at `\$\.?(.*)`)?$", re.S)


def _type_error(
    e: msgspec.ValidationError, path: Path | None, text: str, key_prefix: str | None, raw: dict[str, Any]
) -> ConfigError:
    m = _AT.match(str(e))
    msg, dotted = (m.group(1), m.group(2) or "") if m else (str(e), "")
    if "[...]" in dotted:  # msgspec does not name a table's entry (`keys[...]`): find it
        dotted = _bad_entry(raw, dotted)
    msg = msg.replace("`", "")
    if dotted == "model" and "regex" in msg:
        msg = "expected provider/model-id, e.g. anthropic/claude-sonnet-4-5"
    line = locate_key(text, dotted) if text and dotted else None
    return ConfigError(msg, path=path, key=key_prefix or dotted or None, line=line)


def _bad_entry(raw: dict[str, Any], dotted: str) -> str:
    """`keys[...]` → `keys.openai`: the first entry of that table which alone fails to convert."""
    head, _, rest = dotted.partition("[...]")
    parts = head.split(".")
    table: Any = raw
    for part in parts:
        table = table.get(part) if isinstance(table, dict) else None
    if not isinstance(table, dict):
        return dotted.replace("[...]", "")
    for name, value in table.items():
        trial: dict[str, Any] = {}
        node = trial
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = {name: value}
        try:
            msgspec.convert(trial, Settings, strict=True)
        except msgspec.ValidationError:
            return f"{head}.{name}{rest}"
    return dotted.replace("[...]", "")


def _did_you_mean(dotted: str) -> str:
    head, _, leaf = dotted.rpartition(".")
    info: Any = _settings_info()
    for part in head.split(".") if head else []:
        if isinstance(info, msgspec.inspect.StructType):
            info = next((f.type for f in info.fields if f.encode_name == part), None)
        elif isinstance(info, msgspec.inspect.DictType):
            info = info.value_type
        if isinstance(info, msgspec.inspect.UnionType):
            info = next((t for t in info.types if isinstance(t, msgspec.inspect.StructType)), None)
    if not isinstance(info, msgspec.inspect.StructType):
        return ""
    import difflib  # only for a misspelt key: the common start reads the config without it

    close = difflib.get_close_matches(leaf, [f.encode_name for f in info.fields if f.name != "extra"], n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _key_warnings(kind: str, path: Path) -> list[str]:
    out = []
    if kind == "project":
        out.append(f"{path}: API keys in a project config are easy to commit; prefer environment variables")
    if os.name == "posix" and path.stat().st_mode & 0o077:
        out.append(f"{path}: holds API keys but others can read it; run chmod 600 {path}")
    return out


# -- merging ---------------------------------------------------------------------------------


def _merge(into: dict[str, Any], layer: dict[str, Any], sources: dict[str, str], label: str, prefix: str = "") -> None:
    for k, v in layer.items():
        dotted = prefix + k
        if not prefix and k in _ACCUMULATE:
            rules = into.setdefault(k, [])
            rules += [r for r in v if r not in rules]
            sources[dotted] = f"{sources[dotted]}, {label}" if dotted in sources else label
        elif not prefix and k == "hooks" and isinstance(v, dict):
            _merge_hooks(into.setdefault("hooks", {}), v, sources, label)
        elif isinstance(v, dict) and isinstance(into.get(k), dict):
            _merge(into[k], v, sources, label, dotted + ".")
        else:
            into[k] = v
            for leaf in _flatten(v, dotted) if isinstance(v, dict) else {dotted: v}:
                sources[leaf] = label


def _merge_hooks(into: dict[str, Any], layer: dict[str, Any], sources: dict[str, str], label: str) -> None:
    """Hooks add up across layers (a project's never replaces the user's guard), and only the
    user's own config may run a hook outside the sandbox."""
    for event, groups in layer.items():
        if label.startswith("project"):
            groups = [{**g, "hooks": [{**h, "sandbox": True} for h in g.get("hooks", [])]} for g in groups]
        into.setdefault(event, []).extend(groups)
        dotted = f"hooks.{event}"
        sources[dotted] = f"{sources[dotted]}, {label}" if dotted in sources else label


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict) and value:
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _set_dotted(data: dict[str, Any], key: str | tuple[str, ...], value: Any) -> None:
    parts = key.split(".") if isinstance(key, str) else list(key)
    key = ".".join(key) if isinstance(key, tuple) else key
    for part in parts[:-1]:
        nxt = data.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"{part} is not a table", key=key)
        data = nxt
    data[parts[-1]] = value
