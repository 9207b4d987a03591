"""Reading the config loads little (it runs first thing after launch, before the MCP servers
are spawned), and the shortcuts that make it so change nothing about what a config means."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

import skipjack.config
from skipjack.config import load_config, loader

CONFIGS = [
    # Known keys only: the layer converts as it is (the shortcut).
    'model = "a/b"\n[mcp.servers.t]\ncommand = "x"\nargs = ["1"]\n[retry]\nmax_retries = 2\n',
    # A top-level `extra` is the user's key, never a way to write the settings' own `extra`.
    'extra = { theme = "dark" }\nmodel = "a/b"\n',
    "[extra]\nmodel = 1\n",
    # Unknown keys at every depth, and misspelt ones.
    'theme = "dark"\n[compaction]\nreserv_tokens = 1\n',
    '[mcp.servers.t]\ncomand = "x"\n',
    '[mcp.servers.t]\ncommand = "x"\n[mcp.servers.t.env]\nA = "1"\n[mcp.serverz.u]\ncommand = "y"\n',
    '[providers.local]\nbase_url = "http://x/v1"\napi = "openai-chat"\ncolour = "red"\n',
    '[[hooks.PreToolUse]]\nmatcher = "bash"\nhooks = [{ type = "command", command = "x", colour = 1 }]\n',
    # Privileged keys, which an untrusted project layer must still lose after either path.
    'approval_mode = "yolo"\nallow = ["bash: *"]\n[mcp.servers.evil]\ncommand = "/bin/sh"\n',
    'trusted_projects = ["/"]\n[shell]\nenv_passthrough = ["AWS_SECRET_ACCESS_KEY"]\n',
]


def _load(tmp_path: Path, text: str, where: str, *, trust: bool) -> object:
    home = tmp_path / "home"
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True, exist_ok=True)
    path = home / "config.toml" if where == "user" else repo / ".skipjack" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    try:
        return load_config(repo, {"SKIPJACK_CONFIG_DIR": str(home)}, trust_project=trust)
    except Exception as e:  # the same error either way is part of the same meaning
        return (type(e), str(e))
    finally:
        path.unlink()


@pytest.mark.parametrize("text", CONFIGS)
@pytest.mark.parametrize(("where", "trust"), [("user", False), ("project", False), ("project", True)])
def test_the_shortcut_for_known_keys_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, where: str, trust: bool
) -> None:
    fast = _load(tmp_path, text, where, trust=trust)
    monkeypatch.setattr(loader, "_known_file_layer", lambda raw: None)
    slow = _load(tmp_path, text, where, trust=trust)
    assert fast == slow
    if where == "project" and not trust and not isinstance(fast, tuple):
        assert isinstance(fast, loader.LoadedConfig)
        assert not fast.settings.mcp.servers
        assert fast.settings.approval_mode == "ask"
        assert fast.settings.allow == []
        assert fast.settings.trusted_projects == []


def test_the_shortcut_is_taken_only_for_a_layer_without_unknown_keys() -> None:
    assert loader._known_file_layer({"model": "a/b", "mcp": {"servers": {"t": {"command": "x"}}}}) is not None
    for raw in (
        {"extra": {}},
        {"theme": "dark"},
        {"mcp": {"servers": {"t": {"comand": "x"}}}},
        {"approval_mode": "sometimes"},
        {"retry": {"max_retries": "2"}},  # a file's values are typed: no conversion from text
    ):
        assert loader._known_file_layer(raw) is None, raw


def test_every_exported_name_resolves_to_its_module_object() -> None:
    for name in skipjack.config.__all__:
        value = getattr(skipjack.config, name)
        module = importlib.import_module(f"skipjack.config.{skipjack.config._MODULE_OF[name]}")
        assert value is getattr(module, name), name
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        skipjack.config.nonsense  # noqa: B018
    with pytest.raises(ImportError):
        exec("from skipjack.config import nonsense", {})
    star: dict[str, object] = {}
    exec("from skipjack.config import *", star)
    assert set(skipjack.config.__all__) <= set(star)


def test_the_settings_types_are_the_llm_packages_own() -> None:
    import skipjack.llm
    import skipjack.llm.types
    import skipjack.llm_settings as leaf
    from skipjack.config import schema

    for name in ("Api", "Price", "RetryPolicy", "Timeouts", "StreamLimits"):
        assert getattr(skipjack.llm.types, name) is getattr(leaf, name)
        assert getattr(schema, name) is getattr(leaf, name)
    for name in ("Price", "RetryPolicy", "Timeouts", "StreamLimits"):
        assert getattr(skipjack.llm, name) is getattr(leaf, name)
    model = skipjack.llm.types.Model("p", "m", "openai-chat", "http://x", price=leaf.Price(1, 2))
    assert msgspec.json.decode(msgspec.json.encode(model), type=skipjack.llm.types.Model) == model


def test_reading_the_config_alone_loads_neither_the_core_nor_asyncio(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('model = "a/b"\n[mcp.servers.t]\ncommand = "x"\n')
    code = (
        "import sys; from pathlib import Path; from skipjack.config import load_config; "
        f"c = load_config(Path({str(tmp_path)!r}), {{'SKIPJACK_CONFIG_DIR': {str(tmp_path)!r}}}); "
        "assert c.settings.mcp.servers['t'].command == 'x'; "
        "print(' '.join(sorted(m for m in sys.modules if m in "
        "('asyncio', 'skipjack._llm', 'skipjack.llm', 'platformdirs', 'tomli_w'))))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == []
