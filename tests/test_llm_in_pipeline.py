"""LLM summaries through the real ingestion path, against a fake OpenAI-compatible server."""

from __future__ import annotations

from aiohttp import web

from bot.adapters.console import render_reply
from bot.app import demo_feed_url
from bot.messages import post_for
from tests.factories import open_core
from tests.httpserver import LocalHTTPServer

KEY = "sk-test-secret-key-123456"
FAITHFUL = "The council should cancel the car park and move its budget to the school."


async def test_pieces_record_llm_summaries_and_chats_label_them(tmp_path, caplog) -> None:
    calls: list[str] = []

    async def completions(request: web.Request) -> web.Response:
        calls.append(request.headers.get("Authorization", ""))
        body = await request.json()
        text = " ".join(m["content"] for m in body["messages"])
        # Faithful for the car-park column; an invented name for every other piece.
        reply = FAITHFUL if "car park" in text else "Mayor Quentin Blofeld must resign."
        return web.json_response(
            {"choices": [{"message": {"role": "assistant", "content": reply}}]}
        )

    async with LocalHTTPServer() as server:
        server.add("/v1/chat/completions", handler=completions)
        async with open_core(
            tmp_path, llm_base_url=server.url("/v1"), llm_api_key=KEY, llm_model="tiny"
        ) as core:
            source = await core.services.store.add_source("demo", demo_feed_url())
            await core._scheduler.poller.poll(source)
            pieces = await core.services.store.latest_pieces(10)
    assert calls and all(c == f"Bearer {KEY}" for c in calls)
    by_title = {p.title: p for p in pieces}
    car_park = by_title["Cities should stop building car parks and start building schools"]
    assert car_park.summary == FAITHFUL and car_park.summary_method == "llm:tiny"
    others = [p for p in pieces if p is not car_park]
    assert others and all(p.summary_method == "extractive" for p in others)
    assert all("Blofeld" not in (p.summary or "") for p in others)
    shown = render_reply(post_for(car_park), "m1")
    assert "language model (tiny)" in shown
    assert KEY not in caplog.text
