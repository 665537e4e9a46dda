"""trafilatura's body extraction through its public ``bare_extraction``, one full call per mode.

:mod:`bot.pipeline.body_run` runs the library's stages itself to share work between the fast and
the full run, and so imports names trafilatura keeps private. A release that renames them must
not stop the bot from reading articles: :mod:`bot.pipeline.extract` then falls back to this
class, with the same interface and the same text, only slower.
"""

from __future__ import annotations

import logging

import trafilatura
from lxml import html as lxml_html

log = logging.getLogger(__name__)


class LibraryRun:
    """One page's trafilatura runs, each from scratch (the library's public entry point)."""

    def __init__(self, tree: lxml_html.HtmlElement, url: str | None) -> None:
        self.url = url
        self._source = tree

    def text(self, *, fast: bool) -> str:
        """The body text ``bare_extraction(tree, include_comments=False, fast=fast)`` gives."""
        try:
            doc = trafilatura.bare_extraction(
                self._source, url=self.url, include_comments=False, with_metadata=False, fast=fast
            )
        except Exception as exc:  # noqa: BLE001 - a library bug on a hostile page is "no article"
            log.warning("trafilatura failed on %s: %s", self.url, type(exc).__name__)
            return ""
        if doc is None:
            return ""
        if isinstance(doc, dict):  # the dict form some trafilatura versions answer with
            return str(doc.get("text") or "")
        return doc.text or ""
