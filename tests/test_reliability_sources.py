"""Adding and changing sources: what cannot work is refused in one line, the same on the command
line and in chat; ``--force`` adds it anyway; ``sources edit`` changes a source in place."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from bot.core import Core
from bot.errors import SourceError, SourceRefused
from bot.sources.http import Fetcher
from tests.cli_helpers import run_cli
from tests.factories import make_settings, open_core
from tests.handler_support import OWNERS, owner_says
from tests.httpserver import LocalHTTPServer
from tests.test_ingest_support import HTML_TYPE, RSS_TYPE, article_page, item, prose, rss

UA = "commentary-bot-test/sources"


def closed_port() -> int:
    """A port on 127.0.0.1 nobody listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NoSuchHosts(httpx.AsyncHTTPTransport):
    """The real transport, except that names under .invalid do not resolve (as on any resolver),
    without asking a DNS server: no test touches the internet."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host.endswith(".invalid"):
            try:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            except socket.gaierror as exc:
                raise httpx.ConnectError(str(exc), request=request) from exc
        return await super().handle_async_request(request)


async def no_dns(host: str, port: int) -> list[str]:
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


async def test_what_cannot_work_is_refused_and_force_adds_it_anyway(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    http_server.add("/plain", "<html><body><p>No feed here.</p></body></html>", headers=HTML_TYPE)
    refused = f"http://127.0.0.1:{closed_port()}/feed.xml"
    async with open_core(tmp_path) as core:
        cases = {
            http_server.url("/missing.xml"): "HTTP 404",
            refused: "refused the connection",
        }
        for url, reason in cases.items():
            with pytest.raises(SourceRefused, match=reason):
                await core.add_source(url)
        with pytest.raises(SourceRefused, match="not a feed"):
            await core.add_source(http_server.url("/plain"), kind="feed")
        # A selector that can never work is refused before anything is fetched, force or not.
        with pytest.raises(SourceError, match="invalid CSS selector"):
            await core.add_source(http_server.url("/plain"), kind="page", selector="a[[[")
        with pytest.raises(SourceError, match="invalid CSS selector"):
            await core.add_source(http_server.url("/x"), selector="a[[[", force=True)
        assert await core.services.store.list_sources() == []
        assert http_server.hits["/x"] == 0
        # --force: added, the failure recorded, retried on schedule.
        report = await core.add_source(http_server.url("/missing.xml"), name="later", force=True)
        assert report.error == "HTTP 404"
        source = await core.services.store.get_source("later")
        assert source.consecutive_failures == 1 and source.last_error == "HTTP 404"


async def test_a_page_given_as_a_feed_says_it_followed_its_feed_link(
    tmp_path: Path, http_server: LocalHTTPServer
) -> None:
    elsewhere = f"http://127.0.0.1:{closed_port()}/feed.xml"
    page = (
        "<html><head><title>Views</title>"
        f"<link rel='alternate' type='application/rss+xml' href='{elsewhere}'></head>"
        "<body><p>Our columns.</p></body></html>"
    )
    http_server.add("/views", page, headers=HTML_TYPE)
    async with open_core(tmp_path) as core:
        with pytest.raises(SourceRefused) as refused:
            await core.add_source(http_server.url("/views"), kind="feed")
    message = str(refused.value)
    assert message.startswith(f"the page links a feed at {elsewhere}, which failed")
    assert "refused the connection" in message


async def test_an_unresolvable_host_reads_the_same_on_the_command_line_and_in_chat(
    tmp_path: Path,
) -> None:
    url = "http://nonexistent.invalid/feed.xml"
    # The command line's path: an operator source, fetched by the HTTP client.
    async with Fetcher(user_agent=UA, transport=NoSuchHosts(), allow_private=True) as fetcher:
        async with Core.open(make_settings(tmp_path / "cli"), fetcher=fetcher) as core:
            with pytest.raises(SourceRefused) as cli:
                await core.add_source(url, trusted=True)
    # The chat's path: the SSRF guard resolves the host first.
    async with Fetcher(user_agent=UA, transport=NoSuchHosts(), resolve=no_dns) as fetcher:
        settings = make_settings(
            tmp_path / "chat", commentary_owners=OWNERS, commentary_allow_private_urls=False
        )
        async with Core.open(settings, fetcher=fetcher) as core:
            answer = await owner_says(core, "addsource", url)
            assert await core.services.store.list_sources() == []
    assert str(cli.value) == "can't resolve host nonexistent.invalid"
    assert answer.is_error
    assert answer.messages[0].text == "Not added: can't resolve host nonexistent.invalid"


async def test_edit_changes_a_source_in_place(tmp_path: Path, http_server: LocalHTTPServer) -> None:
    base = http_server.base
    http_server.add("/old.xml", rss([item(base, 1)]), headers=RSS_TYPE)
    http_server.add("/new.xml", rss([item(base, n) for n in (1, 2, 3)]), headers=RSS_TYPE)
    for n in (1, 2, 3):
        link = item(base, n).link or ""
        http_server.add(
            link.removeprefix(base), article_page(f"Piece {n}", prose(n)), headers=HTML_TYPE
        )
    async with open_core(tmp_path) as core:
        await core.add_source(http_server.url("/old.xml"), name="views")
        with pytest.raises(SourceRefused, match="HTTP 404"):
            await core.edit_source("views", url=http_server.url("/gone.xml"))
        with pytest.raises(SourceError, match="invalid CSS selector"):
            await core.edit_source("views", selector="h2 >>> a")
        with pytest.raises(SourceError, match="No source named"):
            await core.edit_source("nope", interval=600)
        edited = await core.edit_source(
            "views", url=http_server.url("/new.xml"), interval=900, new_name="columns"
        )
        assert (edited.name, edited.url, edited.interval_seconds) == (
            "columns",
            http_server.url("/new.xml"),
            900,
        )
        assert edited.etag is None and not edited.first_poll_done
        assert await core.services.store.get_source("views") is None
        [report] = await core.poll_now("columns")
        assert report.status == "ok" and report.entries == 3


def test_cli_add_refuses_with_one_line_and_exit_2_then_edit(tmp_path: Path) -> None:
    """The real program against a listing page served from a fixture file (file:// URL)."""
    listing = tmp_path / "listing.html"
    listing.write_text(
        "<html><head><title>Town Columns</title></head><body><main>"
        + "".join(f"<h2 class='t'><a href='/c/{n}'>Column {n}</a></h2>" for n in (1, 2))
        + "</main></body></html>"
    )
    missing = (tmp_path / "missing.xml").as_uri()
    refused = run_cli(tmp_path, "sources", "add", missing, COMMENTARY_DEMO="false")
    assert refused.returncode == 2 and refused.stdout == ""
    [line] = refused.stderr.splitlines()
    assert "not added: file not found" in line and "--force" in line
    bad = run_cli(tmp_path, "sources", "add", listing.as_uri(), "--selector", "a[[[")
    assert bad.returncode == 2 and "invalid CSS selector" in bad.stderr
    assert "Traceback" not in refused.stderr + bad.stderr
    forced = run_cli(tmp_path, "sources", "add", missing, "--name", "later", "--force")
    assert forced.returncode == 0, forced.stderr
    assert "retried on schedule" in forced.stdout
    added = run_cli(tmp_path, "sources", "add", listing.as_uri(), "--kind", "page")
    assert added.returncode == 0, added.stderr
    assert "commentary-bot sources edit town-columns --selector" in added.stdout
    edited = run_cli(
        tmp_path, "sources", "edit", "town-columns", "--selector", "h2.t a", "--interval", "2h"
    )
    assert edited.returncode == 0, edited.stderr
    assert "Changed town-columns" in edited.stdout and "h2.t a" in edited.stdout
    listed = json.loads(run_cli(tmp_path, "sources", "list", "--format", "json").stdout)
    by_name = {s["name"]: s for s in listed}
    assert by_name["town-columns"]["interval_seconds"] == 7200
    # Filled in for every active source, with no bot running.
    assert all(s["next_run_at"] for s in listed)
    unknown = run_cli(tmp_path, "sources", "edit", "nope", "--interval", "1h")
    assert unknown.returncode == 2 and "nope" in unknown.stderr
