"""Optional LLM summaries through any OpenAI-compatible endpoint, guarded for faithfulness.

The model's summary is used only when every number and every capitalised name in it occurs in
the piece; otherwise — and on a timeout, an error or an exhausted daily budget — the extractive
summary is returned and the reason logged. The API key never reaches logs or exception messages.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
from datetime import UTC, datetime
from functools import lru_cache

import httpx
from wordfreq import top_n_list

from bot.errors import BotError, TranslationUnavailable
from bot.types import ExtractedPiece, Summary, SummaryLength, Translation

from .sentences import split_sentences
from .summarize import LIMITS, genre
from .summarize import summarize as extractive_summary

log = logging.getLogger(__name__)

MAX_INPUT_CHARS = 12000
_LENGTH_PROMPT = {
    "short": "in one sentence of at most 200 characters",
    "standard": "in at most three sentences and 600 characters",
    "long": "in at most six sentences",
}
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CAPITALISED = re.compile(r"\b[A-Z][\w'’\-]*")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|[\"“(]\s*)$")


@lru_cache(maxsize=8)
def _common(language: str) -> frozenset[str]:
    try:
        return frozenset(top_n_list(language, 500, wordlist="small"))  # see summarize.py
    except (LookupError, ValueError):
        return frozenset(top_n_list("en", 500, wordlist="small"))


# The same brief as the extractive summary: who argues what, on what grounds, and what they
# want done; names and numbers only from the text (the guard below checks).
OPINION_BRIEF = (
    "You summarize opinion pieces faithfully, in the piece's language. Name the writer (from "
    "the Author line) and state their thesis: the claim the piece defends. Then give the "
    "strongest ground they offer for it and the proposal: what they say should be done. Do "
    "not describe the opening anecdote. Use only names and numbers that appear in the text. "
    "Reply with the summary only."
)
NEWS_BRIEF = (
    "You summarize news reports faithfully, in the piece's language: what happened, to whom, "
    "when and where, as the report's opening states it. Use only names and numbers that "
    "appear in the text. Reply with the summary only."
)


class FaithfulnessError(BotError, ValueError):
    """The generated summary names something the piece does not."""


def _source_text(piece: ExtractedPiece) -> str:
    parts = [piece.title, piece.standfirst, piece.text, piece.outlet, *piece.authors]
    return "\n".join(p for p in parts if p)


def check_faithful(summary: str, piece: ExtractedPiece) -> None:
    """Raise FaithfulnessError unless every number and capitalised name occurs in the piece."""
    source = _source_text(piece)
    language = (piece.language or "en").split("-")[0]
    digits = {n.replace(",", "") for n in _NUMBER.findall(source)}
    for number in _NUMBER.findall(summary):
        if number not in source and number.replace(",", "") not in digits:
            raise FaithfulnessError(f"number {number!r} is not in the piece")
    words = set(re.findall(r"[\w'’\-]+", source))
    lowered = {w.casefold() for w in words}
    for m in _CAPITALISED.finditer(summary):
        word = m.group(0).rstrip("'’-")
        if word in words or word.removesuffix("’s").removesuffix("'s") in words:
            continue
        at_start = bool(_SENTENCE_START.search(summary[: m.start()]))
        common = word.casefold() in lowered or word.casefold() in _common(language)
        if at_start and common:
            continue  # "The", "However": an ordinary word that opens a sentence
        raise FaithfulnessError(f"name {word!r} is not in the piece")


TRANSLATE_BRIEF = (
    "You translate news and opinion summaries faithfully. Translate the title and the summary "
    "into the language with ISO 639-1 code {language}. Keep every name and number as it is "
    'written. Reply with JSON only: {{"title": "...", "summary": "..."}}.'
)


class LLMSummarizer:
    """Summaries from an OpenAI-compatible chat-completions endpoint, with extractive fallback."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        model: str,
        *,
        timeout: float = 30.0,
        daily_budget: int = 200,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._api_key = api_key
        self.model = model
        self.timeout = timeout
        self.daily_budget = daily_budget
        self._client = client
        self._lock = threading.Lock()
        self._day = datetime.now(UTC).date()
        self._used = 0
        self.last_fallback_reason: str | None = None

    def __repr__(self) -> str:  # never show the key
        return f"LLMSummarizer(base_url={self.base_url!r}, model={self.model!r})"

    @property
    def used_today(self) -> int:
        with self._lock:
            self._roll_day()
            return self._used

    def _roll_day(self) -> None:
        today = datetime.now(UTC).date()
        if today != self._day:
            self._day, self._used = today, 0

    def _take_budget(self) -> bool:
        with self._lock:
            self._roll_day()
            if self._used >= self.daily_budget:
                return False
            self._used += 1
            return True

    def _redact(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text

    async def summarize(self, piece: ExtractedPiece, length: SummaryLength = "standard") -> Summary:
        """The LLM's summary when it is faithful, else the extractive one (reason logged)."""
        if length not in LIMITS:
            raise ValueError(f"unknown summary length {length!r}: use short, standard or long")
        reason: str
        if not self._take_budget():
            reason = f"daily budget of {self.daily_budget} requests used"
        else:
            try:
                text = await self._complete(piece, length)
                text = self._fit(text, length)
                check_faithful(text, piece)
            except httpx.TimeoutException:
                reason = f"timeout after {self.timeout:g}s"
            except httpx.HTTPStatusError as exc:
                reason = f"HTTP {exc.response.status_code} from the LLM endpoint"
            except httpx.HTTPError as exc:
                reason = f"request failed ({type(exc).__name__})"
            except FaithfulnessError as exc:
                reason = f"unfaithful summary: {exc}"
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                reason = f"unusable response ({type(exc).__name__})"
            else:
                self.last_fallback_reason = None
                sentences = split_sentences(text, piece.language)
                return Summary(
                    text=text, method=f"llm:{self.model}", sentences=sentences, length=length
                )
        reason = self._redact(reason)
        self.last_fallback_reason = reason
        log.warning("LLM summary not used for %r: %s; using extractive", piece.url, reason)
        return await asyncio.to_thread(extractive_summary, piece, length)

    async def translate(self, title: str, summary: str, language: str) -> Translation:
        """``title`` and ``summary`` in ``language``; one request of the daily budget.

        Raises TranslationUnavailable (reason logged without the key) when the budget is
        spent, the endpoint fails, or the answer drops or invents a number.
        """
        if not self._take_budget():
            raise TranslationUnavailable(f"daily budget of {self.daily_budget} requests used")
        messages = [
            {"role": "system", "content": TRANSLATE_BRIEF.format(language=language)},
            {"role": "user", "content": json.dumps({"title": title, "summary": summary})},
        ]
        try:
            content = await self._chat(messages)
            data = json.loads(content.strip().removeprefix("```json").strip("` \n"))
            new_title, new_summary = str(data["title"]).strip(), str(data["summary"]).strip()
            if not new_title or not new_summary:
                raise ValueError("empty translation")
            source_numbers = {n.replace(",", "") for n in _NUMBER.findall(f"{title} {summary}")}
            for number in _NUMBER.findall(f"{new_title} {new_summary}"):
                if number.replace(",", "") not in source_numbers:
                    raise FaithfulnessError(f"number {number!r} is not in the original")
        except httpx.TimeoutException:
            reason = f"timeout after {self.timeout:g}s"
        except httpx.HTTPStatusError as exc:
            reason = f"HTTP {exc.response.status_code} from the LLM endpoint"
        except httpx.HTTPError as exc:
            reason = f"request failed ({type(exc).__name__})"
        except FaithfulnessError as exc:
            reason = f"unfaithful translation: {exc}"
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            reason = f"unusable response ({type(exc).__name__})"
        else:
            return Translation(language, new_title, new_summary, f"llm:{self.model}")
        reason = self._redact(reason)
        log.warning("translation to %s not used: %s", language, reason)
        raise TranslationUnavailable(reason)

    def _fit(self, text: str, length: SummaryLength) -> str:
        text = " ".join(text.split()).strip().strip('"“”')
        if not text:
            raise ValueError("empty summary")
        max_sentences, max_chars = LIMITS[length]
        if len(text) > max_chars or len(split_sentences(text)) > max_sentences:
            raise ValueError("summary too long")
        return text

    async def _complete(self, piece: ExtractedPiece, length: SummaryLength) -> str:
        byline = ", ".join(piece.authors) or "unknown"
        body = piece.text[:MAX_INPUT_CHARS]
        opinion = genre(piece) == "opinion"
        return await self._chat(
            [
                {"role": "system", "content": OPINION_BRIEF if opinion else NEWS_BRIEF},
                {
                    "role": "user",
                    "content": (
                        f"Summarize {_LENGTH_PROMPT[length]}.\n\nTitle: {piece.title}\n"
                        f"Author: {byline}\n\n{body}"
                    ),
                },
            ]
        )

    async def _chat(self, messages: list[dict[str, str]]) -> str:
        """One chat completion's text (temperature 0); httpx errors propagate."""
        headers = {"Content-Type": "application/json"}
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        payload = {"model": self.model, "temperature": 0, "messages": messages}
        url = f"{self.base_url}/chat/completions"
        if self._client is not None:
            response = await self._client.post(
                url, json=payload, headers=headers, timeout=self.timeout
            )
        else:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.post(url, json=payload, headers=headers)
        response.raise_for_status()
        data = response.json()
        content = data["choices"][0]["message"]["content"]
        if not isinstance(content, str):
            raise TypeError("content is not text")
        return content
