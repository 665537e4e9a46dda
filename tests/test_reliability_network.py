"""What an operator's feed can make the bot fetch, and what a hostile server can make it read.

Each case is one hole found by attacking the bot from outside (issue #16), reproduced against a
LocalHTTPServer through the real poller or the real Fetcher:

* article links and redirects inside an operator's feed reach only the host the operator typed,
  or public addresses; the address a connection uses is the one the guard checked;
* a compressed body stops at the end of its stream and costs at most the size cap on the wire.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import open_core as open_app_core
from bot.core import Core
from bot.sources.http import Fetcher, FetchError
from bot.sources.ssrf import is_public_ip
from tests.factories import make_settings
from tests.httpserver import LocalHTTPServer, redirect
from tests.support.reliability import article_html

UA = "commentary-bot-test/network"
HTML = {"Content-Type": "text/html; charset=utf-8"}
RSS = {"Content-Type": "application/rss+xml"}


async def fake_dns(host: str, port: int) -> list[str]:
    """Made-up names for the test server's address; everything else fails (no real DNS)."""
    table = {"intranet.corp.test": ["127.0.0.1"], "metadata.corp.test": ["169.254.169.254"]}
    if host in table:
        return table[host]
    raise OSError(f"no DNS in tests for {host}")


@asynccontextmanager
async def operator_core(tmp_path: Path, **overrides: Any) -> AsyncIterator[Core]:
    """A Core with the guard on (COMMENTARY_ALLOW_PRIVATE_URLS unset) and the real sockets."""
    allow = overrides.pop("allow_private", False)
    settings = make_settings(tmp_path, commentary_allow_private_urls=allow, **overrides)
    fetcher = Fetcher(
        user_agent=UA,
        allow_private=allow,
        connect_timeout=2,
        read_timeout=2,
        total_timeout=4,
        resolve=fake_dns,
    )
    async with fetcher, open_app_core(settings, fetcher=fetcher) as core:
        yield core


def feed_linking(server: LocalHTTPServer, *links: str) -> None:
    items = "".join(
        f"<item><guid>g{i}</guid><title>Column {i}</title><link>{link}</link></item>"
        for i, link in enumerate(links)
    )
    server.add(
        "/feed",
        f"<?xml version='1.0'?><rss version='2.0'><channel><title>Ops</title>{items}"
        "</channel></rss>",
        headers=RSS,
    )


INTERNAL_LINKS = {
    "localhost": "http://localhost:{port}/secret",
    "ipv6-loopback": "http://[::1]:{port}/secret",
    "name-to-loopback": "http://intranet.corp.test:{port}/secret",
    "link-local-metadata": "http://169.254.169.254/latest/meta-data/",
    "name-to-metadata": "http://metadata.corp.test/latest/meta-data/",
    "private-range": "http://10.0.0.1/admin",
}


@pytest.mark.parametrize("link", list(INTERNAL_LINKS.values()), ids=list(INTERNAL_LINKS))
async def test_operator_feed_links_to_internal_hosts_are_refused(
    tmp_path: Path, http_server: LocalHTTPServer, link: str
) -> None:
    """The operator typed 127.0.0.1; an entry's link to another, internal host is not fetched."""
    http_server.add("/secret", article_html(1, title="Internal admin page"), headers=HTML)
    http_server.add("/own", article_html(2, title="Column on the operator's host"), headers=HTML)
    feed_linking(http_server, link.format(port=http_server.port), http_server.url("/own"))
    async with operator_core(tmp_path) as core:
        await core.services.store.add_source(
            "ops", http_server.url("/feed")
        )  # trusted: from the CLI
        [report] = await core.poll_now()
        titles = {p.title for p in await core.services.store.latest_pieces(10)}
    assert http_server.hits["/secret"] == 0
    assert "Internal admin page" not in titles
    # Links to the host the operator typed stay trusted, even though it is 127.0.0.1.
    assert "Column on the operator's host" in titles
    assert report.error and re.search("private or local|local addresses", report.error), report


async def test_operator_feed_redirect_to_internal_host_is_refused(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/secret", article_html(1, title="Internal admin page"), headers=HTML)
    http_server.add("/hop", handler=redirect(f"http://localhost:{http_server.port}/secret"))
    feed_linking(http_server, http_server.url("/hop"))
    async with operator_core(tmp_path) as core:
        await core.services.store.add_source("ops", http_server.url("/feed"))
        [report] = await core.poll_now()
        assert not await core.services.store.latest_pieces(10)
    assert http_server.hits["/hop"] == 1 and http_server.hits["/secret"] == 0
    assert report.error and "local addresses are not allowed" in report.error


async def test_allow_private_urls_lets_operator_links_through(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/secret", article_html(1, title="Intranet column"), headers=HTML)
    feed_linking(http_server, f"http://localhost:{http_server.port}/secret")
    async with operator_core(tmp_path, allow_private=True) as core:
        await core.services.store.add_source("ops", http_server.url("/feed"))
        await core.poll_now()
        titles = {p.title for p in await core.services.store.latest_pieces(10)}
    assert titles == {"Intranet column"}


def loopback_plays_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return str(ip) == "127.0.0.1" or is_public_ip(ip)


async def test_guarded_fetch_connects_to_the_address_it_checked(
    http_server: LocalHTTPServer,
) -> None:
    """One lookup per connection, then the socket goes to that address; Host stays the name.

    The resolver answers a public-looking address once and a private one afterwards (DNS
    rebinding): a second lookup by the HTTP client would reach the private one.
    """
    calls: list[str] = []

    async def rebinding_dns(host: str, port: int) -> list[str]:
        calls.append(host)
        return ["127.0.0.1"] if len(calls) == 1 else ["10.0.0.1"]

    http_server.add("/col", article_html(3), headers=HTML)
    url = f"http://rebind.example:{http_server.port}/col"
    async with Fetcher(
        user_agent=UA, resolve=rebinding_dns, ip_policy=loopback_plays_public, total_timeout=4
    ) as fetcher:
        result = await fetcher.fetch(url, guard=True, expect="html")
    assert result.status == 200 and b"Column number 3" in result.content
    assert calls == ["rebind.example"]
    [request] = http_server.requests_for("/col")
    assert request.headers["Host"] == f"rebind.example:{http_server.port}"


async def test_guarded_fetch_sends_nothing_to_a_name_that_resolves_private(
    http_server: LocalHTTPServer,
) -> None:
    http_server.add("/secret", b"internal", headers=HTML)
    async with Fetcher(user_agent=UA, resolve=fake_dns, total_timeout=4) as fetcher:
        with pytest.raises(FetchError) as caught:
            await fetcher.fetch(f"http://intranet.corp.test:{http_server.port}/secret", guard=True)
    assert caught.value.kind == "unsafe_url"
    assert "private or local" in str(caught.value)
    assert http_server.hits["/secret"] == 0


# ============================================================================ compressed bodies


def _deflate(data: bytes) -> bytes:
    import zlib

    compressor = zlib.compressobj(6, zlib.DEFLATED, zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def _gzip(data: bytes) -> bytes:
    import gzip

    return gzip.compress(data)


class Endless:
    """A handler that sends ``head`` then ``tail`` over and over, counting what it got out."""

    def __init__(self, head: bytes, tail: bytes, encoding: str, limit: int = 100 << 20) -> None:
        self.head, self.tail, self.encoding, self.limit = head, tail, encoding, limit
        self.sent = 0

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/html", "Content-Encoding": self.encoding}
        )
        await response.prepare(request)
        await response.write(self.head)
        self.sent = len(self.head)
        while self.sent < self.limit:
            await response.write(self.tail)
            self.sent += len(self.tail)
        return response


PAGE = article_html(4).encode()


@pytest.mark.parametrize(
    "name, head, tail, encoding",
    [
        ("junk-after-deflate", _deflate(PAGE), b"\x00" * 65536, "deflate"),
        ("junk-after-gzip", _gzip(PAGE), b"\x00" * 65536, "gzip"),
        ("empty-gzip-members", _gzip(PAGE), _gzip(b"") * 3000, "gzip"),
    ],
)
async def test_compressed_body_stops_at_end_of_stream_or_cap(
    http_server: LocalHTTPServer, name: str, head: bytes, tail: bytes, encoding: str
) -> None:
    """Data after the end of the stream is never read past the cap (it used to be read whole)."""
    endless = Endless(head, tail, encoding)
    http_server.add("/page", handler=endless)
    async with Fetcher(user_agent=UA, max_bytes=1_000_000, total_timeout=30) as fetcher:
        try:
            result = await fetcher.fetch(http_server.url("/page"), expect="html")
        except FetchError as exc:
            assert exc.kind == "too_large", exc
        else:
            assert result.content == PAGE
    # The server got rid of at most the cap plus what socket buffers hold.
    assert endless.sent < 40 << 20, endless.sent
