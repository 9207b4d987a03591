"""What a newcomer meets first: help that lists the UI's flags, a UI that never starts on a
pipe, a bare model id resolved when it is unambiguous, readable listings."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cli.helpers import SKIPJACK, isolated_env, run_cli

from skipjack.testing import ScriptedTurn, SSEServer
from skipjack.testing.scripted import turn_reply


def test_help_lists_the_ui_flags(tmp_path: Path) -> None:
    out = run_cli("--help", cwd=tmp_path)
    assert out.returncode == 0
    for flag in ("--model", "--approval", "--continue", "--max-cost", "--cwd"):
        assert flag in out.stdout


def test_help_after_a_flag_value_is_help_not_a_prompt(tmp_path: Path) -> None:
    out = run_cli("--model", "openai/gpt-4o", "--help", cwd=tmp_path, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    assert "usage: skipjack" in out.stdout
    assert out.stderr == ""


def test_a_flag_value_named_like_a_subcommand_is_a_value(tmp_path: Path) -> None:
    # `--model run` must not be read as the `run` subcommand.
    out = run_cli("--model", "run", "hello", cwd=tmp_path, env=isolated_env(tmp_path), input="")
    assert "unknown model 'run'" in out.stderr
    assert out.returncode == 2


def test_ui_on_a_pipe_runs_headless_and_exits(tmp_path: Path) -> None:
    with SSEServer() as server:
        server.enqueue(turn_reply(ScriptedTurn(text="Hello from the pipe.")))
        out = subprocess.run(
            [str(SKIPJACK), "--model", "local/m", "--base-url", server.url, "say hello"],
            cwd=tmp_path,
            env={**isolated_env(tmp_path), "PATH": "/usr/bin:/bin"},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "Hello from the pipe."
    assert "\x1b[" not in out.stdout  # no full-screen escape codes written into the pipe
    assert "not a terminal" in out.stderr


def test_bare_model_id_resolves_to_the_one_provider_with_a_key(tmp_path: Path) -> None:
    env = isolated_env(tmp_path) | {"OPENAI_API_KEY": "sk-test", "SKIPJACK_DATA_DIR": str(tmp_path / "d")}
    # `config show`-free check: the resolution error names the candidates when no key picks one.
    ambiguous = run_cli("run", "--model", "gpt-4o-mini", "hi", cwd=tmp_path, env=isolated_env(tmp_path))
    assert ambiguous.returncode == 2
    assert "openai/gpt-4o-mini" in ambiguous.stderr
    assert "pass --model provider/model-id" in ambiguous.stderr
    assert "Traceback" not in ambiguous.stderr
    # With only OPENAI_API_KEY set, the bare id is OpenAI's: the run gets as far as the
    # request (to a closed local port via the provider override), not a "no model" error.
    from skipjack.config.schema import Settings
    from skipjack.models import default_registry
    from skipjack.runtime import _bare_model

    model = _bare_model("gpt-4o-mini", default_registry(), Settings(), env)
    assert (model.provider, model.id) == ("openai", "gpt-4o-mini")


def test_a_typo_in_the_config_is_named_where_the_user_is(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    config = Path(env["SKIPJACK_CONFIG_DIR"])
    config.mkdir(parents=True)
    (config / "config.toml").write_text('modle = "openai/gpt-4o"\n')
    out = run_cli("run", "hi", cwd=tmp_path, env=env)
    assert out.returncode == 2
    assert "no model chosen" in out.stderr
    assert "unknown key 'modle'" in out.stderr
    assert "did you mean 'model'" in out.stderr


def test_models_listing_columns_line_up(tmp_path: Path) -> None:
    out = run_cli("models", "search", "gpt-4.1", cwd=tmp_path, env=isolated_env(tmp_path))
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) > 3
    # The context and price columns are at the same offsets on every line, however long the id
    # (a price is `$in/$out`, or `?/?` when unknown).
    assert len({line.rindex("  ") for line in lines}) == 1, lines


def test_listing_into_a_closed_pipe_is_quiet(tmp_path: Path) -> None:
    proc = subprocess.run(
        f"{SKIPJACK} models list | head -1",
        shell=True,
        cwd=tmp_path,
        env=isolated_env(tmp_path) | {"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.stdout.count("\n") == 1
    assert "Traceback" not in proc.stderr
    assert "BrokenPipe" not in proc.stderr


def test_unreachable_hint_fits_the_kind_of_endpoint() -> None:
    from skipjack.cli.headless import _reach_hint

    assert "server running" in _reach_hint("http://127.0.0.1:8080/v1")
    assert "server running" in _reach_hint("http://localhost:11434/v1")
    assert "network" in _reach_hint("https://api.openai.com/v1")


def test_a_repeated_retry_cause_is_printed_once() -> None:
    import io
    from types import SimpleNamespace

    from skipjack.cli.headless import _TextPrinter

    err = io.StringIO()
    printer = _TextPrinter(io.StringIO(), err)
    for delay in (500, 1000, 2000):
        printer.on_event(
            SimpleNamespace(type="retry", delay_ms=delay, error_kind="network", error_message="dns lookup failed")
        )
    printer.on_event(SimpleNamespace(type="retry", delay_ms=100, error_kind="rate_limited", error_message="slow down"))
    lines = err.getvalue().splitlines()
    assert sum("dns lookup failed" in line for line in lines) == 1
    assert lines[1] == "retrying in 1.0 s (network)"
    assert "slow down" in lines[3]


def _resolver_says_no_such_name(host: str) -> bool:
    import socket

    try:
        socket.getaddrinfo(host, 80)
    except socket.gaierror as e:
        return e.errno == socket.EAI_NONAME
    return False


def test_a_name_that_does_not_resolve_fails_at_once_with_one_cause(tmp_path: Path) -> None:
    import time

    import pytest

    host = "skipjack-test.invalid"  # RFC 2606: never resolves
    if not _resolver_says_no_such_name(host):
        pytest.skip("this machine's resolver does not answer 'no such name' for .invalid")
    started = time.monotonic()
    out = run_cli(
        "run", "--model", "x/m", "--base-url", f"http://{host}/v1", "hi", cwd=tmp_path, env=isolated_env(tmp_path)
    )
    elapsed = time.monotonic() - started
    assert out.returncode == 1
    assert "retrying" not in out.stderr  # no four retries of a typo (it took 9-14 s)
    assert f"cannot resolve {host}" in out.stderr
    assert out.stderr.count("Name or service not known") <= 1
    assert elapsed < 5, elapsed


def test_config_show_is_toml_that_reads_back(tmp_path: Path) -> None:
    import tomllib

    env = isolated_env(tmp_path)
    config = Path(env["SKIPJACK_CONFIG_DIR"])
    config.mkdir(parents=True)
    (config / "config.toml").write_text(
        'model = "local/gpt-4.1"\nallow = ["bash: git status *"]\n'
        '[providers.local]\nbase_url = "http://127.0.0.1:9/v1"\napi = "openai-chat"\n'
        '[providers.local.models."gpt-4.1"]\ncontext_window = 1000\nreasoning = true\n'
        '[keys]\nlocal = "sk-0123456789abcdef"\n'
    )
    out = run_cli("config", "show", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    data = tomllib.loads(out.stdout)  # Python's `True`/`None` would not parse
    assert data["model"] == "local/gpt-4.1"
    assert data["allow"] == ["bash: git status *"]
    model = data["providers"]["local"]["models"]["gpt-4.1"]  # a dotted id stays one key
    assert model["context_window"] == 1000
    assert model["reasoning"] is True
    assert data["compaction"]["enabled"] is True
    assert data["keys"]["local"] == "sk-0…"  # masked
    assert "0123456789abcdef" not in out.stdout
    assert "# compaction.model = (not set)" in out.stdout


def test_a_run_that_never_reached_a_model_leaves_no_session(tmp_path: Path) -> None:
    import json
    import socket

    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = isolated_env(tmp_path)
    out = run_cli(
        "run", "--json", "--model", "x/m", "--base-url", f"http://127.0.0.1:{port}/v1", "hi", cwd=tmp_path, env=env
    )
    assert out.returncode == 1
    assert json.loads(out.stdout.splitlines()[-1])["session_id"] is None
    data = Path(env["SKIPJACK_DATA_DIR"])
    assert list(data.rglob("*.jsonl")) == []
    listed = run_cli("sessions", "list", cwd=tmp_path, env=env)
    assert "no sessions yet" in listed.stdout
    # A run the model answered keeps its session.
    with SSEServer() as server:
        server.enqueue(turn_reply(ScriptedTurn(text="Hello.")))
        ok = run_cli("run", "--model", "x/m", "--base-url", server.url, "hi", cwd=tmp_path, env=env)
    assert ok.returncode == 0, ok.stderr
    assert len(list(data.rglob("*.jsonl"))) == 1


def test_a_wrong_type_in_a_table_names_the_key_and_line(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    config = Path(env["SKIPJACK_CONFIG_DIR"])
    config.mkdir(parents=True)
    (config / "config.toml").write_text('[keys]\nanthropic = "sk-fine"\nopenai = 5\n')
    out = run_cli("run", "--model", "openai/gpt-4o", "hi", cwd=tmp_path, env=env)
    assert out.returncode == 2
    assert "config.toml:3: keys.openai: Expected str, got int" in out.stderr
