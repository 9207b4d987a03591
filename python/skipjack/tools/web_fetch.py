"""The web_fetch tool: GET a public http(s) URL and return it as Markdown or text."""

from __future__ import annotations

import asyncio
import codecs
import ipaddress
import ssl
from typing import TYPE_CHECKING, Annotated, ClassVar

import msgspec

from skipjack.agent.tool import Tool, ToolContext, ToolOutput
from skipjack.tools._netguard import AddressPolicy, IPAddress, Resolver, describe, is_public_address, system_resolve
from skipjack.tools._sniff import is_binary

if TYPE_CHECKING:
    # httpx (with click, rich and pygments behind it) is imported by the first fetch, not by
    # every run that merely offers the tool: `skipjack run` reaches its first request sooner.
    import httpx

MAX_BYTES = 5 * 1024 * 1024
MAX_OUTPUT_CHARS = 100_000
TIMEOUT_S = 30.0
MAX_REDIRECTS = 5
USER_AGENT = "skipjack-web-fetch/1 (+a terminal coding agent)"

_HTML = ("text/html", "application/xhtml+xml")
_TEXT_APPLICATION = (
    "application/json",
    "application/ld+json",
    "application/xml",
    "application/javascript",
    "application/x-javascript",
    "application/ecmascript",
    "application/x-yaml",
    "application/yaml",
    "application/toml",
    "application/x-sh",
    "application/sql",
    "application/graphql",
)


class WebFetchArgs(msgspec.Struct, forbid_unknown_fields=True):
    url: Annotated[str, msgspec.Meta(description="An http:// or https:// URL")]


class FetchRefused(Exception):
    """The fetch may not go ahead; the message says why."""


class _Body(msgspec.Struct, frozen=True):
    """A response body, cut at the size limit."""

    data: bytes
    truncated: bool


class WebFetchTool(Tool[WebFetchArgs]):
    name: ClassVar[str] = "web_fetch"
    description: ClassVar[str] = (
        "Fetch a public web page or file over http(s) and return it as text: HTML converted to "
        "Markdown; plain text, JSON and other text types as they are. Other content types are "
        f"refused. Redirects are followed (up to {MAX_REDIRECTS}). Addresses on the local machine "
        f"or private networks are refused. Responses are cut at {MAX_BYTES // (1024 * 1024)} MB, "
        f"output at {MAX_OUTPUT_CHARS} characters."
    )
    Args = WebFetchArgs

    def __init__(
        self,
        *,
        address_policy: AddressPolicy = is_public_address,
        resolver: Resolver = system_resolve,
        max_bytes: int = MAX_BYTES,
        timeout: float = TIMEOUT_S,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        """`address_policy` says which resolved addresses may be contacted (tests allow
        loopback with it); `resolver` maps a host name to addresses; `verify` is httpx's TLS
        verification setting (an SSLContext trusting a private CA, say)."""
        self._allowed = address_policy
        self._resolve = resolver
        self._max_bytes = max_bytes
        self._timeout = timeout
        self._verify = verify

    async def execute(self, args: WebFetchArgs, ctx: ToolContext) -> ToolOutput:
        import httpx

        try:
            url = _parse(args.url)
            async with asyncio.timeout(self._timeout):
                return await self._fetch(url)
        except FetchRefused as exc:
            return ToolOutput.error(f"Refused: {exc}")
        except TimeoutError:
            return ToolOutput.error(f"Fetching {args.url} timed out after {self._timeout:g} s.")
        except httpx.HTTPError as exc:
            return ToolOutput.error(f"Fetching {args.url} failed: {type(exc).__name__}: {exc}")

    async def _fetch(self, url: httpx.URL) -> ToolOutput:
        import httpx

        # trust_env=False: a proxy from the environment would resolve names itself and the
        # address check below would no longer decide where the request goes.
        async with httpx.AsyncClient(
            trust_env=False,
            verify=self._verify,
            follow_redirects=False,
            timeout=httpx.Timeout(self._timeout),
            headers={"User-Agent": USER_AGENT, "Accept": "text/html,text/plain,application/json;q=0.9,*/*;q=0.5"},
        ) as client:
            for _ in range(MAX_REDIRECTS + 1):
                addresses = await self._vetted_addresses(url)
                response = await _send_pinned(client, url, addresses)
                try:
                    if response.is_redirect and "location" in response.headers:
                        # Each hop is checked again: a public page may redirect to a private one.
                        url = _parse(str(url.join(response.headers["location"])))
                        continue
                    body = await _read_capped(response, self._max_bytes)
                    return _render(url, response, body, self._max_bytes)
                finally:
                    await response.aclose()
        raise FetchRefused(f"more than {MAX_REDIRECTS} redirects.")

    async def _vetted_addresses(self, url: httpx.URL) -> list[IPAddress]:
        host = url.raw_host.decode("ascii")
        port = url.port or (443 if url.scheme == "https" else 80)
        try:
            literal: IPAddress | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            addresses = [literal]
        else:
            try:
                addresses = await self._resolve(host, port)
            except OSError as exc:
                raise FetchRefused(f"cannot resolve {host}: {exc}") from exc
        if not addresses:
            raise FetchRefused(f"{host} has no addresses.")
        for ip in addresses:
            # Every address must pass, not just one: which one a connection uses is not ours
            # to predict if any fallback happens.
            if not self._allowed(ip):
                shown = host if literal is not None else f"{host} resolves to {ip}, which"
                raise FetchRefused(f"{shown} is {describe(ip)}; web_fetch only reaches public addresses.")
        return addresses


def _parse(raw: str) -> httpx.URL:
    import httpx

    try:
        url = httpx.URL(raw.strip())
    except httpx.InvalidURL as exc:
        raise FetchRefused(f"{raw!r} is not a valid URL: {exc}") from exc
    if url.scheme not in ("http", "https"):
        raise FetchRefused(f"only http:// and https:// URLs can be fetched, not {url.scheme or 'this'}:.")
    if not url.host:
        raise FetchRefused(f"{raw!r} has no host.")
    return url


async def _send_pinned(client: httpx.AsyncClient, url: httpx.URL, addresses: list[IPAddress]) -> httpx.Response:
    """Send GET `url` to one of the vetted `addresses`, never to a fresh lookup of its host.

    Pinning by rewriting the URL's host to the checked IP (with the real name in the Host
    header, and as TLS SNI and certificate hostname through httpcore's `sni_hostname`)
    closes the DNS-rebinding gap: a second lookup at connect time could answer differently.
    Chosen over a custom transport because it needs only public httpx/httpcore features.
    """
    import httpx

    last_error: httpx.TransportError | None = None
    for ip in addresses:
        extensions = {"sni_hostname": url.raw_host.decode("ascii")} if url.scheme == "https" else {}
        request = client.build_request(
            "GET",
            url.copy_with(host=str(ip)),
            headers={"Host": url.netloc.decode("ascii")},
            extensions=extensions,
        )
        try:
            return await client.send(request, stream=True)
        except httpx.ConnectError as exc:
            last_error = exc  # try the next address, as a resolver-driven connect would
    if last_error is None:
        raise FetchRefused(f"{url.host} has no addresses.")
    raise last_error


async def _read_capped(response: httpx.Response, limit: int) -> _Body:
    """The decoded body up to `limit` bytes; reading stops there (so decompression bombs too)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            return _Body(b"".join(chunks)[:limit], True)
    return _Body(b"".join(chunks), False)


def _render(url: httpx.URL, response: httpx.Response, body: _Body, limit: int) -> ToolOutput:
    content_type = response.headers.get("content-type", "")
    mime = content_type.split(";", 1)[0].strip().lower()
    charset = response.charset_encoding
    title = None
    if mime in _HTML:
        # Imported here: BeautifulSoup costs ~0.1 s at startup, and most sessions fetch no page.
        from skipjack.tools._html import html_to_markdown

        text, title = html_to_markdown(body.data, charset)
    elif _is_text(mime) or (not mime and not is_binary(body.data[:8192])):
        text = body.data.decode(_codec(charset), "replace")
    else:
        return ToolOutput.error(
            f"Refused: {url} is {mime or 'binary data'}, not text or HTML; web_fetch returns text only.",
            details={"url": str(url), "status": response.status_code, "content_type": mime},
        )
    notes = []
    if body.truncated:
        notes.append(f"[the response was larger than {limit} bytes; only the first {limit} were read]")
    if len(text) > MAX_OUTPUT_CHARS:
        notes.append(f"[output cut: {len(text)} characters, first {MAX_OUTPUT_CHARS} shown]")
        text = text[:MAX_OUTPUT_CHARS]
    header = [f"URL: {url}", f"Status: {response.status_code} {response.reason_phrase}".rstrip()]
    if title:
        header.append(f"Title: {title}")
    header.append(f"Content-Type: {mime or 'unknown'}")
    out = "\n".join(header) + "\n\n" + text
    if notes:
        out += "\n\n" + "\n".join(notes)
    return ToolOutput.text(
        out,
        is_error=response.status_code >= 400,
        details={"url": str(url), "status": response.status_code, "content_type": mime, "truncated": body.truncated},
    )


def _is_text(mime: str) -> bool:
    return mime.startswith("text/") or mime in _TEXT_APPLICATION or mime.endswith("+json") or mime.endswith("+xml")


def _codec(charset: str | None) -> str:
    try:
        return codecs.lookup(charset).name if charset else "utf-8"
    except LookupError:
        return "utf-8"
