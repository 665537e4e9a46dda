"""One shared HTTP client for feeds and pages: conditional GET, limits, SSRF guard on every hop."""

from __future__ import annotations

import asyncio
import email.utils
import ipaddress
import logging
import mimetypes
import os
import socket
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC
from typing import Literal
from urllib.parse import unquote, urljoin, urlsplit
from urllib.request import url2pathname

import httpx

from bot.errors import BotError
from bot.sources.pinning import CheckedTransport
from bot.sources.ssrf import (
    IPPolicy,
    Resolver,
    UnresolvableHostError,
    UnsafeURLError,
    check_url,
    is_public_ip,
)

# httpx/httpcore log full URLs at INFO/DEBUG; URLs may carry tokens in query strings.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

log = logging.getLogger(__name__)

FetchErrorKind = Literal[
    "timeout",
    "too_large",
    "http_status",
    "unsafe_url",
    "bad_content_type",
    "too_many_redirects",
    "network",
    "gone",
]
Expect = Literal["feed", "html", "any"]

_REDIRECTS = (301, 302, 303, 307, 308)
_PERMANENT = (301, 308)
_FEED_TOKENS = ("xml", "rss", "atom", "json", "rdf")
_ACCEPT = {
    "feed": (
        "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9,"
        " text/xml;q=0.9, application/json;q=0.8, text/html;q=0.5, */*;q=0.1"
    ),
    "html": "text/html, application/xhtml+xml;q=0.9, */*;q=0.1",
    "any": "*/*",
}


class FetchError(BotError):
    """A fetch failed; ``kind`` says how, ``str()`` is a short message safe to show users."""

    def __init__(
        self,
        kind: FetchErrorKind,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: FetchErrorKind = kind
        self.status = status
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return f"FetchError({self.kind!r}, {str(self)!r}, status={self.status})"


@dataclass
class FetchResult:
    url: str
    status: int
    content: bytes
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    not_modified: bool = False
    permanent_redirect: str | None = None
    content_type: str | None = None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def content_type_allowed(content_type: str | None, expect: Expect) -> bool:
    """Cheap sanity check of a Content-Type before reading the body."""
    if expect == "any" or not content_type:
        return True  # a missing type is sniffed by the parser
    mime = content_type.split(";", 1)[0].strip().lower()
    if not mime:
        return True
    if mime.startswith("text/"):
        return True
    if expect == "feed":
        return any(token in mime for token in _FEED_TOKENS) or "html" in mime
    return "html" in mime or "xml" in mime


def _human_size(n: int) -> str:
    return f"{n / 1_000_000:g} MB" if n >= 1_000_000 else f"{n / 1000:g} kB"


class _Decoder:
    """Content-Encoding decoder that never inflates more than ``limit`` bytes per call.

    httpx's own decoders inflate a whole network chunk at once (a 64 kB gzip chunk of zeros
    becomes ~64 MB), so we decode raw bytes ourselves and stop at the cap. ``done`` turns true
    at the end of the compressed stream: whatever a server sends after it is never read.
    """

    _GZIP_MAGIC = b"\x1f\x8b"

    def __init__(self, encoding: str) -> None:
        self._encodings = [e.strip().lower() for e in encoding.split(",") if e.strip()]
        self._encodings = [e for e in self._encodings if e not in ("identity", "")]
        self._brotli = None
        self.done = False
        self._between = b""  # bytes after a gzip member: the next member's start, or junk
        if len(self._encodings) > 1:
            raise FetchError("network", "unsupported layered Content-Encoding")
        self._kind = self._encodings[0] if self._encodings else "identity"
        if self._kind in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif self._kind == "deflate":
            self._z = zlib.decompressobj()
            self._first = True
        elif self._kind == "br":
            try:
                import brotli
            except ImportError as exc:
                raise FetchError("network", "server sent brotli without being asked") from exc
            self._brotli = brotli.Decompressor()
        else:
            self._kind = "identity"  # unknown codings pass through, as httpx does

    def decode(self, data: bytes, limit: int) -> bytes:
        if self.done:
            return b""
        try:
            if self._kind == "identity":
                return data
            if self._brotli is not None:
                out = self._brotli.process(data)
                self.done = bool(getattr(self._brotli, "is_finished", lambda: False)())
                return out
            if self._kind == "deflate":
                if self._first:
                    self._first = False
                    try:
                        out = self._z.decompress(data, limit)
                    except zlib.error:
                        # Many servers send raw deflate without the zlib header.
                        self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                        out = self._z.decompress(data, limit)
                else:
                    out = self._z.decompress(data, limit)
                self.done = self._z.eof  # anything after the stream's end is junk
                return out
            return self._gzip(data, limit)
        except zlib.error as exc:
            raise FetchError("network", "the server sent a corrupt compressed body") from exc

    def _gzip(self, data: bytes, limit: int) -> bytes:
        out = b""
        if self._z.eof:
            data = self._between + data
            self._between = b""
            if len(data) < len(self._GZIP_MAGIC):
                self._between = data  # too short to tell yet
                return out
            if not data.startswith(self._GZIP_MAGIC):
                self.done = True  # trailing junk after the last member
                return out
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = self._z.decompress(data, limit)
        while self._z.eof and self._z.unused_data and not self.done:
            # Concatenated gzip members: the raw-size cap bounds how many (empty ones too).
            rest = self._z.unused_data
            if len(rest) < len(self._GZIP_MAGIC):
                self._between = rest
                break
            if not rest.startswith(self._GZIP_MAGIC):
                self.done = True
                break
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out += self._z.decompress(rest, max(1, limit - len(out)))
        return out

    def flush(self) -> bytes:
        if self._kind in ("identity", "br"):
            return b""
        try:
            out = self._z.flush()
        except zlib.error as exc:
            raise FetchError("network", "the server sent a corrupt compressed body") from exc
        if self._kind != "deflate" and not self._z.eof:
            raise FetchError("network", "the server sent a truncated compressed body")
        return out


class Fetcher:
    """Owns one ``httpx.AsyncClient`` shared by every source; use as an async context manager."""

    def __init__(
        self,
        *,
        user_agent: str,
        max_bytes: int = 5_000_000,
        connect_timeout: float = 10.0,
        read_timeout: float = 20.0,
        total_timeout: float = 60.0,
        max_redirects: int = 5,
        per_host_limit: int = 4,
        global_limit: int = 32,
        allow_private: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
        resolve: Resolver | None = None,
        ip_policy: IPPolicy | None = None,
    ) -> None:
        self.max_bytes = max_bytes
        self.total_timeout = total_timeout
        self.max_redirects = max_redirects
        self.per_host_limit = per_host_limit
        self.allow_private = allow_private
        self._resolve = resolve
        self._ip_policy = ip_policy
        self._global = asyncio.Semaphore(global_limit)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._host_users: dict[str, int] = {}
        self._client = httpx.AsyncClient(
            transport=transport,
            follow_redirects=False,  # we follow by hand so the SSRF guard sees every hop
            timeout=httpx.Timeout(
                connect=connect_timeout, read=read_timeout, write=read_timeout, pool=total_timeout
            ),
            # As many idle keep-alive connections as fetches in flight: a smaller pool closes
            # and reopens connections on every busy polling round.
            limits=httpx.Limits(
                max_connections=global_limit, max_keepalive_connections=global_limit
            ),
            headers={"User-Agent": user_agent, "Accept-Encoding": "gzip, deflate"},
            # Proxies from the environment would bypass the address checks.
            trust_env=False,
        )
        # Guarded hops go through a second client whose connections are opened only to the
        # addresses the guard checked (one lookup per connection, no rebinding window). A
        # transport given by tests has no sockets of its own to pin: the guard then checks
        # names by DNS before the request, and the peer after it.
        self._pinned: httpx.AsyncClient | None = None
        if transport is None and not allow_private:
            self._pinned = httpx.AsyncClient(
                transport=CheckedTransport(
                    limits=httpx.Limits(
                        max_connections=global_limit,
                        max_keepalive_connections=min(global_limit, 20),
                    ),
                    resolve=resolve,
                    ip_policy=ip_policy,
                ),
                follow_redirects=False,
                timeout=self._client.timeout,
                headers=self._client.headers,
                trust_env=False,
            )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()
        if self._pinned is not None:
            await self._pinned.aclose()

    @asynccontextmanager
    async def _slot(self, host: str, deadline: asyncio.Timeout) -> AsyncIterator[None]:
        sem = self._hosts.get(host)
        if sem is None:
            sem = self._hosts[host] = asyncio.Semaphore(self.per_host_limit)
        self._host_users[host] = self._host_users.get(host, 0) + 1
        loop = asyncio.get_running_loop()
        queued_at = loop.time()
        # Time spent queued behind other fetches is not the server's fault: the total
        # deadline is paused while waiting for a slot and moved back by the time waited.
        when = deadline.when()
        deadline.reschedule(None)
        try:
            async with self._global, sem:
                if when is not None:
                    deadline.reschedule(when + (loop.time() - queued_at))
                yield
        finally:
            # Drop idle per-host semaphores so the dict doesn't grow with every host ever seen.
            self._host_users[host] -= 1
            if self._host_users[host] == 0:
                del self._host_users[host]
                del self._hosts[host]

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        guard: bool = False,
        expect: Expect = "any",
        trusted_host: str | None = None,
    ) -> FetchResult:
        """GET ``url``; raise FetchError on any failure.

        ``guard=True`` puts every hop (redirects included) through the SSRF guard, except hops
        to ``trusted_host``: the host an operator typed may be inside the network, the links
        and redirects its feed hands out may not.
        """
        trusted = (trusted_host or "").rstrip(".").lower() or None
        try:
            async with asyncio.timeout(self.total_timeout) as deadline:
                return await self._fetch(url, etag, last_modified, guard, expect, deadline, trusted)
        except TimeoutError as exc:
            raise FetchError("timeout", f"timed out after {self.total_timeout:g}s") from exc

    async def _fetch(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        guard: bool,
        expect: Expect,
        deadline: asyncio.Timeout,
        trusted_host: str | None = None,
    ) -> FetchResult:
        scheme = urlsplit(url.strip()).scheme.lower()
        if scheme == "file":
            if guard:
                raise FetchError("unsafe_url", "only http and https URLs are allowed (got file)")
            return await asyncio.to_thread(self._read_file, url.strip(), last_modified)
        if scheme not in ("http", "https"):
            shown = scheme or "no scheme"
            raise FetchError("unsafe_url", f"only http and https URLs are allowed (got {shown})")
        current = url.strip()
        seen = {current}
        hops = 0
        all_permanent = True
        while True:
            host = urlsplit(current).hostname or ""
            hop_guarded = guard and not self.allow_private and host.rstrip(".") != trusted_host
            await self._check(current, hop_guarded)
            client = self._pinned if hop_guarded and self._pinned is not None else self._client
            headers = {"Accept": _ACCEPT.get(expect, "*/*")}
            if etag:
                headers["If-None-Match"] = etag
            if last_modified:
                headers["If-Modified-Since"] = last_modified
            async with self._slot(host, deadline):
                try:
                    request = client.build_request("GET", current, headers=headers)
                    response = await client.send(request, stream=True)
                except UnresolvableHostError as exc:
                    raise FetchError("network", str(exc)) from exc
                except UnsafeURLError as exc:  # the pinned connection refused the address
                    raise FetchError("unsafe_url", str(exc)) from exc
                except httpx.TimeoutException as exc:
                    raise FetchError("timeout", "the server took too long to answer") from exc
                except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                    raise FetchError("unsafe_url", "that doesn't look like a valid URL") from exc
                except httpx.RemoteProtocolError as exc:
                    if "location header" in str(exc).lower():
                        # httpx pre-parses Location even with follow_redirects off and rejects
                        # hosts such as 0177.0.0.1: an obfuscated target, never contacted.
                        kind: FetchErrorKind = "unsafe_url" if hop_guarded else "network"
                        raise FetchError(kind, "the server sent an invalid redirect") from exc
                    raise FetchError("network", _network_message(exc)) from exc
                except httpx.HTTPError as exc:
                    raise FetchError("network", _network_message(exc)) from exc
                try:
                    if hop_guarded:
                        self._check_peer(response)
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECTS and location:
                        hops += 1
                        if hops > self.max_redirects:
                            raise FetchError(
                                "too_many_redirects", f"more than {self.max_redirects} redirects"
                            )
                        # urljoin, not httpx's join: httpx rejects some odd hosts with a
                        # parse error, and the guard should report them as unsafe instead.
                        target = urljoin(str(response.url), location.strip())
                        if urlsplit(target).scheme.lower() not in ("http", "https"):
                            # Never let a server redirect us to file:// or similar, guard or not.
                            raise FetchError("unsafe_url", "redirect to a non-http URL refused")
                        if target in seen:
                            raise FetchError("too_many_redirects", "redirect loop")
                        seen.add(target)
                        all_permanent = all_permanent and response.status_code in _PERMANENT
                        current = target
                        continue
                    result = await self._finish(response, expect)
                finally:
                    await response.aclose()
            if hops and all_permanent:
                result.permanent_redirect = result.url
            return result

    def _check_peer(self, response: httpx.Response) -> None:
        """Refuse a response from a private peer: DNS may have changed since check_url.

        The request has been sent by then, but nothing the internal host said reaches anyone.
        """
        if self.allow_private:
            return
        stream = response.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if not peer:
            return  # custom transports (tests) have no socket
        try:
            ip = ipaddress.ip_address(str(peer[0]).split("%", 1)[0])
        except ValueError:
            return
        if not (self._ip_policy or is_public_ip)(ip):
            raise FetchError("unsafe_url", "the host points to a private or local address")

    async def check_url(self, url: str) -> None:
        """The SSRF guard with this fetcher's resolver and IP policy (UnsafeURLError if refused)."""
        await check_url(
            url, allow_private=self.allow_private, resolve=self._resolve, ip_policy=self._ip_policy
        )

    async def _check(self, url: str, guard: bool) -> None:
        if not guard:
            return
        try:
            await check_url(
                url,
                allow_private=self.allow_private,
                resolve=self._resolve,
                ip_policy=self._ip_policy,
                # A pinned connection looks the name up itself, once, and checks what it uses.
                dns=self._pinned is None,
            )
        except UnresolvableHostError as exc:
            raise FetchError("network", str(exc)) from exc
        except UnsafeURLError as exc:
            raise FetchError("unsafe_url", str(exc)) from exc

    async def _finish(self, response: httpx.Response, expect: Expect) -> FetchResult:
        status = response.status_code
        headers = {k.lower(): v for k, v in response.headers.items()}
        content_type = headers.get("content-type")
        result = FetchResult(
            url=str(response.url),
            status=status,
            content=b"",
            headers=headers,
            etag=headers.get("etag"),
            last_modified=headers.get("last-modified"),
            content_type=content_type,
        )
        if status == 304:
            result.not_modified = True
            return result
        if status == 410:
            raise FetchError("gone", "the page is gone (HTTP 410)", status=status)
        if status in (429, 503):
            retry = parse_retry_after(headers.get("retry-after"))
            what = "rate limited" if status == 429 else "service unavailable"
            raise FetchError(
                "http_status", f"{what} (HTTP {status})", status=status, retry_after=retry
            )
        if status >= 400 or status < 200:
            raise FetchError("http_status", f"HTTP {status}", status=status)
        if 300 <= status < 400:
            raise FetchError("http_status", f"HTTP {status} without a usable Location")
        if not content_type_allowed(content_type, expect):
            mime = (content_type or "").split(";", 1)[0].strip()
            raise FetchError("bad_content_type", f"unexpected content type {mime}", status=status)
        declared = headers.get("content-length", "")
        decoder = _Decoder(headers.get("content-encoding", ""))
        if declared.isdigit() and decoder._kind == "identity" and int(declared) > self.max_bytes:
            raise FetchError("too_large", self._too_large(), status=status)
        body = bytearray()
        raw = 0
        try:
            async for chunk in response.aiter_raw():
                # Both sizes are capped: compressed junk (empty gzip members) inflates to
                # nothing, so counting decoded bytes alone would read it until the timeout.
                raw += len(chunk)
                body += decoder.decode(chunk, self.max_bytes - len(body) + 1)
                if len(body) > self.max_bytes or raw > self.max_bytes:
                    raise FetchError("too_large", self._too_large(), status=status)
                if decoder.done:
                    break  # the compressed stream ended; what follows is not read
            body += decoder.flush()
        except httpx.TimeoutException as exc:
            raise FetchError("timeout", "the server stopped sending data") from exc
        except httpx.HTTPError as exc:
            raise FetchError("network", _network_message(exc)) from exc
        if len(body) > self.max_bytes:
            raise FetchError("too_large", self._too_large(), status=status)
        result.content = bytes(body)
        return result

    def _too_large(self) -> str:
        return f"response larger than {_human_size(self.max_bytes)}"

    def _read_file(self, url: str, last_modified: str | None) -> FetchResult:
        """Operator-trusted ``file://`` sources (the bundled demo feed); same size cap."""
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            raise FetchError("unsafe_url", "file URLs must not name a host")
        path = url2pathname(unquote(parts.path))
        try:
            stat = os.stat(path)
            mtime = email.utils.formatdate(stat.st_mtime, usegmt=True)
            if last_modified and last_modified == mtime:
                return FetchResult(url, 304, b"", {}, None, mtime, not_modified=True)
            if stat.st_size > self.max_bytes:
                raise FetchError("too_large", self._too_large())
            with open(path, "rb") as fh:
                content = fh.read(self.max_bytes + 1)
        except FileNotFoundError as exc:
            raise FetchError("network", "file not found", status=404) from exc
        except IsADirectoryError as exc:
            raise FetchError("network", "that path is a directory") from exc
        except OSError as exc:
            raise FetchError("network", f"can't read file ({exc.strerror})") from exc
        if len(content) > self.max_bytes:
            raise FetchError("too_large", self._too_large())
        content_type = mimetypes.guess_type(path)[0]
        headers = {"last-modified": mtime, "content-length": str(len(content))}
        if content_type:
            headers["content-type"] = content_type
        return FetchResult(
            url=url,
            status=200,
            content=content,
            headers=headers,
            etag=None,
            last_modified=mtime,
            content_type=content_type,
        )


def _network_message(exc: httpx.HTTPError) -> str:
    if isinstance(exc, httpx.ConnectError):
        # The same words as the SSRF guard's, whichever path found out first.
        host, port = _request_host(exc)
        cause = _root_cause(exc)
        if isinstance(cause, socket.gaierror) and host:
            return f"can't resolve host {host}"
        if isinstance(cause, ConnectionRefusedError) and host:
            where = f"{host}:{port}" if port else host
            return f"{where} refused the connection"
        return "can't connect to the server"
    if isinstance(exc, httpx.RemoteProtocolError):
        return "the server broke the connection"
    return "network error"


def _root_cause(exc: BaseException) -> BaseException:
    seen = 0
    while seen < 10:
        nxt = exc.__cause__ or exc.__context__
        if nxt is None:
            break
        exc, seen = nxt, seen + 1
    return exc


def _request_host(exc: httpx.HTTPError) -> tuple[str | None, int | None]:
    try:
        url = exc.request.url
    except RuntimeError:  # no request attached
        return None, None
    return url.host or None, url.port
