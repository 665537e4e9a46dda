"""A scriptable local HTTP server (aiohttp on 127.0.0.1, ephemeral port) for fetch tests.

    async with LocalHTTPServer() as server:
        server.add("/feed.xml", body=b"<rss/>", headers={"Content-Type": "application/rss+xml"})
        server.add("/old", handler=redirect("/feed.xml", status=301))
        url = server.url("/feed.xml")
        ...
        assert server.hits["/feed.xml"] == 1

Handlers for the awkward cases live here too: ``etag_resource``, ``redirect``, ``slow_drip``,
``gzip_bomb`` and ``big_body``.
"""

from __future__ import annotations

import asyncio
import functools
import struct
import zlib
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class RecordedRequest:
    path: str
    method: str
    headers: dict[str, str]
    query: str


@dataclass
class _Route:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    handler: Handler | None = None


class LocalHTTPServer:
    """aiohttp server on 127.0.0.1 whose routes tests script; counts requests per path."""

    def __init__(self) -> None:
        self._routes: dict[str, _Route] = {}
        self.hits: Counter[str] = Counter()
        self.requests: list[RecordedRequest] = []
        self._runner: web.AppRunner | None = None
        self.port: int = 0

    async def __aenter__(self) -> LocalHTTPServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        # No access log: keeps test output clean; handler_cancellation stops drips on disconnect.
        self._runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=0.5
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # noqa: SLF001 - aiohttp exposes no public way to read the port
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        """Absolute URL of ``path`` on this server."""
        return self.base + (path if path.startswith("/") else "/" + path)

    def add(
        self,
        path: str,
        body: bytes | str = b"",
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        handler: Handler | None = None,
    ) -> None:
        """Serve ``body`` (or call ``handler``) at ``path``; replaces an earlier route."""
        data = body.encode("utf-8") if isinstance(body, str) else body
        self._routes[path] = _Route(status, data, dict(headers or {}), handler)

    def requests_for(self, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == path]

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.hits[path] += 1
        self.requests.append(
            RecordedRequest(path, request.method, dict(request.headers), request.query_string)
        )
        route = self._routes.get(path)
        if route is None:
            return web.Response(status=404, text="not found")
        if route.handler is not None:
            return await route.handler(request)
        return web.Response(status=route.status, body=route.body, headers=route.headers)


def etag_resource(
    body: bytes | str,
    etag: str = '"v1"',
    *,
    last_modified: str | None = None,
    content_type: str = "application/rss+xml",
) -> Handler:
    """Serve ``body`` with validators; answer 304 to a matching If-None-Match/If-Modified-Since."""
    data = body.encode("utf-8") if isinstance(body, str) else body

    async def handler(request: web.Request) -> web.StreamResponse:
        headers = {"ETag": etag}
        if last_modified:
            headers["Last-Modified"] = last_modified
        inm = request.headers.get("If-None-Match")
        ims = request.headers.get("If-Modified-Since")
        if (inm and inm == etag) or (not inm and last_modified and ims == last_modified):
            return web.Response(status=304, headers=headers)
        headers["Content-Type"] = content_type
        return web.Response(body=data, headers=headers)

    return handler


def redirect(location: str, status: int = 302) -> Handler:
    """Redirect to ``location`` (relative or absolute, any host: it is never connected to)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location})

    return handler


def slow_drip(
    interval: float = 0.2,
    chunk: bytes = b"<",
    total: int = 10_000,
    content_type: str = "application/rss+xml",
) -> Handler:
    """Send ``chunk`` every ``interval`` seconds: each read is quick, the whole is endless."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": content_type})
        await response.prepare(request)
        for _ in range(total):
            await response.write(chunk)
            await asyncio.sleep(interval)
        return response

    return handler


_MIB = 1 << 20


@functools.cache
def _zero_blocks() -> tuple[bytes, bytes]:
    """gzip header + first MiB of zeros, and the byte-identical block for every later MiB.

    After a full flush deflate forgets its history, so each further MiB of zeros compresses to
    the same ~1 kB: a 1 GB bomb costs three compressions instead of a thousand.
    """
    compressor = zlib.compressobj(6, zlib.DEFLATED, 31)
    zeros = bytes(_MIB)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert block == compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    return first, block


def gzip_bomb_bytes(mib: int) -> Iterator[bytes]:
    """A valid gzip stream of ``mib`` MiB of zeros, chunk by chunk (the trailer is lazy)."""
    first, block = _zero_blocks()
    yield first
    for _ in range(mib - 1):
        yield block
    crc = 0
    zeros = bytes(_MIB)
    for _ in range(mib):  # only reached by a client that reads the whole thing
        crc = zlib.crc32(zeros, crc)
    # Final empty fixed-Huffman block, then CRC32 and size as the gzip trailer.
    yield b"\x03\x00" + struct.pack("<II", crc, (mib * _MIB) & 0xFFFFFFFF)


def gzip_bomb(uncompressed: int = 1 << 30, content_type: str = "application/rss+xml") -> Handler:
    """Stream ``uncompressed`` zero bytes gzip-compressed (1 GiB -> about 1 MB on the wire)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": content_type, "Content-Encoding": "gzip"}
        )
        await response.prepare(request)
        for chunk in gzip_bomb_bytes(max(1, -(-uncompressed // _MIB))):
            await response.write(chunk)
            await asyncio.sleep(0)  # let a client disconnect cancel us
        return response

    return handler


def big_body(
    size: int = 50_000_000,
    *,
    declare_length: bool = False,
    content_type: str = "text/html; charset=utf-8",
) -> Handler:
    """Stream ``size`` bytes in 64 kB chunks, with or without a Content-Length header."""

    async def handler(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": content_type}
        response = web.StreamResponse(headers=headers)
        if declare_length:
            response.content_length = size
        await response.prepare(request)
        block = b"a" * 65536
        sent = 0
        while sent < size:
            n = min(len(block), size - sent)
            await response.write(block[:n])
            sent += n
        return response

    return handler
