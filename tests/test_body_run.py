"""trafilatura's sequence run in shared stages gives the very text ``bare_extraction`` gives.

``bot.pipeline.body_run`` calls trafilatura's stages itself so that the fast and the full run of
one page share their mode-free work. These tests hold it to the library's own answer, in both
modes, on the project's fixtures and on pages built to reach each stage (the prunes, the
baseline rescue, the recall retry, the fallback extractors): a trafilatura release that changes
its sequence fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import trafilatura
from trafilatura.baseline import html2txt

from bot.pipeline.body_run import BodyRun, _marks, _page_chars, _prune_comment_sections, _raw_prunes
from bot.pipeline.extract import parse_html

FIX = Path(__file__).parent / "fixtures" / "pipeline"

_PARAGRAPH = (
    "<p>The council met on Tuesday evening to weigh the harbour plan, and {n} residents spoke "
    "against the new sea wall, which they said would cut the old town off from the water.</p>"
)


def _paragraphs(n: int, first: int = 0) -> str:
    return "".join(_PARAGRAPH.format(n=i) for i in range(first, first + n))


def _article(n: int, heading: str = "<h1>Harbour plan divides the council</h1>") -> str:
    return f"<article>{heading}" + "".join(_PARAGRAPH.format(n=i) for i in range(n)) + "</article>"


def _page(body: str, head: str = "") -> str:
    return f"<html><head><title>Harbour</title>{head}</head><body>{body}</body></html>"


# A short article beside a long list of teasers in plain <div>s: the text found is a small share
# of the page's, so trafilatura retries in recall mode (and, in full mode, tries jusText).
_TEASERS = (
    "<div class='sidebar-list'>"
    + "".join(
        f"<div><span>Item {i}: the town's {i} schools and what parents think of the plan to "
        "merge them before the next year</span></div>"
        for i in range(40)
    )
    + "</div>"
)
_FORUM = (
    '<script type="application/ld+json">{"@type": "DiscussionForumPosting", '
    '"headline": "Harbour wall"}</script>'
)

PAGES = {
    "plain": _page(_article(8)),
    # Blocks trafilatura prunes from the raw page: the text differs when they stay.
    "infinite scroll": _page(
        "<h1>Harbour</h1>" + _paragraphs(5) + "<div class='infinite-scroll'>" + _paragraphs(5, 100)
    )
    + "</div>",
    "infinite scroll, class in character references": _page(
        "<h1>Harbour</h1>"
        + _paragraphs(5)
        + "<div class='&#105;nfinite-scroll'>"
        + _paragraphs(5, 100)
    )
    + "</div>",
    "share buttons": _page(
        "<div><p>Closed today for repairs.</p></div><div class='elementor-share-buttons'>"
        + _paragraphs(2)
        + "</div>"
    ),
    "comments": _page(
        _article(6) + "<div id='comments'>" + "".join(_PARAGRAPH.format(n=i) for i in range(4))
    )
    + "</div>",
    "comment sections of every kind": _page(
        _article(6)
        + "<section class='post-comments'>"
        + _paragraphs(2, 10)
        + "</section><div id='commentary'>"
        + _paragraphs(2, 20)
        + "</div><ol id='disqus_thread'><li>"
        + _paragraphs(1, 30)
        + "</li></ol><ul class='Comment-list'><li>"
        + _paragraphs(1, 40)
        + "</li></ul><ol id='comol-7'><li>"
        + _paragraphs(1, 50)
        + "</li></ol><div class='no-comments-here'><p>Tail</p></div>text after"
    ),
    "forum thread": _page(
        _article(2) + "<div class='comment-list'>" + _article(5, "") + "</div>", head=_FORUM
    ),
    "short beside the page (recall retry, jusText)": _page(
        "<article><h1>Pool closed</h1>"
        + _PARAGRAPH.format(n=3)
        + _PARAGRAPH.format(n=4)
        + "</article>"
        + _TEASERS
    ),
    "short beside the page, a cookie banner": _page(
        "<article><h1>Pool closed</h1>"
        + _PARAGRAPH.format(n=3)
        + _PARAGRAPH.format(n=4)
        + "</article><div id='onetrust-banner'><p>We use cookies.</p></div>"
        + _TEASERS
    ),
    "cookie banner": _page(
        _article(6) + "<div class='Cookie-Banner'>" + _paragraphs(3, 50) + "</div>"
    ),
    "cookie banner, a long s in its id": _page(
        _article(6) + "<div id='conſent-manager'>" + _paragraphs(3, 50) + "</div>"
    ),
    "stub (baseline rescue)": _page("<div><span>Closed today.</span></div>"),
    "empty body": _page(""),
}


def _library_text(html: str, fast: bool) -> str:
    tree = parse_html(html)
    doc = trafilatura.bare_extraction(tree, include_comments=False, with_metadata=False, fast=fast)
    return (doc.text or "") if doc is not None else ""


def _cases() -> list[tuple[str, str]]:
    cases = list(PAGES.items())
    for path in sorted(FIX.glob("*.html")):
        cases.append((path.name, path.read_bytes().decode("utf-8", "replace")))
    return cases


@pytest.mark.parametrize(("name", "html"), _cases(), ids=[name for name, _ in _cases()])
def test_both_modes_match_bare_extraction(name: str, html: str) -> None:
    tree = parse_html(html)
    run = BodyRun(tree, None)
    # The fast run first, as the extractor does: the full run then reuses its pruned page.
    assert run.text(fast=True) == _library_text(html, fast=True)
    assert run.text(fast=False) == _library_text(html, fast=False)
    # A full run alone (its own pruning and measure): the same answer again.
    alone = BodyRun(parse_html(html), None)
    assert alone.text(fast=False) == _library_text(html, fast=False)


@pytest.mark.parametrize(
    "name", ["infinite scroll", "infinite scroll, class in character references", "share buttons"]
)
def test_these_pages_need_their_prunes(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pages above tell a skipped prune: without it their text is another."""
    html = PAGES[name]
    monkeypatch.setattr("bot.pipeline.body_run._raw_prunes", lambda marks: [])
    tree = parse_html(html)
    assert BodyRun(tree, None).text(fast=False) != _library_text(html, fast=False)


def test_prunes_are_skipped_only_when_they_cannot_match() -> None:
    def prunes(name: str) -> int:
        return len(_raw_prunes(_marks(parse_html(PAGES[name]))))

    assert prunes("plain") == 0
    assert prunes("infinite scroll") == 1
    assert prunes("share buttons") == 1
    # Classes are read as the parser decoded them: character references spell the words too.
    assert prunes("infinite scroll, class in character references") == 1


@pytest.mark.parametrize(("name", "html"), _cases(), ids=[name for name, _ in _cases()])
def test_the_run_leaves_the_callers_tree_alone(name: str, html: str) -> None:
    """Pruned or not (a page with nothing to prune is read in place), every stage copies."""
    from lxml import etree

    tree = parse_html(html)
    before = etree.tostring(tree)
    run = BodyRun(tree, None)
    run.text(fast=True)
    run.text(fast=False)
    assert etree.tostring(tree) == before


@pytest.mark.parametrize(("name", "html"), _cases(), ids=[name for name, _ in _cases()])
def test_page_measure_matches_html2txt(name: str, html: str) -> None:
    tree = parse_html(html)
    assert _page_chars(tree) == len(html2txt(tree))


@pytest.mark.parametrize("name", ["cookie banner", "cookie banner, a long s in its id"])
def test_cookie_banners_are_cleaned(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The banner's text counts in the measure when its part of the cleaning is left out."""
    tree = parse_html(PAGES[name])
    monkeypatch.setattr("bot.pipeline.body_run._COOKIE_WORDS", ())
    monkeypatch.setattr("bot.pipeline.body_run.basic_cleaning", _structural_only)
    assert _page_chars(tree) > len(html2txt(tree))


def _structural_only(tree):  # type: ignore[no-untyped-def]
    from bot.pipeline.body_run import _STRUCTURAL_CLEAN

    for element in _STRUCTURAL_CLEAN(tree):
        element.drop_tree()
    return tree


@pytest.mark.parametrize(("name", "html"), _cases(), ids=[name for name, _ in _cases()])
def test_comment_prune_matches_the_library(name: str, html: str) -> None:
    from copy import copy

    from lxml import etree
    from trafilatura.htmlprocessing import prune_unwanted_nodes
    from trafilatura.xpaths import REMOVE_COMMENTS_AND_LISTS_XPATH

    tree = parse_html(html)
    ours = _prune_comment_sections(copy(tree))
    theirs = prune_unwanted_nodes(copy(tree), REMOVE_COMMENTS_AND_LISTS_XPATH)
    assert etree.tostring(ours) == etree.tostring(theirs)
    # Told the page's classes and ids (a page without the words skips the search).
    assert etree.tostring(_prune_comment_sections(copy(tree), _marks(tree))) == etree.tostring(
        theirs
    )
    if name == "comment sections of every kind":
        assert etree.tostring(ours) != etree.tostring(tree)  # something was pruned


@pytest.mark.parametrize(("name", "html"), _cases(), ids=[name for name, _ in _cases()])
def test_the_public_fallback_gives_the_same_text(name: str, html: str) -> None:
    from bot.pipeline.library_run import LibraryRun

    for fast in (True, False):
        staged = BodyRun(parse_html(html), None).text(fast=fast)
        assert LibraryRun(parse_html(html), None).text(fast=fast) == staged


def test_extraction_works_when_the_staged_run_cannot_import() -> None:
    """A trafilatura release that renames the private stages: articles are still read."""
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['bot.pipeline.body_run'] = None\n"
        "from bot.pipeline import extract\n"
        "assert extract.BodyRun.__name__ == 'LibraryRun', extract.BodyRun\n"
        f"piece = extract.extract_html({PAGES['plain']!r})\n"
        "print(piece.text.count('residents spoke'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "8"
