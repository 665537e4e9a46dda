"""Text a site encoded twice: UTF-8 bytes read as Latin-1 and written out as UTF-8 again, so a
curly apostrophe arrives as "â\\x80\\x99" and "Français" as "FranÃ§ais". The page decodes
correctly (it is valid UTF-8); the damage is in the site's text, on every page it serves, in
titles, descriptions and bodies alike. trafilatura strips the invisible C1 characters, which
leaves "Earthâs" for good, so the repair has to happen on the decoded page, before parsing.
ftfy undoes it; it runs only on pages that carry the damage, and only on their damaged lines.
"""

from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

# In the page's bytes: "â" or "Ã" or "Â" (UTF-8 C3 A2 / C3 83 / C3 82) followed by a Latin-1
# high character (UTF-8 C2 80-BF): the start of a twice-encoded punctuation mark or letter.
# One search in C over the raw bytes; a page without a match costs nothing more.
_SIGN_BYTES = re.compile(rb"\xc3[\xa2\x83\x82]\xc2[\x80-\xbf]")
_SIGN_TEXT = re.compile("[\xe2\xc3\xc2][\x80-\xbf]")
# A page quoting one or two such sequences (an article about mojibake, a code comment) is left
# as written: sites that double-encode do it to every apostrophe and dash.
_ENOUGH = 3


def is_double_encoded(content: bytes) -> bool:
    """Whether a UTF-8 page carries text encoded twice (several marks of it, not one quoted)."""
    if _SIGN_BYTES.search(content) is None:
        return False
    return len(_SIGN_BYTES.findall(content)) >= _ENOUGH


def repair_double_encoding(text: str) -> str:
    """The decoded page with its twice-encoded lines undone (ftfy), other lines untouched."""
    import ftfy  # only pages that need it pay for the import

    lines = text.splitlines(keepends=True)
    fixed = [ftfy.fix_encoding(line) if _SIGN_TEXT.search(line) else line for line in lines]
    changed = sum(a != b for a, b in zip(lines, fixed, strict=True))
    log.info("repaired text encoded twice (%d line(s))", changed)
    return "".join(fixed)
