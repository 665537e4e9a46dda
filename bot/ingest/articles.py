"""From a feed entry (or any URL) to a stored-ready PieceDraft: fetch, extract, summarize.

Extraction and summarizing are CPU-bound: they run off the event loop, so commands stay
responsive while a batch of articles is processed: in worker processes when the builder is given
``ExtractWorkers`` (the long-running service: lxml's memory stays out of the bot's process, and a
page that crashes or stalls a worker costs that page only), else on a small thread pool.
"""

from __future__ import annotations

import asyncio
import hashlib
import html as html_lib
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from bot import caps
from bot.ingest.budget import Budget
from bot.pipeline.errors import ExtractionError
from bot.pipeline.text import cap, clean_line, strip_invisible
from bot.sources.feeds import FeedEntry
from bot.sources.fingerprint import fingerprint
from bot.sources.http import Fetcher, FetchResult
from bot.sources.urls import bare_url, piece_url
from bot.types import ExtractedPiece, PieceDraft, Source, Summary, SummaryLength

if TYPE_CHECKING:
    from bot.ingest.extract_worker import ExtractWorkers
    from bot.pipeline.llm import LLMSummarizer

log = logging.getLogger(__name__)

IN_FLIGHT_PER_WORKER = 4  # articles fetched or queued per extraction worker
# Bytes of HTML being extracted at once, all workers together. A page's trees take about ten
# times its size, and more while trafilatura's fallbacks hold their copies: two pages of
# 1.6-1.8 MB extracted side by side raised the peak by 42 MB against 22 MB one after the other.
# Two pages over half of it (about 6% of real article pages are) never run side by side, and
# one over all of it runs alone; the others still use both workers.
EXTRACTING_BYTES = 1_000_000

P = ParamSpec("P")
T = TypeVar("T")


class ArticleBuilder:
    """Builds pieces; one per process, sharing the fetcher and the extraction workers.

    ``extract``: worker processes to extract in; without them, ``workers`` threads of this
    process do it (the terminal chat and one-shot commands, where starting processes costs
    more than it saves).
    """

    def __init__(
        self,
        fetcher: Fetcher,
        *,
        llm: LLMSummarizer | None = None,
        workers: int = 2,
        extract: ExtractWorkers | None = None,
    ) -> None:
        self.fetcher = fetcher
        self.llm = llm
        self.extract = extract
        self._pool: ThreadPoolExecutor | None = None
        if extract is None:
            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="extract")
        else:
            workers = extract.processes
        # A bounded queue between fetching and extracting: at most this many articles are
        # fetched or waiting for a worker, so memory stays flat however many sources a round
        # brings new pieces from (5,000 bodies queued behind 2 workers took 237 MB).
        self._in_flight = asyncio.Semaphore(workers * IN_FLIGHT_PER_WORKER)
        self._extracting = Budget(EXTRACTING_BYTES)

    def warm_up(self) -> None:
        """Load the extraction and summary libraries in the background (on a worker thread,
        or in the worker processes' fork server): start-up does not wait for them, and
        neither does the first article or /summary."""
        if self.extract is not None:
            self.extract.warm_up()
            return
        try:
            assert self._pool is not None
            self._pool.submit(_load_pipeline)
        except RuntimeError:  # already closed: a bot stopping before the warm-up is not an error
            pass

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self.extract is not None:
            self.extract.close()

    async def aclose(self) -> None:
        """Close, and wait until the worker processes (if any) have exited."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self.extract is not None:
            await self.extract.aclose()

    async def _in_pool(
        self, label: str, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """``fn`` off the event loop; ``label`` (the page's address) names it in the log."""
        if self.extract is not None:
            return await self.extract.run(label, fn, *args, **kwargs)
        assert self._pool is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: fn(*args, **kwargs))

    async def from_entry(
        self, entry: FeedEntry, source: Source, *, guard: bool, trusted_host: str | None = None
    ) -> PieceDraft:
        """Use the feed's content when it is the full text, else fetch the article page."""
        async with self._in_flight:
            body = None
            if not (entry.content_is_full and entry.content_html) and entry.url:
                body = await self.fetcher.fetch(
                    entry.url, guard=guard, expect="html", trusted_host=trusted_host
                )
            # One hop to a worker thread for all the CPU work (decode, extract, clean,
            # summaries, fingerprint).
            size = len(body.content) if body is not None else len(entry.content_html or "")
            async with self._extracting.hold(size):
                label = body.url if body is not None else entry.url or entry.guid or source.name
                draft = await self._in_pool(label, build_draft, entry, source, body)
            del body
        if self.llm is not None:
            draft.summary = await self.llm.summarize(draft.piece, "standard")
        return draft

    async def from_url(self, url: str, *, guard: bool) -> ExtractedPiece:
        result = await self.fetcher.fetch(url, guard=guard, expect="html")
        async with self._extracting.hold(len(result.content)):
            piece = await self._in_pool(
                result.url,
                _extract_page,
                result.content,
                url=result.url,
                content_type=result.content_type,
            )
        if not piece.url:
            piece = replace(piece, url=result.url)
        return _sanitize(piece)

    async def summarize(self, piece: ExtractedPiece, length: SummaryLength = "standard") -> Summary:
        if self.llm is not None:
            return await self.llm.summarize(piece, length)
        return await self._in_pool(piece.url or "a piece", _summarize, piece, length)

    async def draft_for_url(self, url: str, *, guard: bool = True) -> PieceDraft:
        """/summary: the page as a piece ready to store (three summaries), from no source."""
        piece = await self.from_url(url, guard=guard)
        canonical = piece_url(piece.url or url)
        if len(canonical) > caps.URL_CHARS:
            raise ExtractionError("The page's address is too long to be a real address.")
        piece = replace(piece, url=canonical)
        made = await self._in_pool(canonical, _summarize_all, piece)
        standard = made["standard"]
        if self.llm is not None:
            standard = await self.llm.summarize(piece, "standard")
        links = [link for link in [piece_url(url)] if len(link) <= caps.URL_CHARS]
        return PieceDraft(
            url=canonical,
            piece=piece,
            fingerprint=await self._in_pool(canonical, fingerprint, piece.text)
            if piece.text
            else None,
            links=[link for link in links if link != canonical],
            summary=standard,
            summary_short=made["short"].text,
            summary_long=made["long"].text,
        )

    async def summarize_url(
        self, url: str, length: SummaryLength = "standard", *, guard: bool = True
    ) -> tuple[ExtractedPiece, Summary]:
        """For /summary and `commentary-bot summarize URL`."""
        piece = await self.from_url(url, guard=guard)
        return piece, await self.summarize(piece, length)


def _load_pipeline() -> None:
    import bot.pipeline.document
    import bot.pipeline.summarize  # noqa: F401


# The pipeline's entry points, imported where they run: in a worker process the bot's own
# process never loads trafilatura (nor lxml's parsers) for them.
def _extract_page(content: bytes, *, url: str, content_type: str | None) -> ExtractedPiece:
    from bot.pipeline.document import extract_document

    return extract_document(content, url=url, content_type=content_type)


def _summarize(piece: ExtractedPiece, length: SummaryLength) -> Summary:
    from bot.pipeline.summarize import summarize

    return summarize(piece, length)


def _summarize_all(piece: ExtractedPiece) -> dict[str, Summary]:
    from bot.pipeline.summarize import summarize_all

    return summarize_all(piece)


def build_draft(entry: FeedEntry, source: Source, body: FetchResult | None) -> PieceDraft:
    """An entry (and its fetched page, if any) as a piece ready to store: the CPU part of
    ingestion, from body bytes to draft (decode, extract, canonical URL, cleanup, the three
    summary lengths, fingerprint). Blocking: the builder runs it on a worker thread, and the
    ingestion benchmark times exactly this."""
    # Imported here: trafilatura and wordfreq load on the first article, not at start-up.
    from bot.pipeline.document import extract_document
    from bot.pipeline.summarize import summarize_all

    page_url = entry.url
    from_feed = body is None  # the text is the feed's own content, not a fetched page
    content_type: str | None = "text/html"
    if body is not None:
        document, content_type, page_url = body.content, body.content_type, body.url
    elif entry.content_html and (entry.content_is_full or not entry.url):
        document = _wrap_html(entry.title, entry.content_html).encode("utf-8")
    elif entry.summary and not entry.url:
        document = _wrap_html(entry.title, entry.summary).encode("utf-8")
    else:
        raise ExtractionError("The entry has neither a link nor any content.")
    piece = extract_document(document, url=page_url, content_type=content_type)
    canonical = None
    if not from_feed and piece.url and piece.url != page_url:
        canonical = piece.url  # the page's <link rel=canonical>, read in the same parse
    if from_feed and (entry.outlet or source.title):
        # No page to read the outlet from: the extractor could only guess from the host.
        piece = replace(piece, outlet=entry.outlet or source.title)
    piece = _sanitize(_fill_from_entry(piece, entry, source))
    if canonical or page_url:
        # A GUID that is a URL is already the entry's link (feeds.py); any other GUID
        # ("42", "tag:...") is no address and may repeat across sources.
        url = piece_url(canonical or page_url or "", source.url)
    else:
        # Neither link nor GUID: a stable made-up address, unique per entry, that at
        # least opens the feed it came from (without its login or query string).
        url = f"{bare_url(source.url)}#entry-{_entry_digest(entry)}"
    if len(url) > caps.URL_CHARS:
        raise ExtractionError("The entry's link is too long to be a real address.")
    links = [piece_url(u, source.url) for u in (entry.url, page_url) if u]
    links = [link for link in links if len(link) <= caps.URL_CHARS]
    piece = replace(piece, url=url)  # the page's own idea may carry the feed's login
    made = summarize_all(piece)
    return PieceDraft(
        url=url,
        piece=piece,
        source_id=source.id,
        guid=entry.guid[: caps.GUID_CHARS] if entry.guid else None,
        fingerprint=fingerprint(piece.text) if piece.text else None,
        links=[link for link in links if link and link != url],
        summary=made["standard"],
        summary_short=made["short"].text,
        summary_long=made["long"].text,
    )


def _sanitize(piece: ExtractedPiece) -> ExtractedPiece:
    """No hidden characters in what the bot shows (titles come from the web), and no field
    longer than its cap in ``bot.caps`` (a 100,000-character title would fill a chat)."""

    def clean(text: str | None, limit: int) -> str | None:
        return cap(strip_invisible(text).strip(), limit) if text else text

    title = clean_line(piece.title, caps.TITLE_CHARS) or cap(piece.title, caps.TITLE_CHARS)
    authors = [a for a in (clean_line(a, caps.AUTHOR_CHARS) for a in piece.authors) if a]
    quotes = [q for q in (clean_line(q, caps.PULL_QUOTE_CHARS) for q in piece.pull_quotes) if q]
    return replace(
        piece,
        title=title,
        standfirst=clean(piece.standfirst, caps.STANDFIRST_CHARS),
        text=cap(strip_invisible(piece.text), caps.TEXT_CHARS),
        outlet=clean_line(piece.outlet, caps.OUTLET_CHARS),
        author_bio=clean(piece.author_bio, caps.AUTHOR_BIO_CHARS),
        disclaimer=clean(piece.disclaimer, caps.DISCLAIMER_CHARS),
        authors=authors[: caps.AUTHORS],
        pull_quotes=quotes[: caps.PULL_QUOTES],
    )


def _entry_digest(entry: FeedEntry) -> str:
    data = "\x1f".join(
        part or "" for part in (entry.title, entry.content_html, entry.summary)
    ).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def _wrap_html(title: str | None, body: str) -> str:
    heading = f"<h1>{html_lib.escape(title)}</h1>" if title else ""
    return f"<html><body><article>{heading}{body}</article></body></html>"


def _looks_like_host(outlet: str) -> bool:
    return " " not in outlet and "." in outlet


def _fill_from_entry(piece: ExtractedPiece, entry: FeedEntry, source: Source) -> ExtractedPiece:
    """The feed often knows what a page hides (date, authors): fill gaps, never overwrite."""
    changes: dict = {}
    if entry.title and (not piece.title or piece.title == piece.url):
        changes["title"] = entry.title
    if not piece.authors and entry.authors:
        changes["authors"] = list(entry.authors)
    if piece.published is None and entry.published is not None:
        changes["published"] = entry.published
    if entry.outlet and (not piece.outlet or _looks_like_host(piece.outlet)):
        changes["outlet"] = entry.outlet  # the feed names the publication; a host name does not
    elif not piece.outlet:
        changes["outlet"] = source.title or source.name
    if not piece.url and entry.url:
        changes["url"] = entry.url
    return replace(piece, **changes) if changes else piece
