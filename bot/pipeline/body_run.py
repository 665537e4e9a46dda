"""trafilatura's body extraction, run as its stages so that a second run reuses the first's work.

The extractor runs trafilatura in fast mode on every page and again in full mode (its fallback
extractors) on the pages where fast mode looks short. ``trafilatura.bare_extraction`` starts each
run from scratch: it copies the page, prunes infinite-scroll blocks and comment sections from the
copy, and on short texts measures the page's whole text to decide its recall retry. Those steps
do not depend on the mode, so here one :class:`BodyRun` per page does them once for both runs.

The stages are trafilatura's own functions, called in the order and with the options of
``trafilatura_sequence`` with comments off (the only way this bot calls it); what differs:

- the pruned page, its forum test and its measured text are shared by the two runs;
- fast mode makes no backup of the cleaned tree (only the fallback extractors read it);
- the prunes and cleanings whose patterns test classes and ids (by a Python call from XPath
  for every element) run only where the page's classes and ids hold a word the patterns need,
  and the comment-section prune tests its patterns in Python on the few blocks XPath finds
  with such a word: the same deletions, read once from one list of the page's classes and ids.

``tests/test_body_run.py`` checks both modes against ``bare_extraction`` itself, so a
trafilatura release that changes its sequence fails there rather than drifting silently.
"""

from __future__ import annotations

import logging
import re
from copy import copy

from lxml import html as lxml_html
from lxml.etree import XPath, _Element, strip_tags
from trafilatura.baseline import _spaced_text, baseline, basic_cleaning
from trafilatura.core import (
    ESCALATION_ACCEPT_RATIO,
    ESCALATION_JUSTEXT_RATIO,
    ESCALATION_MAX_LENGTH,
    ESCALATION_PAGE_SHARE,
    _forum_thread_page,
    _prepare_tree,
)
from trafilatura.external import compare_extraction, try_justext
from trafilatura.htmlprocessing import convert_tags, prune_unwanted_nodes, tree_cleaning
from trafilatura.main_extractor import extract_content
from trafilatura.settings import _COOKIE_CONSENT_RE, BASIC_CLEAN_XPATH, Extractor
from trafilatura.utils import trim
from trafilatura.xml import delete_element, xmltotxt
from trafilatura.xpaths import (
    _COMMENTS_CLASS,
    _COMMENTS_ID,
    RAW_TREE_PRUNE_XPATH,
    REMOVE_COMMENTS_AND_LISTS_XPATH,
)

log = logging.getLogger(__name__)


_CLASSES = XPath("//@class", smart_strings=False)
_IDS = XPath("//@id", smart_strings=False)


def _marks(tree: lxml_html.HtmlElement) -> str:
    """Every class and id on the page, one a line: a pattern on classes or ids that needs a
    word can match only if this holds it (a part of the page holds no more than the page)."""
    return "\n".join(_CLASSES(tree)) + "\n" + "\n".join(_IDS(tree))


def _needed_words(expression: XPath) -> tuple[str, ...] | None:
    """The words one of the raw-tree prune patterns cannot match without (None: unknown)."""
    path = expression.path
    if not set(re.findall(r"@[\w-]+", path)) <= {"@id", "@class"}:
        return None  # a pattern on other attributes: always run it
    if "'i')" in path or "(?i" in path:
        return None  # case-blind: the words could be written in capitals
    if "mvp-post-add-" in path and "infinite-?scroll" in path:
        return ("mvp-post-add-", "infinite")
    if "elementor-share-buttons" in path and "re:" not in path:
        return ("elementor-share-buttons",)
    return None  # a pattern this module does not know: always run it


_RAW_PRUNES = [(expression, _needed_words(expression)) for expression in RAW_TREE_PRUNE_XPATH]


def _raw_prunes(marks: str) -> list[XPath]:
    """The raw-tree prune expressions that may match a page with these classes and ids."""
    return [
        expression
        for expression, words in _RAW_PRUNES
        if words is None or any(word in marks for word in words)
    ]


# trafilatura's comment-section prune tests its patterns on the id and class of every block
# element by a Python call from XPath. Every pattern needs "omment" in the class or id, or an id
# starting "comol" or "disqus_thread": XPath finds those few blocks in C, and the patterns run on
# them in Python (when the library's expression is the one these are taken from).
_COMMENTS_EXPRESSION = f"""
        .//*[self::div or self::list or self::section or self::details or self::ol or self::ul][
        re:test(@id, '^(?:{_COMMENTS_ID}|disqus_thread|dsq-comments)') or
        re:test(@class, '{_COMMENTS_CLASS}')][
        not(self::ol or self::ul) or re:test(@id, '^(?:{_COMMENTS_ID})') or re:test(@class, '{_COMMENTS_CLASS}')]
        """  # noqa: E501 - the library's text, verbatim
_KNOWN_COMMENTS = [x.path for x in REMOVE_COMMENTS_AND_LISTS_XPATH] == [_COMMENTS_EXPRESSION]
_COMMENT_BLOCKS = XPath(
    ".//*[self::div or self::list or self::section or self::details or self::ol or self::ul]"
    "[contains(@id, 'omment') or starts-with(@id, 'comol') or starts-with(@id, 'disqus_thread')"
    " or contains(@class, 'omment')]"
)
_COMMENT_ID = re.compile(f"^(?:{_COMMENTS_ID}|disqus_thread|dsq-comments)")
_COMMENT_LIST_ID = re.compile(f"^(?:{_COMMENTS_ID})")
_COMMENT_CLASS = re.compile(_COMMENTS_CLASS)
_COMMENT_WORDS = ("omment", "comol", "disqus_thread")


def _prune_comment_sections(
    tree: lxml_html.HtmlElement, marks: str | None = None
) -> lxml_html.HtmlElement:
    """``prune_unwanted_nodes(tree, REMOVE_COMMENTS_AND_LISTS_XPATH)``, the same deletions
    (``marks``: the classes and ids of the page or of a tree holding it, when known)."""
    if not _KNOWN_COMMENTS:
        return prune_unwanted_nodes(tree, REMOVE_COMMENTS_AND_LISTS_XPATH)
    if marks is not None and not any(word in marks for word in _COMMENT_WORDS):
        return tree
    found = []
    for element in _COMMENT_BLOCKS(tree):
        by_class = _COMMENT_CLASS.search(element.get("class") or "") is not None
        ident = element.get("id") or ""
        if not by_class and not _COMMENT_ID.search(ident):
            continue
        if element.tag in ("ol", "ul") and not by_class and not _COMMENT_LIST_ID.search(ident):
            continue
        found.append(element)
    for element in found:
        delete_element(element)  # the tail text is kept, as the library's prune keeps it
    return tree


# trafilatura's basic cleaning, which its page measure runs, deletes structural elements and those
# whose class or id names a cookie banner, tested case-blind on every element by a Python call
# from XPath (two thirds of the measure's time). The same deletions: the structural part alone
# when no class or id holds a word every cookie pattern needs, else the library's own XPath.
_STRUCTURAL_CLEAN = XPath(
    ".//aside|.//div[contains(@class|@id, 'footer')]|.//fencedframe|.//footer|.//script"
    "|.//style|.//svg|.//template"
)
_COOKIE_PATTERN = (
    "cookie[-_]?(?:banner|bar|consent|law|notice|policy|description)|notice[-_]{0,2}cookie"
    "|consent[-_]?(?:banner|manager|sdk)|borlabs|cookiebot|cmplz|onetrust|moove[-_]?gdpr"
)
_COOKIE_WORDS = ("cookie", "consent", "borlabs", "cmplz", "onetrust", "moove")
_KNOWN_CLEANING = _COOKIE_CONSENT_RE == _COOKIE_PATTERN and BASIC_CLEAN_XPATH.path == (
    f"{_STRUCTURAL_CLEAN.path}|.//*[re:test(@class, '{_COOKIE_PATTERN}', 'i')"
    f" or re:test(@id, '{_COOKIE_PATTERN}', 'i')]"
)


def _basic_cleaning(tree: lxml_html.HtmlElement, marks: str | None = None) -> lxml_html.HtmlElement:
    """trafilatura's ``basic_cleaning`` (in place), at less cost on pages with no class or id
    that could name a cookie banner (``marks``: as for :func:`_prune_comment_sections`)."""
    if _KNOWN_CLEANING:
        marks = _marks(tree) if marks is None else marks
        # Only ASCII is safe to lower-case for a case-blind pattern ("ſ" matches "s" there).
        if marks.isascii() and not any(word in marks.lower() for word in _COOKIE_WORDS):
            for element in _STRUCTURAL_CLEAN(tree):
                delete_element(element)
            return tree
    return basic_cleaning(tree)  # another trafilatura release, or a page that needs it all


def _page_chars(tree: lxml_html.HtmlElement, marks: str | None = None) -> int:
    """``len(html2txt(tree))``: the page's text as trafilatura measures it."""
    tree = copy(tree)
    body = tree.find(".//body")
    return len(_spaced_text(_basic_cleaning(tree if body is None else body, marks)))


def _justext_rescue(
    tree: lxml_html.HtmlElement, options: Extractor, marks: str | None = None
) -> tuple[_Element, str]:
    """trafilatura's ``justext_rescue`` with the cheaper basic cleaning."""
    body = try_justext(_basic_cleaning(tree, marks), options.url, options.lang)
    return body, trim(" ".join(body.itertext()))


class BodyRun:
    """One page's trafilatura runs (fast, then full if asked) sharing the mode-free steps."""

    def __init__(self, tree: lxml_html.HtmlElement, url: str | None) -> None:
        self.url = url
        self._source = tree
        self._marks = ""
        self._pruned: lxml_html.HtmlElement | None = None
        self._page_chars: int | None = None

    def _tree(self) -> lxml_html.HtmlElement:
        """The page as every stage starts from it: copied, infinite-scroll blocks and comment
        sections pruned (not on a forum thread, whose posts are its content).

        A page with nothing to prune is not copied: every stage copies what it starts from
        before changing anything, so the caller's tree serves as it is (and stays as it is).
        """
        if self._pruned is None:
            marks = self._marks = _marks(self._source)
            is_forum = _forum_thread_page(self._source)
            raw = _raw_prunes(marks)
            comments = not is_forum and (
                not _KNOWN_COMMENTS or any(word in marks for word in _COMMENT_WORDS)
            )
            tree = self._source
            if raw or comments:
                tree = prune_unwanted_nodes(copy(tree), raw)
            if comments:
                tree = _prune_comment_sections(tree, marks)
            self._pruned = tree
        return self._pruned

    def _chars(self) -> int:
        """The length of the page's text as trafilatura measures it for its recall retry."""
        if self._page_chars is None:
            self._page_chars = _page_chars(self._tree(), self._marks)
        return self._page_chars

    def text(self, *, fast: bool) -> str:
        """The body text ``bare_extraction(tree, include_comments=False, fast=fast)`` gives."""
        options = Extractor(fast=fast, comments=False, url=self.url, output_format="python")
        try:
            body, text = self._sequence(options)
        except Exception as exc:  # noqa: BLE001 - a library bug on a hostile page is "no article"
            log.warning("trafilatura failed on %s: %s", self.url, type(exc).__name__)
            return ""
        # bare_extraction's last checks: a tree too large, a text too short (no comments here).
        if options.max_tree_size and len(body) > options.max_tree_size:
            strip_tags(body, "hi")
            if len(body) > options.max_tree_size:
                return ""
        if len(text) < options.min_output_size and 0 < options.min_output_comm_size:
            return ""
        return xmltotxt(body, options.formatting) or ""

    def _sequence(self, options: Extractor) -> tuple[_Element, str]:
        # trafilatura_sequence with comments off and the balanced focus, step for step.
        tree = self._tree()
        body, text = self._extract_and_compare(tree, options)
        # Rescue: the baseline on the pruned page, when it gives more text.
        if len(text) < options.min_extracted_size:
            b_body, b_text, b_len = baseline(tree)
            if b_len > len(text):
                body, text = b_body, b_text
        # Recall escalation: a short text covering little of the page.
        if (
            0 < len(text) < ESCALATION_MAX_LENGTH
            and len(text) < ESCALATION_PAGE_SHARE * self._chars()
        ):
            recall = copy(options)
            recall.focus = "recall"
            r_text = j_text = ""
            try:
                r_body, r_text = self._extract_and_compare(tree, recall)
            except Exception as err:  # noqa: BLE001 - as trafilatura: the retry is optional
                log.debug("recall retry failed: %s %s", err, self.url)
            if not options.fast:
                try:
                    j_body, j_text = _justext_rescue(copy(tree), options, self._marks)
                except Exception as err:  # noqa: BLE001 - as trafilatura: optional
                    log.debug("justext candidate failed: %s %s", err, self.url)
            size, r_size, j_size = len(text), len(r_text), len(j_text)
            if j_size > r_size and j_size > ESCALATION_JUSTEXT_RATIO * size:
                body, text = j_body, j_text
            elif r_size >= options.min_extracted_size and r_size > ESCALATION_ACCEPT_RATIO * size:
                body, text = r_body, r_text
        return body, text

    def _extract_and_compare(
        self, tree: lxml_html.HtmlElement, options: Extractor
    ) -> tuple[_Element, str]:
        """The main extractor, then (full mode) the comparison with the fallback extractors."""
        if options.fast:  # no backup of the cleaned tree: only the comparison reads it
            cleaned = convert_tags(tree_cleaning(copy(tree), options), options, self.url)
            return extract_content(cleaned, options)
        cleaned, backup = _prepare_tree(tree, options, self.url)
        body, text = extract_content(cleaned, options)
        return compare_extraction(backup, copy(tree), body, text, options)
