"""OAuth pieces around the SDK's flow: tokens on disk at 0600, the loopback redirect."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import httpx
import pytest
from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import OAuthToken

from skipjack.config.schema import McpServerConfig
from skipjack.mcp.oauth import FileTokenStorage, LoopbackRedirect, auth_for, token_path
from skipjack.mcp.specs import ServerSpec


async def test_tokens_are_private_and_survive_a_restart(tmp_path: Path) -> None:
    path = token_path(tmp_path / "data", "tracker")
    storage = FileTokenStorage(path)
    assert await storage.get_tokens() is None
    await storage.set_tokens(OAuthToken(access_token="secret-access", refresh_token="secret-refresh"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    again = await FileTokenStorage(path).get_tokens()
    assert again is not None
    assert again.access_token == "secret-access"
    # A file someone loosened is written back private.
    path.chmod(0o644)
    await storage.set_tokens(OAuthToken(access_token="new"))
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    path.write_text("{not json")
    assert await storage.get_tokens() is None


async def test_loopback_redirect_delivers_the_code_and_keeps_its_port(tmp_path: Path) -> None:
    storage = FileTokenStorage(tmp_path / "t.json")
    redirect = LoopbackRedirect(storage)
    assert redirect.uri.startswith("http://127.0.0.1:")
    assert LoopbackRedirect(FileTokenStorage(tmp_path / "t.json")).port == redirect.port, "registered URI kept"
    waiting = asyncio.create_task(redirect.wait())
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                wrong = await client.get(f"http://127.0.0.1:{redirect.port}/elsewhere?code=nope")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.02)
        assert "refused" in wrong.text
        assert not waiting.done()
        ok = await client.get(f"{redirect.uri}?code=the-code&state=s1")
    assert ok.status_code == 200
    result = await asyncio.wait_for(waiting, 5)
    assert (result.code, result.state) == ("the-code", "s1")


async def test_a_refusal_is_an_error(tmp_path: Path) -> None:
    redirect = LoopbackRedirect(FileTokenStorage(tmp_path / "t.json"))
    waiting = asyncio.create_task(redirect.wait())
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                await client.get(f"{redirect.uri}?error=access_denied")
                break
            except httpx.ConnectError:
                await asyncio.sleep(0.02)
    with pytest.raises(RuntimeError, match="access_denied"):
        await asyncio.wait_for(waiting, 5)


def test_oauth_only_when_asked_and_only_for_urls(tmp_path: Path) -> None:
    plain = ServerSpec("a", McpServerConfig(url="https://x.example/mcp"), "user config")
    assert auth_for(plain, tmp_path) is None
    stdio = ServerSpec("b", McpServerConfig(command="x", oauth=True), "user config")
    assert auth_for(stdio, tmp_path) is None
    wanted = ServerSpec("c", McpServerConfig(url="https://x.example/mcp", oauth=True), "user config")
    assert isinstance(auth_for(wanted, tmp_path), OAuthClientProvider)
