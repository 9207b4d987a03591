from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from skipjack.testing import SSEServer

BIN = Path(sys.executable).parent
TIME_SERVER = BIN / "mcp-server-time"
GIT_SERVER = BIN / "mcp-server-git"
HTTP_SERVER = Path(__file__).with_name("http_server.py")


@pytest.fixture
def server() -> Iterator[SSEServer]:
    with SSEServer() as s:
        yield s


@dataclass
class HttpServer:
    url: str
    markers: Path
    proc: subprocess.Popen[bytes]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_http_server(tmp: Path, *, sse: bool = False) -> HttpServer:
    markers = tmp / "markers"
    markers.mkdir(exist_ok=True)
    port = _free_port()
    log = open(tmp / "http-server.log", "wb")  # noqa: SIM115
    extra = ["sse"] if sse else []
    proc = subprocess.Popen([sys.executable, str(HTTP_SERVER), str(port), str(markers), *extra], stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the test MCP server exited: {(tmp / 'http-server.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        proc.kill()
        raise RuntimeError("the test MCP server did not listen within 60 s")
    return HttpServer(f"http://127.0.0.1:{port}/{'sse' if sse else 'mcp'}", markers, proc)


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[HttpServer]:
    srv = start_http_server(tmp_path)
    try:
        yield srv
    finally:
        if srv.proc.poll() is None:
            srv.proc.kill()
        srv.proc.wait(10)


@pytest.fixture
def repo(tmp_path: Path, server: SSEServer) -> Path:
    """A git repository whose (trusted) project config points the model at the scripted server."""
    root = tmp_path / "repo"
    (root / ".skipjack").mkdir(parents=True)
    (root / "hello.py").write_text('print("hello world")\n')
    (root / ".skipjack" / "config.toml").write_text(
        f"""model = "scripted/m1"
[providers.scripted]
base_url = "{server.url}"
api = "openai-chat"
[providers.scripted.models.m1]
context_window = 100000
max_output = 4000
price = {{ input = 3.0, output = 15.0 }}
"""
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def write_user_config(tmp: Path, body: str, *, trusted: list[Path] = ()) -> Path:  # type: ignore[assignment]
    cfg = tmp / "config"
    cfg.mkdir(exist_ok=True)
    path = cfg / "config.toml"
    trusted_line = "trusted_projects = [" + ", ".join(repr(str(p)) for p in trusted) + "]\n"
    path.write_text(trusted_line + body)
    return path


def no_api_keys() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
