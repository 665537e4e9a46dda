"""LLM summaries against a local fake OpenAI-compatible server (aiohttp on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiohttp import web

from bot.pipeline import extract_document
from bot.pipeline.llm import LLMSummarizer, check_faithful
from tests.timing import allowance

FIX = Path(__file__).parent / "fixtures" / "pipeline"
KEY = "sk-test-SECRET-123"


@pytest.fixture(scope="module")
def piece():
    return extract_document((FIX / "column_copied.txt").read_bytes())


@pytest.fixture
async def fake_llm():
    state = {"reply": "", "delay": 0.0, "status": 200, "requests": []}

    async def completions(request: web.Request) -> web.Response:
        state["requests"].append(
            {"auth": request.headers.get("Authorization"), "body": await request.json()}
        )
        await asyncio.sleep(state["delay"])
        if state["status"] != 200:
            return web.json_response({"error": "boom"}, status=state["status"])
        return web.json_response(
            {"choices": [{"message": {"role": "assistant", "content": state["reply"]}}]}
        )

    app = web.Application()
    app.router.add_post("/v1/chat/completions", completions)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    state["url"] = f"http://127.0.0.1:{port}/v1"
    yield state
    await runner.cleanup()


FAITHFUL = (
    "Helena Marchetti and Tomasz Wielgosz argue that the council should publish every tunnel "
    "contract, as costs tripled since 2014."
)


async def test_llm_summary_used_when_faithful(fake_llm, piece):
    fake_llm["reply"] = FAITHFUL
    llm = LLMSummarizer(fake_llm["url"], KEY, "tiny-model")
    summary = await llm.summarize(piece)
    assert summary.method == "llm:tiny-model"
    assert summary.text == FAITHFUL
    assert fake_llm["requests"][0]["auth"] == f"Bearer {KEY}"
    assert fake_llm["requests"][0]["body"]["model"] == "tiny-model"


@pytest.mark.parametrize(
    "reply",
    [
        "The council should publish 57 contracts, the columnists argue.",  # invented number
        "Mayor John Smith should publish every contract, the writers argue.",  # invented name
    ],
)
async def test_unfaithful_falls_back(fake_llm, piece, reply, caplog):
    fake_llm["reply"] = reply
    llm = LLMSummarizer(fake_llm["url"], KEY, "tiny-model")
    with caplog.at_level(logging.WARNING):
        summary = await llm.summarize(piece)
    assert summary.method == "extractive"
    assert "unfaithful" in llm.last_fallback_reason
    assert "unfaithful" in caplog.text and KEY not in caplog.text


async def test_timeout_error_and_budget(fake_llm, piece, caplog):
    fake_llm["reply"] = FAITHFUL
    # The timeout grows with the machine's load: at 0.2 s a busy machine timed out the HTTP 500
    # call too. The model answers well after it, so the first call still times out.
    timeout = allowance(0.5)
    fake_llm["delay"] = 2 * timeout + 0.5
    llm = LLMSummarizer(fake_llm["url"], KEY, "m", timeout=timeout, daily_budget=2)
    with caplog.at_level(logging.WARNING):
        assert (await llm.summarize(piece)).method == "extractive"
        assert "timeout" in llm.last_fallback_reason
        fake_llm["delay"], fake_llm["status"] = 0.0, 500
        assert (await llm.summarize(piece)).method == "extractive"
        assert "HTTP 500" in llm.last_fallback_reason
        fake_llm["status"] = 200
        assert (await llm.summarize(piece)).method == "extractive"  # budget of 2 is spent
        assert "budget" in llm.last_fallback_reason
    assert len(fake_llm["requests"]) == 2
    assert KEY not in caplog.text and KEY not in repr(llm)


async def test_unreachable_endpoint(piece):
    llm = LLMSummarizer("http://127.0.0.1:9/v1", KEY, "m", timeout=1)
    summary = await llm.summarize(piece, "short")
    assert summary.method == "extractive" and len(summary.text) <= 200
    assert KEY not in (llm.last_fallback_reason or "")


def test_faithfulness_guard(piece):
    check_faithful("However, the council should publish every contract.", piece)
    with pytest.raises(ValueError):
        check_faithful("Brussels should pay.", piece)


async def test_opinion_brief_names_writer_thesis_grounds_and_proposal(fake_llm, piece):
    fake_llm["reply"] = FAITHFUL
    await LLMSummarizer(fake_llm["url"], KEY, "tiny-model").summarize(piece)
    system, user = fake_llm["requests"][0]["body"]["messages"]
    for word in ("writer", "thesis", "ground", "proposal"):
        assert word in system["content"]
    assert "Helena Marchetti" in user["content"]  # the writer, named for the model


async def test_unfaithful_answer_refused_and_extractive_summary_used(fake_llm, piece):
    # The model names someone the piece never mentions: the guard refuses the answer and the
    # chat gets the extractive summary (the writer's proposal), not the invention.
    fake_llm["reply"] = "Finance minister Olaf Brandt argues the tunnel should be sold."
    llm = LLMSummarizer(fake_llm["url"], KEY, "tiny-model")
    summary = await llm.summarize(piece, "short")
    assert summary.method == "extractive"
    assert "Brandt" not in summary.text
    assert summary.sentences == [
        "The council should publish every contract before it spends another euro on this tunnel."
    ]
