"""Any fetched or uploaded document -> ExtractedPiece, and the piece's JSON and text card.

The entry point of ``commentary-bot summarize``: it decides whether bytes are HTML, plain text or
something else, decodes them, and hands them to :func:`extract_html` or :func:`extract_text`.
"""

from __future__ import annotations

import codecs
import gzip
import logging
import re
import textwrap
import zlib

from bot.types import ExtractedPiece, Summary

from .extract import MAX_HTML_BYTES, ExtractionError, extract_html
from .mojibake import is_double_encoded, repair_double_encoding
from .text_input import extract_text

log = logging.getLogger(__name__)

_BINARY_MAGIC = (
    b"%PDF",
    b"\x89PNG",
    b"\xff\xd8\xff",
    b"GIF8",
    b"PK\x03\x04",
    b"RIFF",
    b"OggS",
    b"ID3",
    b"\x7fELF",
    b"MZ",
    b"BM",
    b"II*\x00",
    b"MM\x00*",
    b"\x00\x00\x01\x00",
    b"wOFF",
    b"7z\xbc\xaf",
    b"Rar!",
    b"%!PS",
    b"{\\rtf",
    b"\xd0\xcf\x11\xe0",
)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]+encoding\s*=\s*["']([\w.:-]+)""", re.IGNORECASE)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.IGNORECASE)
_HTML_TAG = re.compile(
    r"<(?:!doctype\s+html|html|head|body|article|main|p|div|meta|title|h1|section)\b", re.IGNORECASE
)
_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml", "text/xml")
_TEXT_TYPES = ("text/plain", "text/markdown", "text/x-markdown")
_HTML_NAMES = (".html", ".htm", ".xhtml", ".shtml")
_TEXT_NAMES = (".txt", ".text", ".md", ".markdown")
_NOT_A_DOCUMENT = "This is not an HTML page or a text file."


def _gunzip(content: bytes) -> bytes:
    try:
        d = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = d.decompress(content, MAX_HTML_BYTES + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise ExtractionError("The compressed file could not be read.") from exc
    if len(out) > MAX_HTML_BYTES:
        raise ExtractionError("The page is too large to extract.")
    return out


def _valid_codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None


def decode(content: bytes, content_type: str | None = None) -> str:
    """Bytes to text: BOM, declared charset (header, meta, XML), UTF-8, then detection."""
    for bom, codec in _BOMS:
        if content.startswith(bom):
            try:
                return content.decode(codec)
            except UnicodeDecodeError as exc:
                raise ExtractionError("The file's text encoding could not be read.") from exc
    declared = []
    if content_type and (m := _HEADER_CHARSET.search(content_type)):
        declared.append(m.group(1))
    head = content[:4096]
    for pattern in (_META_CHARSET, _XML_ENCODING):
        if found := pattern.search(head):
            declared.append(found.group(1).decode("ascii", "ignore"))
    tried: list[str] = []
    for name in [*declared, "utf-8"]:
        candidate = _valid_codec(name)
        if not candidate or candidate in tried:
            continue
        tried.append(candidate)
        if candidate in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
            continue  # a page cannot declare these in ASCII; a BOM would have said so
        try:
            return content.decode(candidate)
        except UnicodeDecodeError:
            continue
    mostly = _mostly_utf8(content)
    if mostly is not None:
        return mostly
    # Imported here: only pages with no usable declared charset need detection.
    from charset_normalizer import from_bytes

    best = from_bytes(content).best()
    if best is not None and best.chaos < 0.3:
        return str(best)
    raise ExtractionError("The file's text encoding could not be read.")


def _mostly_utf8(content: bytes) -> str | None:
    """UTF-8 with the odd invalid byte replaced, when the rest of the text is valid UTF-8.

    A stray byte (a truncated character, a pasted Windows-1252 quote) must not make a whole
    UTF-8 page decode as a single-byte charset: every accented letter would turn into mojibake.
    trafilatura and browsers keep UTF-8 and replace the bad byte; so do we, when the valid
    multi-byte characters outnumber the invalid sequences several times over (a page really in
    Windows-1252 has next to no valid multi-byte sequences).
    """
    text = content.decode("utf-8", "replace")
    bad = text.count("\ufffd") - content.count(b"\xef\xbf\xbd")
    if bad <= 0:
        return text
    valid = len(text) - len(text.encode("ascii", "ignore")) - text.count("\ufffd")
    if valid < 4 * bad:
        return None
    log.info("decoded as UTF-8 with %d invalid byte sequence(s) replaced", bad)
    return text


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f]")  # below space, not \t \n \v \f \r


def _looks_binary(text: str) -> bool:
    sample = text[:8192]
    if not sample:
        return False
    # Counted by the regex engine: a per-character Python loop cost 7% of extraction.
    controls = len(_CONTROL_CHARS.findall(sample))
    return "\x00" in sample or controls / len(sample) > 0.02


def _is_html(text: str, content_type: str | None, filename: str | None) -> bool:
    sample = text[:20000]
    tags = len(_HTML_TAG.findall(sample))
    ctype = (content_type or "").split(";")[0].strip().casefold()
    name = (filename or "").casefold()
    if ctype in _TEXT_TYPES or name.endswith(_TEXT_NAMES):
        return tags >= 3 and bool(re.match(r"\s*<", sample))  # a saved page named .txt
    if ctype in _HTML_TYPES or name.endswith(_HTML_NAMES):
        return tags >= 1 or not sample.strip()
    return bool(re.match(r"\s*<(?:!doctype|html|\?xml|head|!--)", sample, re.I)) or tags >= 3


def extract_document(
    content: bytes,
    *,
    url: str | None = None,
    content_type: str | None = None,
    filename: str | None = None,
) -> ExtractedPiece:
    """Sniff, decode and extract HTML or plain text; anything else raises ExtractionError."""
    if not content or not content.strip():
        raise ExtractionError("The page is empty.")
    if content[:2] == b"\x1f\x8b":
        content = _gunzip(content)
        if not content.strip():
            raise ExtractionError("The page is empty.")
    if len(content) > MAX_HTML_BYTES:
        raise ExtractionError("The page is too large to extract.")
    ctype = (content_type or "").split(";")[0].strip().casefold()
    if content.startswith(_BINARY_MAGIC) or (
        ctype
        and ctype not in _HTML_TYPES
        and ctype not in _TEXT_TYPES
        and not ctype.startswith("text/")
        and ctype not in ("application/octet-stream", "binary/octet-stream")
    ):
        raise ExtractionError(_NOT_A_DOCUMENT)
    text = decode(content, content_type)
    if is_double_encoded(content):
        text = repair_double_encoding(text)
    if _looks_binary(text):
        raise ExtractionError(_NOT_A_DOCUMENT)
    if _is_html(text, content_type, filename):
        return extract_html(text, url=url)
    return extract_text(text, url=url)


# ---------------------------------------------------------------------------------------------
# Output


def piece_to_json(piece: ExtractedPiece, summary: Summary) -> dict:
    """The stable JSON contract of ``commentary-bot summarize --format json``."""
    return {
        "title": piece.title,
        "standfirst": piece.standfirst,
        "authors": list(piece.authors),
        "published": piece.published.isoformat() if piece.published else None,
        "outlet": piece.outlet,
        "language": piece.language,
        "url": piece.url,
        "text": piece.text,
        "pull_quotes": list(piece.pull_quotes),
        "author_bio": piece.author_bio,
        "disclaimer": piece.disclaimer,
        "credit": piece.credit,
        "summary": summary.text,
        "summary_method": summary.method,
        "summary_sentences": list(summary.sentences),
    }


def _wrap(text: str, indent: str = "", width: int = 78) -> str:
    return "\n".join(
        textwrap.fill(
            p,
            width=width,
            initial_indent=indent,
            subsequent_indent=indent,
            break_on_hyphens=False,
        )
        for p in text.split("\n")
        if p.strip()
    )


def format_card(piece: ExtractedPiece, summary: Summary) -> str:
    """A readable plain-text card: headline, dek, byline line, summary, quotes, bio, disclaimer."""
    lines = [_wrap(piece.title)]
    lines.append("=" * min(78, max(len(piece.title), 10)))
    if piece.standfirst:
        lines.append(_wrap(piece.standfirst))
    facts = []
    if piece.authors:
        facts.append("By " + ", ".join(piece.authors))
    if piece.credit:
        facts.append(piece.credit)
    if piece.outlet:
        facts.append(piece.outlet)
    facts.append(
        piece.published.strftime("%d %b %Y %H:%M UTC") if piece.published else "date not stated"
    )
    if piece.language:
        facts.append(piece.language)
    lines.append(" · ".join(facts))
    if piece.url:
        lines.append(piece.url)
    lines.append("")
    lines.append(f"Summary ({summary.method}, {summary.length}):")
    lines.append(_wrap(summary.text, "  ") or "  (no summary)")
    if piece.pull_quotes:
        lines.append("")
        lines.append("Pull quotes:")
        lines.extend(_wrap(f"“{q}”", "  ") for q in piece.pull_quotes)
    if piece.author_bio:
        lines.append("")
        lines.append("About the author:")
        lines.append(_wrap(piece.author_bio, "  "))
    if piece.disclaimer:
        lines.append("")
        lines.append(_wrap(piece.disclaimer))
    words = len(piece.text.split())
    lines.append("")
    lines.append(f"[{words} words in the text]")
    return "\n".join(lines)
