"""`skipjack mcp add/remove/list/test` against real config files and real servers."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.cli.helpers import isolated_env, run_cli
from tests.mcp_client.conftest import TIME_SERVER

USER_CONFIG = """# my settings, with comments that must survive
model = "openai/gpt-4o"  # the usual one
allow = ["bash: ls *"]

[keys]
openai = "sk-test-key-000000000000"
"""


def _setup(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    env = isolated_env(tmp_path)
    path = tmp_path / "config" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(USER_CONFIG)
    path.chmod(0o600)
    return path, env


def test_add_and_remove_keep_the_rest_of_the_file(tmp_path: Path) -> None:
    path, env = _setup(tmp_path)
    out = run_cli("mcp", "add", "clock", "--env", "A=b c", "--", str(TIME_SERVER), "--local-timezone", "UTC",
                  cwd=tmp_path, env=env)  # fmt: skip
    assert out.returncode == 0, out.stderr
    out = run_cli("mcp", "add", "web", "--url", "https://mcp.example/mcp", "--header", "Authorization=Bearer t=1",
                  cwd=tmp_path, env=env)  # fmt: skip
    assert out.returncode == 0, out.stderr
    text = path.read_text()
    assert text.startswith(USER_CONFIG)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, "a file holding keys stays private"
    out = run_cli("config", "show", cwd=tmp_path, env=env)
    assert "mcp.servers.clock.args" in out.stdout
    assert "--local-timezone" in out.stdout
    assert "Bearer t=1" in out.stdout
    out = run_cli("mcp", "remove", "clock", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    text = path.read_text()
    assert "clock" not in text
    assert "web" in text
    assert "# the usual one" in text
    assert "# my settings" in text


def test_add_refuses_what_would_not_work(tmp_path: Path) -> None:
    path, env = _setup(tmp_path)
    for args, needle in [
        (("mcp", "add", "a__b", "--", "x"), "'__'"),
        (("mcp", "add", "../etc", "--", "x"), "server name"),
        (("mcp", "add", "x"), "nothing to run"),
        (("mcp", "add", "x", "--url", "http://h/mcp", "--", "cmd"), "not both"),
        (("mcp", "add", "x", "--header", "novalue", "--url", "http://h/mcp"), "KEY=VALUE"),
        (("mcp", "remove", "ghost"), "no MCP server"),
    ]:
        out = run_cli(*args, cwd=tmp_path, env=env)
        assert out.returncode != 0, args
        assert needle in out.stderr, (args, out.stderr)
        assert "Traceback" not in out.stderr
    assert path.read_text() == USER_CONFIG


def test_add_to_a_missing_config_creates_it_private(tmp_path: Path) -> None:
    env = isolated_env(tmp_path)
    out = run_cli("mcp", "add", "clock", "--", str(TIME_SERVER), cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    path = tmp_path / "config" / "config.toml"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_list_and_test_start_the_servers(tmp_path: Path) -> None:
    path, env = _setup(tmp_path)
    path.write_text(
        USER_CONFIG
        + f'\n[mcp.servers.clock]\ncommand = "{TIME_SERVER}"\n'
        + '\n[mcp.servers.gone]\ncommand = "/nonexistent/server"\n'
        + '\n[mcp.servers.off]\ncommand = "/nonexistent/other"\nenabled = false\n'
    )
    out = run_cli("mcp", "list", "--json", cwd=tmp_path, env=env)
    assert out.returncode == 1, "a failed server makes `list` fail"
    states = {s["name"]: s for s in json.loads(out.stdout)}
    assert states["clock"]["state"] == "ready"
    assert "mcp__clock__get_current_time" in states["clock"]["tools"]
    assert states["clock"]["start_seconds"] > 0
    assert states["gone"]["state"] == "failed"
    assert "/nonexistent/server" in states["gone"]["error"]
    assert states["off"]["state"] == "disabled"
    out = run_cli("mcp", "test", "clock", cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert "ready in" in out.stdout
    assert "mcp__clock__convert_time" in out.stdout
    assert "waited" in out.stdout
    out = run_cli("mcp", "test", "nope", cwd=tmp_path, env=env)
    assert out.returncode != 0
    assert "no MCP server 'nope'" in out.stderr


def test_a_command_that_cannot_be_run_says_why_in_words(tmp_path: Path) -> None:
    """A config typo (a folder, a script without its execute bit, a missing program) reads as
    what is wrong with the command, not as an OS exception's repr."""
    path, env = _setup(tmp_path)
    plain = tmp_path / "server.py"
    plain.write_text("print('not executable')\n")
    path.write_text(
        USER_CONFIG
        + f'\n[mcp.servers.folder]\ncommand = "{tmp_path}"\n'
        + f'\n[mcp.servers.plain]\ncommand = "{plain}"\n'
        + '\n[mcp.servers.gone]\ncommand = "/nonexistent/server"\n'
    )
    out = run_cli("mcp", "list", "--json", cwd=tmp_path, env=env)
    errors = {s["name"]: s["error"] for s in json.loads(out.stdout)}
    assert errors["folder"] == f"cannot start it: {tmp_path} is not an executable program (Permission denied)"
    assert errors["plain"] == f"cannot start it: {plain} is not an executable program (Permission denied)"
    assert errors["gone"] == "cannot start it: No such file or directory: /nonexistent/server"


def test_a_server_that_logs_to_stdout_fails_with_that_line_named(tmp_path: Path) -> None:
    """The most common broken stdio server prints a banner on stdout and never answers in
    MCP: `mcp test` waits for its own timeout (not a shorter session bound that left it
    "starting" with no reason) and names the stray line."""
    path, env = _setup(tmp_path)
    chatty = tmp_path / "chatty-server"
    chatty.write_text("#!/bin/sh\necho 'booting up... listening on stdio'\nexec sleep 60\n")
    chatty.chmod(0o755)
    path.write_text(USER_CONFIG + f'\n[mcp.servers.chatty]\ncommand = "{chatty}"\nstartup_timeout_s = 2\n')
    out = run_cli("mcp", "test", "chatty", cwd=tmp_path, env=env)
    assert out.returncode == 1
    assert "chatty  [stdio, user config]  failed" in out.stdout
    assert "did not list its tools within 2 s (startup_timeout_s)" in out.stdout
    assert "it wrote 'booting up... listening on stdio' on stdout, which is not MCP" in out.stdout


def test_a_url_that_is_not_http_is_refused_when_the_config_is_read(tmp_path: Path) -> None:
    path, env = _setup(tmp_path)
    path.write_text(
        USER_CONFIG
        + '\n[mcp.servers.ftp]\nurl = "ftp://example.com/mcp"\n'
        + '\n[mcp.servers.local]\nurl = "file:///etc/passwd"\n'
        + '\n[mcp.servers.bare]\nurl = "example.com/mcp"\n'
        # The check is on the url after `${VAR}` expansion.
        + '\n[mcp.servers.expanded]\nurl = "${MCP_URL}"\n'
    )
    out = run_cli("mcp", "list", cwd=tmp_path, env={**env, "MCP_URL": "file:///etc/shadow"})
    for name in ("ftp", "local", "bare", "expanded"):
        assert f"MCP server '{name}' (user config): `url` must start with http:// or https://" in out.stderr
    assert out.stdout == "no usable MCP servers: see the warnings above\n"
    assert out.returncode == 1
    # `test` of one of them says it is there but unusable, not that it is missing.
    out = run_cli("mcp", "test", "ftp", cwd=tmp_path, env=env)
    assert "MCP server 'ftp' is configured but cannot be used: see the warning above" in out.stderr
    assert out.returncode != 0
    # Matched by the whole name: a prefix of a refused one is simply missing.
    for missing in ("nosuch", "ft", "FTP"):
        out = run_cli("mcp", "test", missing, cwd=tmp_path, env=env)
        assert f"no MCP server '{missing}' is configured" in out.stderr
    # The scheme in capitals is still http(s): refused only when it is tried (nothing listens).
    path.write_text(USER_CONFIG + '\n[mcp.servers.caps]\nurl = "HTTP://127.0.0.1:9/mcp"\nstartup_timeout_s = 3\n')
    out = run_cli("mcp", "list", "--json", cwd=tmp_path, env=env)
    assert "must start with" not in out.stderr
    assert json.loads(out.stdout)[0]["error"].startswith("cannot connect")


def test_http_servers_that_are_not_there_or_not_mcp_fail_in_one_clear_line(tmp_path: Path) -> None:
    """Nothing listening: one reason, not the same error again from the older transport; a
    web server that is not MCP: the reasons, and no SDK traceback on stderr."""
    import http.server
    import socket
    import threading

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    try:
        path, env = _setup(tmp_path)
        path.write_text(
            USER_CONFIG
            + f'\n[mcp.servers.nobody]\nurl = "http://127.0.0.1:{closed_port}/mcp"\nstartup_timeout_s = 5\n'
            + f'\n[mcp.servers.web]\nurl = "http://127.0.0.1:{web.server_address[1]}/"\nstartup_timeout_s = 5\n'
        )
        out = run_cli("mcp", "list", "--json", cwd=tmp_path, env=env)
    finally:
        web.shutdown()
    errors = {s["name"]: s["error"] for s in json.loads(out.stdout)}
    assert errors["nobody"] == "cannot connect: All connection attempts failed"
    assert errors["web"].startswith("Streamable HTTP: ")
    assert "HTTP+SSE: " in errors["web"]
    assert "Traceback" not in out.stderr
    assert out.stderr == ""


def test_a_huge_stray_line_with_escape_codes_is_named_short_and_inert(tmp_path: Path) -> None:
    """The stray line is cut to 120 characters (only 512 bytes of it are kept) and shown with
    its control characters escaped, so it cannot clear or retitle the user's terminal."""
    path, env = _setup(tmp_path)
    noisy = tmp_path / "noisy-server"
    noisy.write_text(
        "#!/bin/sh\nprintf '\\033]0;pwned\\007\\033[2J'\nhead -c 200000 /dev/zero | tr '\\0' x\necho\nexec sleep 60\n"
    )
    noisy.chmod(0o755)
    path.write_text(USER_CONFIG + f'\n[mcp.servers.noisy]\ncommand = "{noisy}"\nstartup_timeout_s = 2\n')
    out = run_cli("mcp", "list", "--json", cwd=tmp_path, env=env)
    error = json.loads(out.stdout)[0]["error"]
    assert "it wrote '\\x1b]0;pwned\\x07\\x1b[2Jxxx" in error
    assert "xxx...' on stdout, which is not MCP" in error
    assert "\x1b" not in error
    assert len(error) < 300
