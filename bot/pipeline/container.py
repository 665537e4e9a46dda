"""Short blocks at the ends of trafilatura's text that sit outside the article's container.

trafilatura keeps the article, and sometimes the furniture laid out before or after it: a
newsletter box, "Related articles" teasers, a byline card, a "Share this post" row, a form. On
the page those blocks live outside the element that holds the article's paragraphs. So the
page's own structure says which edge blocks are furniture: find each text block's element,
take the deepest element holding most of the text (the article's container), and drop the
short blocks at either end that lie outside it, up to the first block inside.

Only the ends are trimmed and only short blocks (a long paragraph outside the container is
more often the article's own lede or conclusion laid out in a sibling element), and a block
whose element is not found ends the run, so a page whose structure is unclear keeps its text.
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree
from lxml import html as lxml_html

# Elements that are a part of an article, never the element holding it: when one of them holds
# most of the text (a guide's numbered steps, a ranking table, a quoted post, one long
# paragraph), the lines after it in the same parent are the article's too.
_PARTS = frozenset(
    ("p", "blockquote", "pre", "ol", "ul", "dl", "li", "dd", "dt")
    + ("table", "thead", "tbody", "tfoot", "tr", "td", "th")
)
_SKIP = frozenset(("script", "style", "noscript", "template", "head", "title"))
_KEY_CHARS = 40  # a block is found by the first characters of its text
_MAIN_SHARE = 0.6  # the container holds at least this share of the found blocks' characters
_COUNTED_CHARS = 40  # shorter blocks (labels, links) hardly move the container: not walked
# The longest block trimmed at each end: teasers, prompts, labels and bios at the tail are
# longer than the labels and kickers above a headline (measured on 711 WCXB pages, one half
# against the other; longer limits also took standfirsts and closing paragraphs).
_TAIL_CHARS = 300
_HEAD_CHARS = 150


def _key(text: str) -> str:
    # Only the start of a text counts, and respacing only when its start needs it.
    key = text.lstrip()[:_KEY_CHARS]
    if "  " in key or "\n" in key or "\t" in key or "\r" in key or "\xa0" in key:
        key = " ".join(text.split()[:_KEY_CHARS])[:_KEY_CHARS]
    return key.rstrip()


def _block_key(block: str) -> str:
    text = block.strip()
    if text.startswith("|"):  # a table row as trafilatura writes it
        text = " ".join(text.replace("|", " ").split())
    elif text[:2] in ("- ", "* ", "• "):  # a list item
        text = text[2:]
    return _key(text)


def _text_starts(
    tree: lxml_html.HtmlElement,
) -> tuple[dict[str, etree._Element], dict[str, etree._Element]]:
    """Where each text starts: the first ``_KEY_CHARS`` of every text node -> the first and
    the last element whose text starts so (a "Share" or "Subscribe" line can stand both in the
    article's header and after it)."""
    first: dict[str, etree._Element] = {}
    last: dict[str, etree._Element] = {}
    body = tree.find("body")
    # One walk reading ``.text`` and ``.tail`` costs less than an XPath over text nodes with
    # their parents. A tail (text after a <br> or a link) belongs to the enclosing element.
    for element in (body if body is not None else tree).iter():
        text = element.text
        if text and not text.isspace() and element.tag not in _SKIP:
            key = _key(text)
            if key not in first:
                first[key] = element
            last[key] = element
        tail = element.tail
        if tail and not tail.isspace() and (parent := element.getparent()) is not None:
            key = _key(tail)
            if key not in first:
                first[key] = parent
            last[key] = parent
    return first, last


def _element_of(key: str, found: dict[str, etree._Element]) -> etree._Element | None:
    """The element whose text starts the block: its first characters, then shorter prefixes
    (the first text node can be a bold lead-in or a link shorter than the key)."""
    prefix = key
    while prefix:
        element = found.get(prefix)
        if element is not None:
            return element
        cut = prefix.rfind(" ")
        if cut <= 0:
            return None
        prefix = prefix[:cut]
    return None


def _container(
    elements: Sequence[etree._Element | None], sizes: Sequence[int]
) -> etree._Element | None:
    """The deepest element holding ``_MAIN_SHARE`` of the found blocks' characters, or the
    nearest one above it that is not a part of an article (``_PARTS``)."""
    held: dict[etree._Element, int] = {}
    depth: dict[etree._Element, int] = {}
    total = 0
    for element, size in zip(elements, sizes, strict=True):
        if element is None or size < _COUNTED_CHARS:
            continue
        total += size
        chain = [element, *element.iterancestors()]
        level = len(chain)
        for ancestor in chain:
            held[ancestor] = held.get(ancestor, 0) + size
            level -= 1
            depth[ancestor] = level
    best = None
    for element, size in held.items():
        if size >= _MAIN_SHARE * total and (best is None or depth[element] > depth[best]):
            best = element
    while best is not None and best.tag in _PARTS:
        best = best.getparent()
    return best


def edge_furniture(tree: lxml_html.HtmlElement, blocks: Sequence[str]) -> set[int]:
    """The indices of ``blocks`` (trafilatura's lines) that are short, at either end of the
    text, and outside the article's container (see the module's docstring)."""
    at = [i for i, b in enumerate(blocks) if b.strip()]
    if len(at) < 3:
        return set()
    sizes = [len(blocks[i].strip()) for i in at]
    if sizes[0] >= _HEAD_CHARS and sizes[-1] >= _TAIL_CHARS:
        return set()  # nothing at either end is short enough: no need to read the page
    first, last = _text_starts(tree)
    keys = [_block_key(blocks[i]) for i in at]
    elements = [_element_of(key, first) for key in keys]
    main = _container(elements, sizes)
    if main is None:
        return set()

    def outside(n: int, limit: int, found: dict[str, etree._Element]) -> bool:
        # The block's first copy in the page for the head, its last copy for the tail.
        element = _element_of(keys[n], found)
        if element is None or sizes[n] >= limit:
            return False
        return element is not main and main not in set(element.iterancestors())

    start, end = 0, len(at)
    while start < end and outside(start, _HEAD_CHARS, first):
        start += 1
    while end > start and outside(end - 1, _TAIL_CHARS, last):
        end -= 1
    if start == end:
        return set()  # everything outside: the container is not the article's
    return {at[n] for n in (*range(start), *range(end, len(at)))}
