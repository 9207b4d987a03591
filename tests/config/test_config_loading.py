"""Config layers merged from real files in tmp_path, with provenance, errors and warnings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from skipjack.config import (
    ConfigError,
    Settings,
    load_config,
    parse_rule,
    project_config_paths,
    set_config_value,
    user_config_path,
)
from skipjack.llm.types import RetryPolicy


@pytest.fixture
def home(tmp_path: Path) -> Path:
    d = tmp_path / "userconf"
    d.mkdir()
    return d


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    r = tmp_path / "outer" / "repo"
    (r / ".git").mkdir(parents=True)
    (r / "pkg" / "sub").mkdir(parents=True)
    return r


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {"SKIPJACK_CONFIG_DIR": str(home), **extra}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_defaults_without_any_file(home: Path, repo: Path) -> None:
    cfg = load_config(repo, _env(home))
    assert cfg.settings == Settings()
    assert cfg.settings.approval_mode == "ask"
    assert cfg.settings.retry == RetryPolicy()
    assert (cfg.files, cfg.warnings, cfg.sources) == ([], [], {})
    assert cfg.source("model") == "default"
    assert cfg.flat()["compaction.reserve_tokens"] == 16_384


def test_layers_merge_in_order_and_say_where_each_value_came_from(home: Path, repo: Path) -> None:
    user = _write(
        home / "config.toml",
        # The project may set its approval mode only once trusted (tests/security/test_trust.py).
        f"trusted_projects = [{str(repo)!r}]\n"
        'model = "anthropic/claude-sonnet-4-5"\napproval_mode = "auto-edit"\n'
        "[compaction]\nreserve_tokens = 8000\n[retry]\nmax_retries = 2\n",
    )
    root_proj = _write(
        repo / ".skipjack/config.toml", 'approval_mode = "plan"\n[compaction]\nkeep_recent_tokens = 5000\n'
    )
    sub_proj = _write(repo / "pkg/.skipjack/config.toml", "[retry]\nmax_retries = 7\n")
    # Above the repository root: not part of this project.
    _write(repo.parent / ".skipjack/config.toml", 'model = "outside/never"\n')

    cwd = repo / "pkg" / "sub"
    cfg = load_config(cwd, _env(home))
    s = cfg.settings
    assert cfg.files == [user, root_proj, sub_proj]
    assert s.model == "anthropic/claude-sonnet-4-5"
    assert s.approval_mode == "plan"
    assert (s.compaction.reserve_tokens, s.compaction.keep_recent_tokens) == (8000, 5000)
    assert s.retry.max_retries == 7
    assert cfg.source("model") == f"user ({user})"
    assert cfg.source("approval_mode") == f"project ({root_proj})"
    assert cfg.source("compaction.reserve_tokens") == f"user ({user})"
    assert cfg.source("compaction.keep_recent_tokens") == f"project ({root_proj})"
    assert cfg.source("retry.max_retries") == f"project ({sub_proj})"
    assert cfg.source("timeouts.idle_ms") == "default"

    # Environment beats files; overrides (flags) beat everything.
    cfg = load_config(
        cwd,
        _env(home, SKIPJACK_MODEL="openai/gpt-4o", SKIPJACK_APPROVAL_MODE="yolo"),
        {"model": "deepseek/deepseek-chat", "compaction.reserve_tokens": "2048"},
    )
    assert cfg.settings.model == "deepseek/deepseek-chat"
    assert cfg.source("model") == "command line"
    assert cfg.settings.approval_mode == "yolo"
    assert cfg.source("approval_mode") == "env SKIPJACK_APPROVAL_MODE"
    assert cfg.settings.compaction.reserve_tokens == 2048
    assert cfg.source("compaction.reserve_tokens") == "command line"


def test_rules_accumulate_so_a_project_cannot_drop_the_users_denials(home: Path, repo: Path) -> None:
    user = _write(home / "config.toml", 'deny = ["bash: rm -rf *"]\nallow = ["read: *"]\n')
    proj = _write(repo / ".skipjack/config.toml", 'deny = ["bash: curl *"]\nallow = ["bash: git status", "read: *"]\n')
    untrusted = load_config(repo, _env(home))
    assert untrusted.settings.deny == ["bash: rm -rf *", "bash: curl *"]
    assert untrusted.settings.allow == ["read: *"], "an untrusted project adds no allow rule"
    cfg = load_config(repo, _env(home), trust_project=True)
    assert cfg.settings.deny == ["bash: rm -rf *", "bash: curl *"]
    assert cfg.settings.allow == ["read: *", "bash: git status"]
    assert cfg.source("deny") == f"user ({user}), project ({proj})"
    assert [parse_rule(r).tool for r in cfg.settings.deny] == ["bash", "bash"]
    assert parse_rule(" edit : src/** ").pattern == "src/**"
    assert parse_rule("edit:").pattern == "*"
    with pytest.raises(ValueError, match="tool: pattern"):
        parse_rule("edit")


def test_outside_a_repository_only_the_cwd_project_config_counts(home: Path, tmp_path: Path) -> None:
    cwd = tmp_path / "plain" / "dir"
    _write(tmp_path / "plain/.skipjack/config.toml", 'model = "a/b"\n')
    own = _write(cwd / ".skipjack/config.toml", 'model = "c/d"\n')
    assert project_config_paths(cwd, None) == [own]
    assert load_config(cwd, _env(home), trust_project=True).settings.model == "c/d"


def test_malformed_toml_reports_file_line_and_column(home: Path, repo: Path) -> None:
    bad = _write(repo / ".skipjack/config.toml", 'model = "a/b"\n\n[compaction]\nreserve_tokens = = 3\n')
    with pytest.raises(ConfigError) as exc:
        load_config(repo, _env(home))
    e = exc.value
    assert (e.path, e.line, e.column) == (bad, 4, 18)
    assert str(e).startswith(f"{bad}:4:18: invalid TOML: ")


def test_toml_error_at_end_of_file_points_at_the_last_line(home: Path, repo: Path) -> None:
    bad = _write(home / "config.toml", 'model = "a/b"\nallow = ["x: y"')
    with pytest.raises(ConfigError) as exc:
        load_config(repo, _env(home))
    assert (exc.value.path, exc.value.line) == (bad, 2)


@pytest.mark.parametrize(
    ("text", "key", "line", "words"),
    [
        ('model = "a/b"\n[compaction]\nreserve_tokens = "lots"\n', "compaction.reserve_tokens", 3, "Expected int"),
        ('model = "gpt-4o"\n', "model", 1, "provider/model-id"),
        ('approval_mode = "never"\n', "approval_mode", 1, "never"),
        ('allow = ["read: *", "no rule here"]\n', "allow[1]", 1, "tool: pattern"),
        ("retry = 3\n", "retry", 1, "Expected object"),
        (
            '[providers.local]\nbase_url = "http://x/v1"\napi = "openai-chat"\n'
            "[providers.local.models.qwen]\nprice = { input = -1, output = 1 }\n",
            "providers.local.models.qwen.price.input",
            5,
            ">= 0",
        ),
        ('[providers.local]\napi = "grpc"\n', "providers.local.api", 2, "grpc"),
    ],
)
def test_wrong_types_name_the_file_and_key(home: Path, repo: Path, text: str, key: str, line: int, words: str) -> None:
    bad = _write(repo / ".skipjack/config.toml", text)
    with pytest.raises(ConfigError) as exc:
        load_config(repo, _env(home))
    e = exc.value
    assert (e.path, e.key, e.line) == (bad, key, line)
    assert words in e.message
    assert str(e).startswith(f"{bad}:{line}: {key}: ")


def test_a_bad_environment_value_names_the_variable(home: Path, repo: Path) -> None:
    with pytest.raises(ConfigError) as exc:
        load_config(repo, _env(home, SKIPJACK_APPROVAL_MODE="sometimes"))
    assert exc.value.key == "SKIPJACK_APPROVAL_MODE"
    assert exc.value.path is None


def test_unknown_keys_warn_and_are_kept(home: Path, repo: Path) -> None:
    user = _write(home / "config.toml", 'theme = "dark"\n[compaction]\nreserv_tokens = 1\n')
    proj = _write(
        repo / ".skipjack/config.toml",
        'theme = "light"\n[providers.local]\nbase_url = "http://x/v1"\napi = "openai-chat"\ncolour = "red"\n',
    )
    cfg = load_config(repo, _env(home), trust_project=True)  # an untrusted project's are ignored
    assert cfg.settings.extra == {"theme": "light", "compaction.reserv_tokens": 1, "providers.local.colour": "red"}
    assert cfg.settings.providers["local"].base_url == "http://x/v1"
    assert len(cfg.warnings) == 4
    assert f"user ({user}): unknown key 'compaction.reserv_tokens' (did you mean 'reserve_tokens'?)" in cfg.warnings[1]
    assert any(w.startswith(f"project ({proj}): unknown key 'providers.local.colour'") for w in cfg.warnings)
    assert cfg.source("extra.theme") == f"project ({proj})"


def test_keys_in_config_files_are_warned_about(home: Path, repo: Path) -> None:
    user = _write(home / "config.toml", '[keys]\nanthropic = "sk-ant-1"\n')
    os.chmod(user, 0o600)
    assert load_config(repo, _env(home)).warnings == []
    os.chmod(user, 0o644)
    [warning] = load_config(repo, _env(home)).warnings
    assert "chmod 600" in warning
    os.chmod(user, 0o600)
    _write(repo / ".skipjack/config.toml", '[keys]\nopenai = "sk-2"\n')
    assert load_config(repo, _env(home)).settings.keys == {"anthropic": "sk-ant-1"}, "untrusted: ignored"
    cfg = load_config(repo, _env(home), trust_project=True)
    assert cfg.settings.keys == {"anthropic": "sk-ant-1", "openai": "sk-2"}
    # `config show` must not print them.
    assert cfg.flat()["keys.anthropic"] == "…"
    assert cfg.flat(redact=False)["keys.openai"] == "sk-2"
    assert any("easy to commit" in w for w in cfg.warnings)


def test_set_config_value_writes_a_file_that_loads_back(home: Path, repo: Path) -> None:
    path = user_config_path(_env(home))
    assert path == home / "config.toml"
    set_config_value(path, "model", "openai/gpt-4o")
    set_config_value(path, "compaction.reserve_tokens", 4096)
    cfg = load_config(repo, _env(home))
    assert cfg.settings.model == "openai/gpt-4o"
    assert cfg.settings.compaction.reserve_tokens == 4096
    before = path.read_bytes()
    with pytest.raises(ConfigError, match="approval_mode"):
        set_config_value(path, "approval_mode", "sometimes")
    assert path.read_bytes() == before
    assert sorted(p.name for p in home.iterdir()) == ["config.toml"]
