from __future__ import annotations

import ipaddress
import json
import shutil
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from _tool_helpers import text_of

from skipjack.agent.tool import ToolContext, ToolOutput
from skipjack.tools._netguard import IPAddress, is_public_address
from skipjack.tools.web_fetch import WebFetchArgs, WebFetchTool

PAGE = b"""<!doctype html><html><head><title>Test Page</title>
<style>body { color: red }</style><script>var secret = "do-not-show";</script></head>
<body><h1>Hello</h1><p>Some <b>bold</b> text and a <a href="https://example.org/x">link</a>.</p>
<ul><li>one</li><li>two</li></ul></body></html>"""

ALLOWED = ipaddress.ip_address("127.0.0.2")


def only_127_0_0_2(ip: IPAddress) -> bool:
    return ip == ALLOWED


@dataclass
class Server:
    base: str
    hits: list[str] = field(default_factory=list)
    hosts: list[str] = field(default_factory=list)


def serve(host: str, tls: ssl.SSLContext | None = None) -> Iterator[Server]:
    state = Server("")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def do_GET(self) -> None:
            state.hits.append(self.path)
            state.hosts.append(self.headers.get("Host", ""))
            parsed = urlparse(self.path)
            query = parse_qs(parsed.query)
            if parsed.path == "/page.html":
                self._send(200, "text/html; charset=utf-8", PAGE)
            elif parsed.path == "/data.json":
                self._send(200, "application/json", json.dumps({"answer": 42}).encode())
            elif parsed.path == "/image.png":
                self._send(200, "image/png", b"\x89PNG\r\n\x1a\n" + bytes(100))
            elif parsed.path == "/big.txt":
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                try:
                    for _ in range(1000):
                        self.wfile.write(b"x" * 1023 + b"\n")
                except (BrokenPipeError, ConnectionResetError):
                    pass
            elif parsed.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", query["to"][0])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parsed.path == "/loop":
                self.send_response(301)
                self.send_header("Location", "/loop")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif parsed.path == "/slow":
                time.sleep(3)
                self._send(200, "text/plain", b"late")
            elif parsed.path == "/missing":
                self._send(404, "text/plain", b"no such page")
            else:
                self._send(200, "text/plain", f"host={self.headers.get('Host')}".encode())

        def _send(self, status: int, ctype: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    state.base = f"{'https' if tls else 'http'}://{host}:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def site() -> Iterator[Server]:
    """The allowed server, on 127.0.0.2."""
    yield from serve("127.0.0.2")


@pytest.fixture
def forbidden() -> Iterator[Server]:
    """A server on 127.0.0.1 that the guard must never let a fetch reach."""
    yield from serve("127.0.0.1")


async def fetch(ctx: ToolContext, url: str, tool: WebFetchTool | None = None) -> ToolOutput:
    return await (tool or WebFetchTool(address_policy=only_127_0_0_2)).execute(WebFetchArgs(url), ctx)


async def test_html_becomes_markdown(ctx: ToolContext, site: Server) -> None:
    out = await fetch(ctx, f"{site.base}/page.html")
    text = text_of(out)
    assert not out.is_error, text
    assert "Title: Test Page" in text
    assert "# Hello" in text
    assert "**bold**" in text
    assert "[link](https://example.org/x)" in text
    assert "- one" in text
    assert "do-not-show" not in text
    assert "color: red" not in text


async def test_json_returned_as_text(ctx: ToolContext, site: Server) -> None:
    out = await fetch(ctx, f"{site.base}/data.json")
    assert not out.is_error
    assert '{"answer": 42}' in text_of(out)


async def test_other_content_types_refused_by_name(ctx: ToolContext, site: Server) -> None:
    out = await fetch(ctx, f"{site.base}/image.png")
    assert out.is_error
    assert "image/png" in text_of(out)


async def test_http_error_status_is_an_error_with_body(ctx: ToolContext, site: Server) -> None:
    out = await fetch(ctx, f"{site.base}/missing")
    assert out.is_error
    assert "404" in text_of(out)
    assert "no such page" in text_of(out)


async def test_default_guard_refuses_loopback(ctx: ToolContext, forbidden: Server) -> None:
    port = forbidden.base.rsplit(":", 1)[1]
    for url in (
        f"{forbidden.base}/page.html",
        f"http://localhost:{port}/page.html",
        f"http://[::ffff:127.0.0.1]:{port}/page.html",
        f"http://2130706433:{port}/page.html",  # 127.0.0.1 as one decimal number
    ):
        out = await fetch(ctx, url, WebFetchTool())
        assert out.is_error, url
        assert "Refused" in text_of(out)
        assert "loopback" in text_of(out)
    assert forbidden.hits == []


async def test_redirect_to_loopback_refused(ctx: ToolContext, site: Server, forbidden: Server) -> None:
    out = await fetch(ctx, f"{site.base}/redirect?to={forbidden.base}/page.html")
    assert out.is_error
    assert "Refused" in text_of(out)
    assert "127.0.0.1" in text_of(out)
    assert site.hits == [f"/redirect?to={forbidden.base}/page.html"]
    assert forbidden.hits == []


async def test_private_literal_refused_without_connecting(ctx: ToolContext) -> None:
    start = time.monotonic()
    out = await fetch(ctx, "http://10.1.2.3/admin", WebFetchTool())
    assert out.is_error
    assert "private" in text_of(out)
    assert time.monotonic() - start < 1
    out = await fetch(ctx, "http://169.254.169.254/latest/meta-data/", WebFetchTool())
    assert out.is_error
    assert "link-local" in text_of(out)


def test_default_policy_table() -> None:
    for ip in ("127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1",
               "0.0.0.0", "224.0.0.1", "::1", "fe80::1", "fd00::1", "::ffff:10.0.0.1", "2002:a00:1::",
               "64:ff9b::7f00:1", "255.255.255.255"):  # fmt: skip
        assert not is_public_address(ipaddress.ip_address(ip)), ip
    for ip in ("93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"):
        assert is_public_address(ipaddress.ip_address(ip)), ip


async def test_non_http_schemes_refused(ctx: ToolContext) -> None:
    for url in ("file:///etc/passwd", "ftp://example.org/x", "gopher://x/"):
        out = await fetch(ctx, url, WebFetchTool())
        assert out.is_error
        assert "only http:// and https://" in text_of(out)


async def test_size_cap_stops_reading(ctx: ToolContext, site: Server) -> None:
    tool = WebFetchTool(address_policy=only_127_0_0_2, max_bytes=10_000)
    out = await fetch(ctx, f"{site.base}/big.txt", tool)
    text = text_of(out)
    assert not out.is_error
    assert "larger than 10000 bytes" in text
    assert text.count("x") <= 10_000


async def test_time_cap(ctx: ToolContext, site: Server) -> None:
    tool = WebFetchTool(address_policy=only_127_0_0_2, timeout=0.5)
    start = time.monotonic()
    out = await fetch(ctx, f"{site.base}/slow", tool)
    assert out.is_error
    assert "timed out" in text_of(out)
    assert time.monotonic() - start < 2


async def test_redirects_followed_and_capped(ctx: ToolContext, site: Server) -> None:
    out = await fetch(ctx, f"{site.base}/redirect?to=/data.json")
    assert not out.is_error
    assert "42" in text_of(out)
    assert f"URL: {site.base}/data.json" in text_of(out)
    out = await fetch(ctx, f"{site.base}/loop")
    assert out.is_error
    assert "more than 5 redirects" in text_of(out)
    assert site.hits.count("/loop") == 6


async def test_connects_to_the_checked_address_with_the_real_host(ctx: ToolContext, site: Server) -> None:
    port = int(site.base.rsplit(":", 1)[1])
    lookups: list[str] = []

    async def resolver(host: str, _port: int) -> list[IPAddress]:
        lookups.append(host)
        return [ALLOWED]

    tool = WebFetchTool(address_policy=only_127_0_0_2, resolver=resolver)
    out = await fetch(ctx, f"http://docs.example.test:{port}/echo", tool)
    assert not out.is_error, text_of(out)
    assert f"host=docs.example.test:{port}" in text_of(out)
    assert lookups == ["docs.example.test"]  # one lookup, then the checked address is used


async def test_every_resolved_address_must_pass(ctx: ToolContext, site: Server, forbidden: Server) -> None:
    port = int(site.base.rsplit(":", 1)[1])

    async def resolver(_host: str, _port: int) -> list[IPAddress]:
        return [ALLOWED, ipaddress.ip_address("127.0.0.1")]

    tool = WebFetchTool(address_policy=only_127_0_0_2, resolver=resolver)
    out = await fetch(ctx, f"http://mixed.example.test:{port}/echo", tool)
    assert out.is_error
    assert "127.0.0.1" in text_of(out)
    assert site.hits == []


@pytest.fixture
def tls_site(tmp_path: Path) -> Iterator[tuple[Server, Path]]:
    """An HTTPS server on 127.0.0.2 whose self-signed certificate names only pinned.example.test."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-keyout", str(key),
         "-out", str(cert), "-subj", "/CN=pinned.example.test", "-addext", "subjectAltName=DNS:pinned.example.test"],
        check=True, capture_output=True,
    )  # fmt: skip
    server_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_tls.load_cert_chain(cert, key)
    for server in serve("127.0.0.2", server_tls):
        yield server, cert


async def test_https_is_pinned_to_the_ip_but_verified_for_the_name(
    ctx: ToolContext, tls_site: tuple[Server, Path]
) -> None:
    site, cert = tls_site
    port = int(site.base.rsplit(":", 1)[1])

    async def resolver(_host: str, _port: int) -> list[IPAddress]:
        return [ALLOWED]

    trust = ssl.create_default_context(cafile=str(cert))
    tool = WebFetchTool(address_policy=only_127_0_0_2, resolver=resolver, verify=trust)
    # The connection goes to 127.0.0.2, yet TLS (SNI and certificate check) uses the name:
    # the certificate carries no IP address, so checking against the IP would fail.
    out = await fetch(ctx, f"https://pinned.example.test:{port}/echo", tool)
    assert not out.is_error, text_of(out)
    assert f"host=pinned.example.test:{port}" in text_of(out)
    # A name the certificate does not carry fails verification although the IP is the same.
    out = await fetch(ctx, f"https://other.example.test:{port}/echo", tool)
    assert out.is_error
    assert "certificate" in text_of(out).lower() or "hostname" in text_of(out).lower()
    assert site.hits == ["/echo"]
