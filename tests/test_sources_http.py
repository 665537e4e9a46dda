"""Fetcher against a scripted server on 127.0.0.1: limits, redirects, guard, conditional GET."""

from __future__ import annotations

import asyncio
import email.utils
import gzip
import ipaddress
import logging
import socket
import time
import zlib
from pathlib import Path

import httpx
import pytest
from aiohttp import web

from bot.sources.http import Fetcher, FetchError, content_type_allowed, parse_retry_after
from bot.sources.ssrf import is_public_ip
from tests.timing import allowance, load_factor

try:
    from tests.conftest_http import http_server  # noqa: F401 - fixture
    from tests.httpserver import (
        LocalHTTPServer,
        big_body,
        etag_resource,
        gzip_bomb,
        gzip_bomb_bytes,
        redirect,
        slow_drip,
    )
except ModuleNotFoundError:
    from conftest_http import http_server  # type: ignore[no-redef]  # noqa: F401
    from httpserver import (  # type: ignore[no-redef]
        LocalHTTPServer,
        big_body,
        etag_resource,
        gzip_bomb,
        gzip_bomb_bytes,
        redirect,
        slow_drip,
    )

RSS = b"<?xml version='1.0'?><rss version='2.0'><channel><title>T</title></channel></rss>"
RSS_HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8"}
UA = "commentary-bot-test/1.0"


def loopback_is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Treat the test server (127.0.0.1) as public so guarded redirect chains can be tested."""
    return str(ip) == "127.0.0.1" or is_public_ip(ip)


class RecordingTransport(httpx.AsyncHTTPTransport):
    """The real transport, noting every host it is asked to connect to."""

    def __init__(self) -> None:
        super().__init__()
        self.hosts: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.hosts.append(request.url.host)
        assert request.url.host == "127.0.0.1", "tests must never leave 127.0.0.1"
        return await super().handle_async_request(request)


def make_fetcher(**kwargs: object) -> Fetcher:
    kwargs.setdefault("user_agent", UA)
    return Fetcher(**kwargs)  # type: ignore[arg-type]


async def test_plain_fetch(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed.xml", RSS, headers={**RSS_HEADERS, "X-Extra": "yes"})
    async with make_fetcher() as fetcher:
        result = await fetcher.fetch(http_server.url("/feed.xml"), expect="feed")
    assert result.status == 200
    assert result.content == RSS
    assert result.url == http_server.url("/feed.xml")
    assert result.headers["x-extra"] == "yes"
    assert result.content_type == RSS_HEADERS["Content-Type"]
    assert not result.not_modified and result.permanent_redirect is None
    sent = http_server.requests_for("/feed.xml")[0].headers
    assert sent["User-Agent"] == UA
    assert "gzip" in sent["Accept-Encoding"]


async def test_conditional_get_round_trip(http_server: LocalHTTPServer) -> None:
    lm = "Sun, 12 May 2024 08:00:00 GMT"
    http_server.add("/feed.xml", handler=etag_resource(RSS, '"abc"', last_modified=lm))
    async with make_fetcher() as fetcher:
        first = await fetcher.fetch(http_server.url("/feed.xml"))
        assert first.etag == '"abc"' and first.last_modified == lm
        second = await fetcher.fetch(
            http_server.url("/feed.xml"), etag=first.etag, last_modified=first.last_modified
        )
    assert second.not_modified and second.status == 304 and second.content == b""
    assert http_server.hits["/feed.xml"] == 2
    req = http_server.requests_for("/feed.xml")[1].headers
    assert req["If-None-Match"] == '"abc"'
    assert req["If-Modified-Since"] == lm
    assert "If-None-Match" not in http_server.requests_for("/feed.xml")[0].headers


async def test_if_modified_since_alone(http_server: LocalHTTPServer) -> None:
    lm = "Sun, 12 May 2024 08:00:00 GMT"
    http_server.add("/f", handler=etag_resource(RSS, '"x"', last_modified=lm))
    async with make_fetcher() as fetcher:
        result = await fetcher.fetch(http_server.url("/f"), last_modified=lm)
    assert result.not_modified


@pytest.mark.parametrize(
    ("status", "kind"),
    [(404, "http_status"), (500, "http_status"), (410, "gone"), (403, "http_status")],
)
async def test_error_statuses(http_server: LocalHTTPServer, status: int, kind: str) -> None:
    http_server.add("/x", b"nope", status=status)
    async with make_fetcher() as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/x"))
    assert info.value.kind == kind
    assert info.value.status == status
    assert str(info.value) and "127.0.0.1" not in str(info.value)


async def test_missing_route_is_404(http_server: LocalHTTPServer) -> None:
    async with make_fetcher() as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/missing"))
    assert (info.value.kind, info.value.status) == ("http_status", 404)


async def test_429_retry_after_seconds(http_server: LocalHTTPServer) -> None:
    http_server.add("/x", b"slow down", status=429, headers={"Retry-After": "120"})
    async with make_fetcher() as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/x"))
    assert info.value.kind == "http_status" and info.value.status == 429
    assert info.value.retry_after == 120


async def test_503_retry_after_http_date(http_server: LocalHTTPServer) -> None:
    when = email.utils.formatdate(time.time() + 90, usegmt=True)
    http_server.add("/x", b"", status=503, headers={"Retry-After": when})
    async with make_fetcher() as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/x"))
    assert info.value.status == 503
    assert info.value.retry_after is not None and 80 <= info.value.retry_after <= 91


async def test_429_without_retry_after(http_server: LocalHTTPServer) -> None:
    http_server.add("/x", b"", status=429)
    async with make_fetcher() as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/x"))
    assert info.value.retry_after is None


def test_parse_retry_after() -> None:
    assert parse_retry_after("5") == 5
    assert parse_retry_after("-3") == 0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


async def test_redirects_permanent_and_temporary(http_server: LocalHTTPServer) -> None:
    http_server.add("/old", handler=redirect("/older", 301))
    http_server.add("/older", handler=redirect(http_server.url("/feed.xml"), 308))
    http_server.add("/temp", handler=redirect("/old", 302))
    http_server.add("/feed.xml", RSS, headers=RSS_HEADERS)
    async with make_fetcher() as fetcher:
        permanent = await fetcher.fetch(http_server.url("/old"))
        mixed = await fetcher.fetch(http_server.url("/temp"))
    assert permanent.url == http_server.url("/feed.xml")
    assert permanent.permanent_redirect == http_server.url("/feed.xml")
    assert permanent.content == RSS
    assert mixed.url == http_server.url("/feed.xml") and mixed.permanent_redirect is None


async def test_redirect_loop(http_server: LocalHTTPServer) -> None:
    http_server.add("/a", handler=redirect("/b"))
    http_server.add("/b", handler=redirect("/a"))
    async with make_fetcher() as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/a"))
    assert info.value.kind == "too_many_redirects"
    assert http_server.hits["/a"] == 1 and http_server.hits["/b"] == 1


async def test_too_many_redirects(http_server: LocalHTTPServer) -> None:
    for i in range(10):
        http_server.add(f"/r{i}", handler=redirect(f"/r{i + 1}"))
    async with make_fetcher(max_redirects=5) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/r0"))
    assert info.value.kind == "too_many_redirects"
    assert http_server.hits["/r6"] == 0


async def test_guard_refuses_loopback_before_connecting(http_server: LocalHTTPServer) -> None:
    http_server.add("/feed.xml", RSS)
    transport = RecordingTransport()
    async with make_fetcher(transport=transport) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/feed.xml"), guard=True)
        assert info.value.kind == "unsafe_url"
        with pytest.raises(FetchError):
            await fetcher.fetch(f"http://localhost:{http_server.port}/feed.xml", guard=True)
    assert transport.hosts == [] and http_server.hits["/feed.xml"] == 0


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://localhost/",
        "http://internal.corp.example/",  # resolves to a private address via the hook
    ],
)
async def test_guard_checks_every_redirect_hop(http_server: LocalHTTPServer, target: str) -> None:
    http_server.add("/start", handler=redirect("/hop", 301))
    http_server.add("/hop", handler=redirect(target, 302))

    async def resolve(host: str, port: int) -> list[str]:
        assert host == "internal.corp.example", f"unexpected DNS lookup of {host}"
        return ["10.1.2.3"]

    transport = RecordingTransport()
    async with make_fetcher(
        transport=transport, ip_policy=loopback_is_public, resolve=resolve
    ) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/start"), guard=True)
    assert info.value.kind == "unsafe_url"
    assert http_server.hits["/start"] == 1 and http_server.hits["/hop"] == 1
    assert transport.hosts == ["127.0.0.1", "127.0.0.1"]  # the private target was never contacted


async def test_guarded_fetch_succeeds_when_all_hops_are_public(
    http_server: LocalHTTPServer,
) -> None:
    http_server.add("/start", handler=redirect("/feed.xml"))
    http_server.add("/feed.xml", RSS, headers=RSS_HEADERS)
    async with make_fetcher(ip_policy=loopback_is_public) as fetcher:
        result = await fetcher.fetch(http_server.url("/start"), guard=True, expect="feed")
    assert result.content == RSS


async def test_redirect_to_file_is_refused_even_unguarded(http_server: LocalHTTPServer) -> None:
    http_server.add("/start", handler=redirect("file:///etc/passwd"))
    async with make_fetcher() as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/start"))
    assert info.value.kind == "unsafe_url"


async def test_allow_private_lets_guarded_fetch_reach_loopback(
    http_server: LocalHTTPServer,
) -> None:
    http_server.add("/feed.xml", RSS)
    async with make_fetcher(allow_private=True) as fetcher:
        result = await fetcher.fetch(http_server.url("/feed.xml"), guard=True)
    assert result.content == RSS


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://ftp.example.com/feed.xml", "gopher://example.com/"]
)
async def test_user_supplied_non_http_urls_are_refused(url: str) -> None:
    transport = RecordingTransport()
    async with make_fetcher(transport=transport) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(url, guard=True)
    assert info.value.kind == "unsafe_url" and transport.hosts == []


async def test_ftp_refused_unguarded_too() -> None:
    transport = RecordingTransport()
    async with make_fetcher(transport=transport) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch("ftp://ftp.example.com/feed.xml")
    assert info.value.kind == "unsafe_url" and transport.hosts == []


async def test_operator_file_url(tmp_path: Path) -> None:
    feed = tmp_path / "demo feed.xml"
    feed.write_bytes(RSS)
    async with make_fetcher() as fetcher:
        result = await fetcher.fetch(feed.as_uri(), expect="feed")
        assert result.content == RSS and result.status == 200
        assert result.content_type == "application/xml"
        again = await fetcher.fetch(feed.as_uri(), last_modified=result.last_modified)
        assert again.not_modified and again.content == b""
        with pytest.raises(FetchError) as missing:
            await fetcher.fetch((tmp_path / "nope.xml").as_uri())
        assert missing.value.kind == "network"


async def test_file_url_size_cap(tmp_path: Path) -> None:
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * 2000)
    async with make_fetcher(max_bytes=1000) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(big.as_uri())
    assert info.value.kind == "too_large"


@pytest.mark.parametrize("declare_length", [False, True])
async def test_50mb_body_is_cut_off(http_server: LocalHTTPServer, declare_length: bool) -> None:
    http_server.add("/big", handler=big_body(50_000_000, declare_length=declare_length))
    started = time.perf_counter()
    async with make_fetcher() as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/big"))
    assert info.value.kind == "too_large"
    assert "5 MB" in str(info.value)
    assert time.perf_counter() - started < allowance(5)


async def test_gzip_bomb_is_cut_off(http_server: LocalHTTPServer) -> None:
    http_server.add("/bomb", handler=gzip_bomb(1 << 30))
    started = time.perf_counter()
    async with make_fetcher(max_bytes=5_000_000) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/bomb"), expect="feed")
    assert info.value.kind == "too_large"
    assert time.perf_counter() - started < allowance(5)


async def test_gzip_and_deflate_bodies_are_decoded(http_server: LocalHTTPServer) -> None:
    http_server.add("/gz", gzip.compress(RSS), headers={"Content-Encoding": "gzip"})
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    http_server.add(
        "/raw", raw.compress(RSS) + raw.flush(), headers={"Content-Encoding": "deflate"}
    )
    http_server.add("/zlib", zlib.compress(RSS), headers={"Content-Encoding": "deflate"})
    http_server.add(
        "/multi",
        gzip.compress(RSS[:20]) + gzip.compress(RSS[20:]),
        headers={"Content-Encoding": "gzip"},
    )
    http_server.add("/corrupt", b"\x1f\x8b\x08\x00garbage!", headers={"Content-Encoding": "gzip"})
    async with make_fetcher() as fetcher:
        for path in ("/gz", "/raw", "/zlib", "/multi"):
            assert (await fetcher.fetch(http_server.url(path))).content == RSS, path
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/corrupt"))
        assert info.value.kind == "network"


async def test_body_exactly_at_the_cap_is_accepted(http_server: LocalHTTPServer) -> None:
    http_server.add("/exact", gzip.compress(b"a" * 1000), headers={"Content-Encoding": "gzip"})
    async with make_fetcher(max_bytes=1000) as fetcher:
        assert len((await fetcher.fetch(http_server.url("/exact"))).content) == 1000


async def test_slow_drip_hits_total_deadline(http_server: LocalHTTPServer) -> None:
    http_server.add("/drip", handler=slow_drip(interval=0.1))
    started = time.perf_counter()
    async with make_fetcher(total_timeout=1.0, read_timeout=5.0) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/drip"))
    elapsed = time.perf_counter() - started
    assert info.value.kind == "timeout"
    # The drip never ends (and each read is quick): only the total deadline can stop it.
    assert 0.9 <= elapsed < allowance(3)


async def test_read_timeout(http_server: LocalHTTPServer) -> None:
    async def stall(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(5)
        return web.Response(body=RSS)

    http_server.add("/stall", handler=stall)
    started = time.perf_counter()
    async with make_fetcher(read_timeout=0.3, total_timeout=10) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/stall"))
    assert info.value.kind == "timeout"
    assert time.perf_counter() - started < allowance(2)


async def test_connection_refused_is_network_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with make_fetcher() as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(f"http://127.0.0.1:{port}/feed.xml")
    assert info.value.kind == "network"


@pytest.mark.parametrize(
    ("content_type", "expect", "ok"),
    [
        ("application/rss+xml", "feed", True),
        ("application/atom+xml; charset=utf-8", "feed", True),
        ("application/feed+json", "feed", True),
        ("text/xml", "feed", True),
        ("text/html; charset=utf-8", "feed", True),
        ("text/plain", "feed", True),
        (None, "feed", True),
        ("image/png", "feed", False),
        ("video/mp4", "feed", False),
        ("audio/mpeg", "feed", False),
        ("application/octet-stream", "feed", False),
        ("application/pdf", "feed", False),
        ("application/zip", "feed", False),
        ("text/html", "html", True),
        ("application/xhtml+xml", "html", True),
        ("application/json", "html", False),
        ("image/jpeg", "html", False),
        ("application/pdf", "any", True),
    ],
)
def test_content_type_allowed(content_type: str | None, expect: str, ok: bool) -> None:
    assert content_type_allowed(content_type, expect) is ok  # type: ignore[arg-type]


async def test_bad_content_type_is_refused(http_server: LocalHTTPServer) -> None:
    http_server.add("/img", b"\x89PNG....", headers={"Content-Type": "image/png"})
    async with make_fetcher() as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/img"), expect="feed")
        assert info.value.kind == "bad_content_type"
        assert (await fetcher.fetch(http_server.url("/img"))).content == b"\x89PNG...."


async def test_per_host_limit(http_server: LocalHTTPServer) -> None:
    active = 0
    peak = 0

    async def slow(request: web.Request) -> web.StreamResponse:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.1)
        active -= 1
        return web.Response(body=RSS)

    http_server.add("/slow", handler=slow)
    async with make_fetcher(per_host_limit=2) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(http_server.url("/slow")) for _ in range(6)))
        assert fetcher._hosts == {}  # idle host semaphores are dropped
    assert len(results) == 6
    assert peak == 2


def test_httpx_loggers_are_quiet() -> None:
    assert logging.getLogger("httpx").level == logging.WARNING
    assert logging.getLogger("httpcore").level == logging.WARNING


async def test_queueing_does_not_count_against_the_deadline(http_server: LocalHTTPServer) -> None:
    scale = load_factor()  # on a busy machine one fetch alone may take longer than 0.4 s

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(0.4 * scale)
        return web.Response(body=RSS)

    http_server.add("/slow", handler=slow)
    # One slot, three fetches of 0.4 s each, 0.7 s deadline: the third waits 0.8 s in the queue.
    async with make_fetcher(per_host_limit=1, total_timeout=0.7 * scale) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(http_server.url("/slow")) for _ in range(3)))
    assert [r.content for r in results] == [RSS] * 3


async def test_peer_address_is_checked_after_connecting(http_server: LocalHTTPServer) -> None:
    """DNS rebinding: the name looked public when checked, the socket says otherwise."""
    http_server.add("/feed.xml", RSS)
    calls = 0

    def public_once(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        nonlocal calls
        calls += 1
        return calls == 1 and str(ip) == "127.0.0.1"

    async with make_fetcher(ip_policy=public_once) as fetcher:
        with pytest.raises(FetchError) as info:
            await fetcher.fetch(http_server.url("/feed.xml"), guard=True)
    assert info.value.kind == "unsafe_url"
    assert calls == 2


def test_gzip_bomb_helper_is_a_real_gzip_stream() -> None:
    data = b"".join(gzip_bomb_bytes(3))
    assert len(data) < 10_000
    assert gzip.decompress(data) == bytes(3 << 20)
