"""Refresh: fetch models.dev's current `api.json` into the user cache.

This is registry data, not a model call, so it may use an HTTP library (httpx) directly.
The download is validated by building a registry from it before it replaces the cached copy,
and the replacement is atomic, so a failed or partial refresh never leaves a broken cache.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import httpx
import msgspec

from skipjack import __version__
from skipjack.models.catalog import CatalogError
from skipjack.models.registry import CATALOG_FILE, Registry, default_cache_dir, reset_default_registry

DEFAULT_URL = "https://models.dev/api.json"
MAX_BYTES = 64 * 1024 * 1024
"""Refuse anything larger: today's catalog is a few MB."""


class RefreshError(Exception):
    pass


class RefreshResult(msgspec.Struct, frozen=True):
    path: str
    bytes: int
    providers: int
    models: int
    """Usable models in the new catalog."""


def refresh(
    url: str = DEFAULT_URL,
    cache_dir: Path | None = None,
    *,
    timeout: float = 30.0,
    transport: httpx.BaseTransport | None = None,
) -> RefreshResult:
    """Download, validate and install `api.json`; the next registry load uses it."""
    target_dir = cache_dir or default_cache_dir()
    raw = _download(url, timeout, transport)
    try:
        registry = Registry.from_catalog(raw, url)
    except CatalogError as e:
        raise RefreshError(f"{url} did not serve a usable models.dev catalog: {e}") from e
    path = target_dir / CATALOG_FILE
    _write_atomic(path, raw)
    reset_default_registry()
    return RefreshResult(
        path=str(path),
        bytes=len(raw),
        providers=sum(1 for p in registry.providers() if p.models),
        models=len(registry.list_models()),
    )


def _download(url: str, timeout: float, transport: httpx.BaseTransport | None) -> bytes:
    headers = {"User-Agent": f"skipjack/{__version__}", "Accept": "application/json"}
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=True, transport=transport) as client,
            client.stream("GET", url, headers=headers) as resp,
        ):
            if resp.status_code != 200:
                raise RefreshError(f"GET {url}: HTTP {resp.status_code} {resp.reason_phrase}")
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_bytes():
                size += len(chunk)
                if size > MAX_BYTES:
                    raise RefreshError(f"GET {url}: response larger than {MAX_BYTES} bytes")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as e:
        raise RefreshError(f"GET {url}: {e}") from e


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
