"""Refresh against a real HTTP server on 127.0.0.1, and the cache it leaves behind."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from skipjack.llm.types import Price
from skipjack.models import Registry, default_registry, get_model, load_warnings, reset_default_registry
from skipjack.models.refresh import RefreshError, refresh

CATALOG: dict[str, Any] = {
    "acme": {
        "id": "acme",
        "name": "Acme",
        "env": ["ACME_API_KEY"],
        "npm": "@ai-sdk/openai-compatible",
        "api": "https://acme.example/v1",
        "doc": "https://acme.example/docs",
        "some_future_field": {"ignored": True},
        "models": {
            "rocket-1": {
                "id": "rocket-1",
                "name": "Rocket 1",
                "attachment": True,
                "reasoning": True,
                "tool_call": True,
                "release_date": "2026-01-01",
                "last_updated": "2026-01-01",
                "modalities": {"input": ["text", "image"], "output": ["text"]},
                "open_weights": False,
                "cost": {
                    "input": 1.5,
                    "output": 6,
                    "cache_read": 0.15,
                    "cache_write": 1.8,
                    # Older api.json files carry a single tier in this legacy form only.
                    "context_over_200k": {"input": 3, "output": 12, "cache_read": 0.3, "cache_write": 3.6},
                },
                "limit": {"context": 1_000_000, "output": 32_000},
            }
        },
    }
}


class _Handler(BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, tuple[int, bytes]]] = {}
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        status, body = self.routes.get(self.path, (404, b"not found"))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    _Handler.routes = {
        "/api.json": (200, json.dumps(CATALOG).encode()),
        "/broken.json": (200, b'{"acme": {"id": "acme", "name": 3'),
        "/wrong.json": (
            200,
            json.dumps({"acme": {"id": "acme", "name": "A", "npm": "x", "models": 7}}).encode(),
        ),
        "/none-usable.json": (
            200,
            json.dumps({"g": {"id": "g", "name": "G", "npm": "@ai-sdk/google", "models": {}}}).encode(),
        ),
        "/down.json": (503, b"busy"),
    }
    _Handler.hits = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


def test_refresh_installs_the_catalog_and_the_loader_uses_it(server: str, tmp_path: Path) -> None:
    result = refresh(f"{server}/api.json", tmp_path)
    assert _Handler.hits == ["/api.json"]
    assert Path(result.path) == tmp_path / "api.json"
    assert (result.providers, result.models) == (1, 1)
    assert json.loads((tmp_path / "api.json").read_bytes()) == CATALOG
    assert [p.name for p in tmp_path.iterdir()] == ["api.json"]  # no temp file left behind

    reg, warnings = Registry.load(tmp_path)
    assert warnings == []
    assert reg.origin == str(tmp_path / "api.json")
    m = reg.get_model("acme/rocket-1")
    assert (m.api, m.base_url, m.api_key_env) == ("openai-chat", "https://acme.example/v1", "ACME_API_KEY")
    assert m.price == Price(1.5, 6, 0.15, 1.8)
    assert (m.context_window, m.max_output, m.reasoning, m.images) == (1_000_000, 32_000, True, True)
    [tier] = reg.facts(m).tiers
    assert tier.context_over == 200_000
    assert tier.price == Price(3, 12, 0.3, 3.6)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/broken.json", "not a models.dev catalog"),
        ("/wrong.json", "not a models.dev catalog"),
        ("/none-usable.json", "no model skipjack can use"),
        ("/down.json", "HTTP 503"),
        ("/missing.json", "HTTP 404"),
    ],
)
def test_a_bad_download_leaves_the_cached_catalog_alone(server: str, tmp_path: Path, path: str, message: str) -> None:
    refresh(f"{server}/api.json", tmp_path)
    before = (tmp_path / "api.json").read_bytes()
    with pytest.raises(RefreshError, match=message):
        refresh(f"{server}{path}", tmp_path)
    assert (tmp_path / "api.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["api.json"]


def test_refresh_reports_an_unreachable_server(tmp_path: Path) -> None:
    with pytest.raises(RefreshError, match=r"GET http://127\.0\.0\.1:9/"):
        refresh("http://127.0.0.1:9/api.json", tmp_path, timeout=2.0)
    assert not (tmp_path / "api.json").exists()


def test_a_corrupt_cache_falls_back_to_the_bundled_registry(tmp_path: Path) -> None:
    (tmp_path / "api.json").write_bytes(b"{not json")
    reg, warnings = Registry.load(tmp_path)
    assert reg.origin == "bundled"
    assert len(warnings) == 1
    assert "api.json" in warnings[0]
    assert "bundled" in warnings[0]
    assert reg.get_model("anthropic/claude-sonnet-4-5").provider == "anthropic"


def test_default_registry_reads_the_cache_named_by_the_environment(
    server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SKIPJACK_CACHE_DIR", str(tmp_path))
    reset_default_registry()
    try:
        assert default_registry().origin == "bundled"
        assert default_registry() is default_registry()  # loaded once
        refresh(f"{server}/api.json", tmp_path)  # resets the default so the next call reloads
        assert get_model("acme/rocket-1").name == "Rocket 1"
        assert load_warnings() == []
    finally:
        reset_default_registry()
