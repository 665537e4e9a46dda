"""HTML page -> ExtractedPiece: trafilatura for the article body, then the opinion cleanup.

One parse of the page serves both steps: a read-only pass over the tree collects the metadata
(title, dek, authors, dates, outlet, language, canonical URL) and the parts that opinion pages
mark up (pull quotes, author bio, disclaimer); trafilatura then extracts the body from the same
tree, and :mod:`bot.pipeline.cleanup` works on trafilatura's paragraphs.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, date, datetime
from itertools import islice
from urllib.parse import urlsplit

from htmldate import find_date
from lxml import etree
from lxml import html as lxml_html
from trafilatura.utils import (
    DOCTYPE_TAG,
    FAULTY_HTML,
    decode_file,
    is_dubious_html,
    repair_faulty_html,
)
from trafilatura.xpaths import OVERALL_DISCARD_XPATH

from bot.sources.urls import canonical_from_tree, strip_tracking
from bot.types import ExtractedPiece

from . import hyphenation, page_facts, stoplists
from .boilerplate import is_furniture_text
from .cleanup import clean_paragraphs
from .container import edge_furniture
from .errors import ExtractionError
from .fallbacks import authors_from_bio, fallback_title, outlet_from_url
from .hyphenation import HyphenRepairer
from .names import dedupe_names
from .page_facts import PageFacts, read_page
from .sections import page_sections
from .sentences import detect_language
from .text import norm, word_count
from .titles import headline, strip_outlet, strip_section

try:
    from .body_run import BodyRun
except ImportError:  # a trafilatura release without the private stages body_run calls
    from .library_run import LibraryRun as BodyRun  # type: ignore[assignment]

log = logging.getLogger(__name__)

# trafilatura's jusText fallback: its every-language stop words in 1 MB rather than 40.
stoplists.install()

MAX_HTML_BYTES = 15 * 1024 * 1024
MIN_ARTICLE_WORDS = 20  # below this a page holds a stub or an error, not an article


# ---------------------------------------------------------------------------------------------
# Assembly


def _language(code: str | None, text: str) -> str | None:
    if code:
        code = code.replace("_", "-").split("-")[0].strip().casefold()
        if re.fullmatch(r"[a-z]{2,3}", code):
            return code
    return detect_language(text)


def _trafilatura_text(tree: lxml_html.HtmlElement, url: str | None) -> str:
    """trafilatura's body text: its fast mode, and its fallback extractors when that falls short.

    Fast mode (no readability/jusText comparison) is cheaper than trafilatura's full run and as
    good on most news pages; but on list-like pages (guides, reviews, recipes) it can keep one
    block out of twenty. When its text is short and a small share of the page's text, or well
    short of the page's paragraph text, the full extraction runs as well and the longer text
    wins. The two runs share their mode-free steps (:mod:`bot.pipeline.body_run`).
    """
    run = BodyRun(tree, url)
    text = _bare_text(run, fast=True)
    size = len(text)
    if size < _SHORT_TEXT and size < _SHORT_SHARE * len(_BODY_TEXT(tree)):
        # Short beside the page. A short article's text is about the page's paragraph text
        # (4 AEB news briefs in 5 re-ran for nothing, none of 711 WCXB pages gained): the full
        # run is for pages whose paragraphs fast mode mostly missed, or whose text is not in
        # paragraphs at all (then the paragraph measure says nothing).
        paragraphs = _paragraph_chars(tree, size / _COVERED[0])
        rerun = not (0 < paragraphs and size / _COVERED[1] <= paragraphs <= size / _COVERED[0])
    else:
        paragraphs = _paragraph_chars(tree, size / _PARAGRAPH_SHARE)
        rerun = paragraphs > size / _PARAGRAPH_SHARE or (
            paragraphs > size / _SIBLINGS_SHARE and _drops_siblings(tree, text)
        )
    if not rerun:
        return text
    fuller = _bare_text(run, fast=False)
    text = fuller if len(fuller) > len(text) else text
    if len(text) < _SHORT_TEXT:
        text = _unwrapped_text(tree, url, text)
    return text


# Elements trafilatura drops whole as page furniture: by their tag, and by their class or id.
_FURNITURE_TAGS = etree.XPath("//body//*[self::header or self::footer or self::nav or self::aside]")
_WRAPPED_PROSE = 0.5  # of the page's paragraph text: the element wraps the article
_WRAPPED_TIMES = 4  # ... and several times the text found (not a teaser block beside a brief)


def _prose(element: etree._Element) -> int:
    """The characters of the paragraph-sized ``<p>`` elements in ``element`` that are not link
    teasers (menus hold list items and short lines, related-story boxes links, an article
    paragraphs)."""
    total = 0
    for p in element.iter("p"):
        size = len(" ".join(p.text_content().split()))
        if size < _BLOCK_CHARS or any(a.tag == "a" for a in p.iterancestors()):
            continue
        linked = sum(len(" ".join(a.text_content().split())) for a in p.iter("a"))
        if 2 * linked < size:
            total += size
    return total


def _unwrapped_text(tree: lxml_html.HtmlElement, url: str | None, text: str) -> str:
    """The text when an element trafilatura drops as furniture holds most of the page's prose
    (an unclosed popup layer or header swallowing the article, a footer or embed class on the
    article's box), read as a plain block.

    Only for pages where both of trafilatura's runs came back short: the element's tag, class
    and id are changed for one more run, then put back.
    """
    body = tree.find("body")
    whole = _prose(body if body is not None else tree)
    if whole < max(_WRAPPED_TIMES * len(text), _BLOCK_CHARS):
        return text
    dropped = {el for expression in OVERALL_DISCARD_XPATH for el in expression(tree)}
    dropped.update(_FURNITURE_TAGS(tree))
    dropped.discard(body)
    wrappers = [
        el
        for el in dropped
        if (prose := _prose(el)) >= _WRAPPED_PROSE * whole and prose >= _WRAPPED_TIMES * len(text)
    ]
    if not wrappers:
        return text
    saved = [(el, el.tag, el.get("class"), el.get("id")) for el in wrappers]
    for el in wrappers:
        el.tag = "div"
        el.attrib.pop("class", None)
        el.attrib.pop("id", None)
    try:
        unwrapped = _bare_text(BodyRun(tree, url), fast=True)
    finally:
        for el, tag, cls, ident in saved:
            el.tag = tag
            for name, value in (("class", cls), ("id", ident)):
                if value is not None:
                    el.set(name, value)
    if len(unwrapped) <= len(text):
        return text
    # The paragraphs found before that the element's text lacks (an intro above a list whose
    # box was taken for furniture) stay, ahead of it.
    before = [p for p in text.split("\n") if p.strip() and p.strip() not in unwrapped]
    return "\n".join([*before, unwrapped])


_SHORT_TEXT = 1500  # characters: below this, fast mode may have missed the article
_SHORT_SHARE = 0.3  # ... when it is also less than this share of all the text in <body>
# A short text holding this share of the page's paragraph text (low, high) is the article.
_COVERED = (0.8, 1.5)
_BODY_TEXT = etree.XPath("string(//body)", smart_strings=False)
# Paragraph-sized text blocks outside the page's navigation, asides, header and footer.
_TEXT_BLOCKS = etree.XPath(
    "(//p|//li|//td|//dd|//blockquote|//h2|//h3)"
    "[not(ancestor::nav or ancestor::aside or ancestor::footer or ancestor::header)]"
)
_BLOCK_CHARS = 80  # shorter blocks are labels, links and captions, not paragraphs
# 0.6 caught two more guides of 711 WCXB pages, and re-ran trafilatura for nothing on 8 of 91
# news pages (AEB): a fifth more extraction time on the pages this bot reads most.
_PARAGRAPH_SHARE = 0.3


# Between this share and _PARAGRAPH_SHARE, the full run is for pages where fast mode dropped
# blocks beside the ones it kept (a guide's lists and headings between its paragraphs).
_SIBLINGS_SHARE = 0.6
_DROPPED_SHARE = 0.3
_LINE_CHARS = 20  # blocks shorter than this (labels, bare links) are left out of the measure


def _drops_siblings(tree: lxml_html.HtmlElement, text: str) -> bool:
    """Whether fast mode left out ``_DROPPED_SHARE`` of the text beside the paragraphs it kept.

    Pages where fast mode keeps the article but not the teasers and comments elsewhere
    on the page (most news pages) drop next to nothing beside the kept paragraphs; a guide
    whose lists and numbered headings sit between its paragraphs loses about half.
    """
    kept = " ".join(text.split())
    blocks = [(el, " ".join(el.text_content().split())) for el in _TEXT_BLOCKS(tree)]
    homes = {el.getparent() for el, t in blocks if len(t) >= _BLOCK_CHARS and t in kept}
    beside = dropped = 0
    for el, block in blocks:
        if len(block) < _LINE_CHARS:
            continue
        parent = el.getparent()
        if parent in homes or (parent is not None and parent.getparent() in homes):
            beside += len(block)
            if block not in kept:
                dropped += len(block)
    return beside > 0 and dropped >= _DROPPED_SHARE * beside


def _paragraph_chars(tree: lxml_html.HtmlElement, enough: float) -> float:
    """The characters of the page's paragraph-sized blocks, counted until past ``enough``.

    On a guide or a list article (one section per product, step or question) the main
    extractor can keep one section of many, though it is long enough to look like an article.
    """
    total = 0
    for el in _TEXT_BLOCKS(tree):
        size = len(" ".join(el.text_content().split()))
        if size >= _BLOCK_CHARS:
            total += size
            if total > enough:
                break
    return total


def _bare_text(run: BodyRun, *, fast: bool) -> str:
    """trafilatura's body text in fast or full mode (a function of its own: benchmarks time it)."""
    return run.text(fast=fast)


# trafilatura's parser settings, with lxml's C-level element class lookup instead of lxml.html's
# Python callback (which runs for every element object that any tree walk creates: a large share
# of both our metadata pass and trafilatura's own work). Every element is still an HtmlElement;
# only the form/input/label subclasses, which neither step uses, are not made.
_PARSER = etree.HTMLParser(
    collect_ids=False,
    default_doctype=False,
    encoding="utf-8",
    remove_comments=True,
    remove_pis=True,
)
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=lxml_html.HtmlElement,
        comment=lxml_html.HtmlComment,
        pi=lxml_html.HtmlProcessingInstruction,
        entity=lxml_html.HtmlEntity,
    )
)


# The characters trafilatura's repair deletes (its INVALID_XML_CHARS), as UTF-8: the control
# characters are single bytes there, U+FFFE and U+FFFF three bytes each.
_INVALID_CONTROL_BYTES = bytes((*range(0, 9), 11, 12, *range(14, 32)))
_INVALID_NONCHARACTERS = ("\ufffe".encode(), "\uffff".encode())


def _repair(text: str, beginning: str) -> str:
    """trafilatura's ``repair_faulty_html``, the same string out, at less cost on clean pages.

    Its first step deletes invalid XML characters with a regex substitution over the whole
    page, a third of the parse's time even when there is none (nearly every page). Here
    ``bytes.translate`` tells in C whether there is any; only then does the library's own
    function run. Its two other steps, on the first lines only, are repeated as they are.
    """
    data = text.encode("utf-8", "surrogatepass")
    if len(data.translate(None, _INVALID_CONTROL_BYTES)) != len(data) or any(
        c in data for c in _INVALID_NONCHARACTERS
    ):
        return repair_faulty_html(text, beginning)
    if "doctype" in beginning:  # libxml2 issue: https://bugs.launchpad.net/lxml/+bug/1955915
        firstline, _, rest = text.partition("\n")
        text = DOCTYPE_TAG.sub("", firstline, count=1) + "\n" + rest
    for line in text[:4096].splitlines()[:4]:  # a self-closing <html/> in the first lines
        if "<html" in line and line.endswith("/>"):
            text = FAULTY_HTML.sub(r"\1>", text, count=1)
            break
    return text


def _load_html(html: str | bytes) -> lxml_html.HtmlElement | None:
    """trafilatura.utils.load_html's steps (decode, repair, parse, sanity check) with _PARSER."""
    text = decode_file(html)
    beginning = text[:50].lower()
    dubious = is_dubious_html(beginning)
    text = _repair(text, beginning)
    tree = None
    as_bytes = False
    try:
        tree = lxml_html.fromstring(text, parser=_PARSER)
    except ValueError:  # a Unicode string with an encoding declaration
        as_bytes = True
        tree = lxml_html.fromstring(text.encode("utf8", "surrogatepass"), parser=_PARSER)
    except (etree.LxmlError, TypeError):
        tree = None
    if (tree is None or len(tree) < 1) and not as_bytes:
        tree = lxml_html.fromstring(text.encode("utf8", "surrogatepass"), parser=_PARSER)
    if tree is not None and dubious and len(tree) < 2:
        return None  # not HTML at all
    return tree


def parse_html(html: str | bytes) -> lxml_html.HtmlElement:
    """Parse a page as trafilatura does (bytes: declared charset, then detection)."""
    if not html or (isinstance(html, str) and not html.strip()):
        raise ExtractionError("The page is empty.")
    if len(html) > MAX_HTML_BYTES:
        raise ExtractionError("The page is too large to extract.")
    try:
        tree = _load_html(html)
    except Exception:  # noqa: BLE001 - lxml raises several types on broken input
        tree = None
    if tree is None or not isinstance(tree, lxml_html.HtmlElement):
        raise ExtractionError("The page could not be read as HTML.")
    return tree


def clear_caches() -> None:
    """Forget what earlier pages taught the caches (benchmarks time a cold start with this)."""
    page_facts.clear_caches()
    hyphenation.clear_caches()


# A "read more" arrow after a teaser: layout, and a sign the teaser was cut.
_READ_ON = re.compile(r"\s*[→»›>]+\s*$")
# The first heading of a numbered list ("1. Set a goal", "Step 2:"): where the body starts.
_NUMBERED_HEADING = re.compile(r"^\s*(?:\d{1,2}[.):]|#\d{1,2}\b|step\s+\d{1,2}\b)", re.IGNORECASE)


def _standfirst_text(text: str | None) -> str | None:
    """A standfirst candidate without its section label ("COMMENTARY | ...") or a trailing
    "read more" arrow; None for page furniture."""
    if not text or is_furniture_text(text):
        return None
    text = strip_section(_READ_ON.sub("", text)).strip()
    return text or None


def _dek(text: str | None) -> str | None:
    """The page's subheadline as a standfirst, unless it is the first of numbered headings."""
    text = _standfirst_text(text)
    if text and _NUMBERED_HEADING.match(text) and word_count(text) <= 12:
        return None
    return text


# How many times more words a page's JSON-LD articleBody must hold than the text its markup
# shows before it is taken as the body instead.
_LD_BODY_SHARE = 3
_SAME_START = 80  # characters that show a one-line body is that field's text


def _script_rendered_body(body: str, ld_body: str | None) -> str:
    """The article's JSON-LD ``articleBody`` when the markup shows only a sliver of it (a
    caption, a teaser): pages that render their text by script carry it there. When trafilatura
    itself fell back on that field, it gives it as one line with the field's markup left in:
    the field read here gives the same words in its paragraphs."""
    if not ld_body:
        return body
    raw = "\n" not in body.strip() and len(body) <= len(ld_body)  # one line: maybe the field
    if not raw and len(ld_body) < _LD_BODY_SHARE * len(body):
        return body  # (characters first: most pages stop here at no cost)
    text = page_facts.plain_text(ld_body) or ""
    words = word_count(text)
    if words < MIN_ARTICLE_WORDS:
        return body
    if words >= _LD_BODY_SHARE * word_count(body):
        return text
    same = raw and "\n" in text and norm(text[:_SAME_START]) == norm(body[:_SAME_START])
    return text if same else body


# A dek is a sentence or two, written to fit a search snippet (about 160 characters); a longer
# description is most often the first paragraph copied whole by the site's software.
_DEK_CHARS = 200


def _lede(paragraphs: list[str], title: str | None) -> str:
    """The body's first paragraph (normalised) past the headline repeated above it."""
    headline_key = norm(title or "")
    for paragraph in paragraphs[:3]:
        key = norm(paragraph)
        if key and key != headline_key:
            return key
    return ""


# Words long enough to carry a topic ("Heat", "harbour"); shorter ones are mostly grammar.
_TOPIC_WORD = re.compile(r"\w{4,}")


def _about_the_piece(description: str, article: str, outlet: str | None) -> bool:
    """Whether a meta description speaks of this article, not of the site: a site's tagline or
    its name ("Independent reviews since 1998", "Acme webpage") repeated on every page shares
    hardly a word with the article, while an editor's summary names its topic. Scripts written
    without spaces (their "words" are whole phrases) are not judged."""
    if word_count(description) < 4 or (outlet and norm(description) == norm(outlet)):
        return False
    words = {w.casefold() for w in _TOPIC_WORD.findall(description) if not w.isdigit()}
    if len(words) < 3 or any(len(w) > 20 for w in words):
        return True
    # A word inside a longer one counts ("remise" in "tramremise"): compounds and endings.
    article = article.casefold()
    return sum(w in article for w in words) >= 0.1 * len(words)


def extract_html(html: str | bytes, url: str | None = None) -> ExtractedPiece:
    """Extract the article of an HTML page and clean it as an opinion piece.

    Raises :class:`ExtractionError` for an empty page or a page with no article.
    """
    tree = parse_html(html)
    facts = read_page(tree)
    body = _trafilatura_text(tree, url)  # trafilatura copies the tree: facts stay valid
    body = _script_rendered_body(body, facts.ld_body)
    if not body.strip():
        raise ExtractionError("No article text was found on the page.")

    # The page's canonical URL from this same tree: ingestion no longer parses it a second time.
    page_url = canonical_from_tree(tree, url or "") or url
    page_url = strip_tracking(page_url) if page_url else page_url  # shared links stay clean
    outlet = facts.outlet or outlet_from_url(page_url)
    title = headline(facts.title, facts.h1, outlet) or (
        facts.html_title and strip_outlet(facts.html_title, outlet)
    )
    if title and outlet:
        title = strip_outlet(title, outlet) if norm(outlet) in norm(title) else title
    title = strip_section(title) if title else title
    language = _language(facts.language, body)

    paragraphs = body.split("\n")
    standfirst = _dek(facts.dek)
    desc = _standfirst_text(facts.description)
    first = _lede(paragraphs, title)
    if standfirst is None and desc:
        truncated = desc.endswith(("...", "…"))
        # The description copies the lede (the body's first paragraph, or a paragraph under the
        # headline longer than a dek's sentence or two): the lede stays in the body.
        lede = norm(paragraphs[0]) if paragraphs else ""
        copied = lede.startswith(norm(desc)) or (
            len(desc) > _DEK_CHARS and first.startswith(norm(desc))
        )
        if (
            not truncated
            and norm(desc) != norm(title or "")
            and not copied
            and _about_the_piece(desc, f"{title or ''}\n{body}", outlet)
        ):
            standfirst = desc
    # A weakly marked "intro" that is really the body's first paragraph stays in the body.
    if standfirst and not facts.dek_strong and first == norm(standfirst):
        standfirst = None if facts.dek else standfirst

    context = "\n".join(x for x in (title, standfirst, facts.bio, body) if x)
    fix = HyphenRepairer(context, language)
    fixed = [fix(p) for p in paragraphs]
    result = clean_paragraphs(
        fixed,
        authors=facts.authors,
        title=title,
        standfirst=fix(standfirst) if standfirst else None,
        known_pull_quotes=[fix(q) for q in facts.pull_quotes],
        known_bio=fix(facts.bio) if facts.bio else None,
        known_disclaimer=facts.disclaimer,
    )
    # Furniture at the text's ends, outside the article's container, leaves the body only: the
    # cleanup above still read it for bylines, dates, bios and disclaimers.
    if furniture := edge_furniture(tree, paragraphs):
        kept = {norm(p) for i, p in enumerate(fixed) if i not in furniture}
        gone = {key for i in furniture if (key := norm(fixed[i])) and key not in kept}
        trimmed = [p for p in result.paragraphs if norm(p) not in gone]
        if _has_words("\n\n".join(trimmed), MIN_ARTICLE_WORDS):
            result.paragraphs = trimmed
    text = result.text
    if not _has_words(text, MIN_ARTICLE_WORDS):
        raise ExtractionError("No article text was found on the page.")
    authors = facts.authors or dedupe_names(result.authors) or authors_from_bio(result.author_bio)
    return ExtractedPiece(
        title=fix(title) if title else fallback_title(text),
        text=text,
        url=page_url,
        standfirst=fix(standfirst) if standfirst else None,
        authors=authors,
        published=facts.published or result.published or _unmarked_date(tree, page_url, facts),
        outlet=outlet,
        language=language,
        pull_quotes=_merge_quotes(result.pull_quotes, [fix(q) for q in facts.pull_quotes]),
        author_bio=result.author_bio,
        disclaimer=result.disclaimer,
        credit=", ".join(facts.agencies) or None,
        sections=page_sections(tree, _mentions(html, "rumb") or _mentions(html, "RUMB")),
    )


def _mentions(html: str | bytes, word: str) -> bool:
    """Whether the page's markup holds ``word`` anywhere (a C-level substring test)."""
    return (word.encode() in html) if isinstance(html, bytes) else (word in html)


_WORD_RUN = re.compile(r"[^\W_]+")
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


_URL_DATE = re.compile(r"/((?:19|20)\d\d)[/-](\d\d?)[/-](\d\d?)(?:[/_+.-]|$)")


def _unmarked_date(
    tree: lxml_html.HtmlElement, url: str | None, facts: PageFacts
) -> datetime | None:
    """The publication day when nothing near the headline or in the tags states it.

    From the URL's /2024/05/17/ first, then htmldate's reading of the markup (no guessing from
    the text) when the page also shows that day; a day that is only the page's "updated" day
    is not its publication day.
    """
    if url and (m := _URL_DATE.search(urlsplit(url).path)):
        try:
            return datetime(int(m[1]), int(m[2]), int(m[3]), tzinfo=UTC)
        except ValueError:
            pass
    try:
        found = find_date(tree, url=url, extensive_search=False, original_date=True)
    except Exception:  # noqa: BLE001 - a library bug on an odd page is "no date"
        return None
    if not found:
        return None
    day = date.fromisoformat(found)
    if day in facts.modified_days or not page_facts.shows_day(tree, day, facts):
        return None  # an update, or a stamp in the markup that readers never see
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _has_words(text: str, n: int) -> bool:
    """At least ``n`` words, counting no further than the n-th.

    Chinese and Japanese write no spaces: there every two ideographs or kana count as a word.
    """
    if sum(1 for _ in islice(_WORD_RUN.finditer(text), n)) >= n:
        return True
    return sum(1 for _ in islice(_UNSPACED.finditer(text), 2 * n)) >= 2 * n


def _merge_quotes(found: list[str], marked: list[str]) -> list[str]:
    """Quotes removed from the text plus marked-up ones trafilatura already left out."""
    out: list[str] = []
    for quote in [*found, *(q.strip(" \"'“”‘’«»") for q in marked)]:
        if quote and norm(quote) not in {norm(q) for q in out}:
            out.append(quote)
    return out
