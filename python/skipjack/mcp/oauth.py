"""OAuth for remote MCP servers: the SDK's client flow (`OAuthClientProvider`: discovery,
dynamic registration, PKCE, refresh), a loopback redirect on 127.0.0.1, and the tokens kept
in the user's data dir with mode 0600 (one file per server)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sys
import webbrowser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mcp.client.auth import OAuthClientProvider
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken

from skipjack.mcp.specs import ServerSpec

CALLBACK_PATH = "/callback"
CALLBACK_TIMEOUT_S = 300.0


class FileTokenStorage:
    """The SDK's `TokenStorage` over one JSON file, written atomically at 0600."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def _write(self, **changes: Any) -> None:
        data = {**self._read(), **changes}
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    async def get_tokens(self) -> OAuthToken | None:
        raw = self._read().get("tokens")
        return OAuthToken.model_validate(raw) if raw else None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self._write(tokens=tokens.model_dump(mode="json", exclude_none=True))

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        raw = self._read().get("client")
        return OAuthClientInformationFull.model_validate(raw) if raw else None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self._write(client=client_info.model_dump(mode="json", exclude_none=True))

    def port(self) -> int | None:
        port = self._read().get("redirect_port")
        return port if isinstance(port, int) else None

    def set_port(self, port: int) -> None:
        self._write(redirect_port=port)


class LoopbackRedirect:
    """Receives the authorization server's redirect on 127.0.0.1:PORT/callback. The port is
    kept with the tokens: the client was registered with that redirect URI."""

    def __init__(self, storage: FileTokenStorage) -> None:
        self.storage = storage
        self.port = storage.port() or _free_port()
        if storage.port() is None:
            storage.set_port(self.port)

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}{CALLBACK_PATH}"

    async def wait(self) -> AuthorizationCodeResult:
        result: asyncio.Future[AuthorizationCodeResult] = asyncio.get_running_loop().create_future()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                line = (await reader.readline()).decode("latin-1")
                target = line.split(" ")[1] if line.count(" ") >= 2 else "/"
                query = parse_qs(urlsplit(target).query)
                code = _one(query, "code")
                ok = urlsplit(target).path == CALLBACK_PATH and code is not None
                body = b"Signed in; you can close this tab." if ok else b"Sign-in failed or was refused."
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n")
                writer.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
                if not result.done():
                    if ok and code is not None:
                        result.set_result(AuthorizationCodeResult(code=code, state=_one(query, "state")))
                    elif path_error := _one(query, "error"):
                        result.set_exception(RuntimeError(f"the authorization server said: {path_error}"))
            finally:
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", self.port)
        async with server:
            return await asyncio.wait_for(result, CALLBACK_TIMEOUT_S)


def token_path(data_dir: Path, server: str) -> Path:
    return data_dir / "mcp-oauth" / f"{server}.json"


def auth_for(spec: ServerSpec, data_dir: Path) -> OAuthClientProvider | None:
    """The SDK's OAuth provider for a server with `oauth = true`, or None."""
    if not spec.config.oauth or not spec.config.url:
        return None
    storage = FileTokenStorage(token_path(data_dir, spec.name))
    redirect = LoopbackRedirect(storage)

    async def open_browser(url: str) -> None:
        with contextlib.suppress(OSError):
            print(f'skipjack: sign in to MCP server "{spec.name}": {url}', file=sys.stderr, flush=True)
        with contextlib.suppress(Exception):
            webbrowser.open(url)

    metadata = OAuthClientMetadata(
        client_name="skipjack",
        redirect_uris=[redirect.uri],  # type: ignore[list-item]
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    return OAuthClientProvider(
        server_url=spec.config.url,
        client_metadata=metadata,
        storage=storage,
        redirect_handler=open_browser,
        callback_handler=redirect.wait,
    )


def _one(query: dict[str, list[str]], key: str) -> str | None:
    values = query.get(key)
    return values[0] if values else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
