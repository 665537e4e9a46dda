"""A scripted terminal-chat session (piped stdin) against a local feed, end to end."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from aiohttp import web

from tests.cli_helpers import ROOT, cli_env
from tests.httpserver import LocalHTTPServer

PARAGRAPHS = [
    "The harbour authority has announced a plan to fill the old lagoon and build a logistics "
    "park on the reclaimed land.",
    "Supporters say the park will bring jobs to a district that lost its shipyard a decade ago "
    "and has never recovered.",
    "But the lagoon is the last wetland on this stretch of coast, and it shelters birds that "
    "stop here on their way south every autumn.",
    "There are empty warehouses two kilometres inland that could host the same park at a "
    "fraction of the cost, with no loss of habitat.",
    "The authority should withdraw the plan and put the inland site out to tender instead.",
    "A port that trades its last wetland for a car park of containers will hardly be thanked "
    "by the next generation.",
]


def item(guid: str, title: str, author: str, paragraphs: list[str]) -> str:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f"<item><title>{title}</title><link>https://example.org/opinion/{guid}</link>"
        f"<guid isPermaLink='false'>{guid}</guid><dc:creator>{author}</dc:creator>"
        f"<pubDate>Mon, 23 Nov 2026 0{len(guid) % 9}:00:00 GMT</pubDate>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
    )


def feed(*items: str) -> str:
    return (
        "<?xml version='1.0' encoding='utf-8'?><rss version='2.0' "
        "xmlns:content='http://purl.org/rss/1.0/modules/content/' "
        "xmlns:dc='http://purl.org/dc/elements/1.1/'><channel><title>Coast Views</title>"
        "<link>https://example.org/</link>" + "".join(items) + "</channel></rss>"
    )


OLD = item(
    "old-1", "Keep the ferry running", "Sam Lee", [p.replace("lagoon", "ferry") for p in PARAGRAPHS]
)
NEW = item("new-2", "Do not fill the lagoon", "Rana Aziz", PARAGRAPHS)


async def test_subscribe_receive_reply_more_and_search(tmp_path: Path) -> None:
    requests = 0

    async def changing_feed(request: web.Request) -> web.Response:
        nonlocal requests
        requests += 1
        # /addsource fetches once (its first poll reuses it); /poll is the second request.
        body = feed(OLD) if requests <= 1 else feed(NEW, OLD)
        return web.Response(text=body, content_type="application/rss+xml")

    async with LocalHTTPServer() as server:
        server.add("/feed.xml", handler=changing_feed)
        script = "\n".join(
            [
                f"/addsource {server.url('/feed.xml')} coast 30m",
                "/subscribe coast",
                "/subscriptions",
                "/poll coast",
                "> /more",
                "> /author",
                "/search lagoon",
                "/why https://example.org/opinion/new-2",
                "/unsubscribe coast",
                "",
            ]
        )
        env = cli_env(tmp_path, COMMENTARY_DEMO="false", COMMENTARY_ALLOW_PRIVATE_URLS="true")
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            "--console",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=tmp_path,
            env=env,
        )
        out, err = await asyncio.wait_for(proc.communicate(script.encode()), 90)
    stdout, stderr = out.decode(), err.decode()
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    # /addsource reports what it found.
    assert "coast" in stdout and "Coast Views" in stdout
    # The new piece arrived as a post after /poll, and only it (the old one was backlog).
    assert stdout.count("Do not fill the lagoon") >= 2  # the post, then /more's card
    assert "Rana Aziz" in stdout
    post_line = next(line for line in stdout.splitlines() if "Do not fill the lagoon" in line)
    assert post_line.startswith("[m")
    # /more shows the long summary, including the writer's prescription.
    assert "should withdraw the plan" in stdout
    # /search finds it with a highlighted snippet; /why says it was sent.
    assert "[lagoon]" in stdout
    assert "Posted here" in stdout
    assert requests == 2
    assert "Keep the ferry running" not in post_line
    assert ROOT.exists()
