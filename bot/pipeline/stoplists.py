"""jusText's stop words of every language in about 1 MB, instead of about 40 for good.

trafilatura's last fallback (jusText, for pages its own extraction finds short or unclean)
counts stop words against the union of jusText's 100 stop lists when it is not told the page's
language: 154,000 words, kept as a tuple in ``trafilatura.external`` plus jusText's lower-cased
frozenset copy. Once one page needed the fallback, every bot process carried about 40 MB more.
Here the same words are kept as sorted 64-bit digests: the same answer to "is this a stop
word" (a page's word mistaken for a stop word is a one in 10^14 chance), built on first use
one list at a time, so no moment holds all the words either.
"""

from __future__ import annotations

import hashlib
import threading
from array import array
from bisect import bisect_left
from typing import Any


def _digest(word: str) -> int:
    # blake2b, not hash(): the same value in every process, so the set could be shared or saved.
    data = word.encode("utf-8", "surrogatepass")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little", signed=True)


class StopWords:
    """Every word of jusText's stop lists, lower-cased, answering ``word in stop_words``."""

    def __init__(self) -> None:
        self._digests: array[int] | None = None
        self._lock = threading.Lock()

    def _load(self) -> array[int]:
        with self._lock:
            if self._digests is None:
                from justext.utils import get_stoplist, get_stoplists

                digests: array[int] = array("q")
                for language in sorted(get_stoplists()):
                    # jusText lower-cases each list, and again when it classifies paragraphs.
                    digests.extend(_digest(w.lower()) for w in get_stoplist(language))
                self._digests = array("q", sorted(set(digests)))
            return self._digests

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        digests = self._digests if self._digests is not None else self._load()
        value = _digest(word)
        at = bisect_left(digests, value)
        return at < len(digests) and digests[at] == value

    def __len__(self) -> int:
        digests = self._digests if self._digests is not None else self._load()
        return len(digests)

    def __bool__(self) -> bool:  # trafilatura tests ``JT_STOPLIST or build_it()``
        return True


_installed = threading.Lock()


def install() -> None:
    """trafilatura's jusText fallback uses ``StopWords`` instead of building its union.

    Idempotent. jusText's ``define_stoplist`` (which would copy any list into a frozenset)
    passes a ``StopWords`` through unchanged; every other stop list goes its usual way.
    """
    import justext.core
    import trafilatura.external

    with _installed:
        if isinstance(trafilatura.external.JT_STOPLIST, StopWords):
            return
        original = justext.core.define_stoplist

        def define_stoplist(stoplist: Any) -> Any:
            return stoplist if isinstance(stoplist, StopWords) else original(stoplist)

        justext.core.define_stoplist = define_stoplist
        trafilatura.external.JT_STOPLIST = StopWords()  # type: ignore[assignment]
