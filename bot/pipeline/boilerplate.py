"""Boilerplate lines that must never reach a piece's text (share rows, prompts, rules)."""

from __future__ import annotations

import re

from .text import tidy

_SOCIAL = (
    r"twitter|facebook|whatsapp|linkedin|e-?mail|print|reddit|telegram|pinterest|x|messenger|"
    r"copy(?: the)? link|copy|flipboard|pocket|threads|bluesky|mastodon|sms"
)
_BOILERPLATE = re.compile(
    r"^(?:"
    rf"(?:share|tweet|send)(?: this| the)?(?: article| story| post| page| column| piece)?"
    rf"(?:\s*(?:on|via|to|with)?\s*(?:{_SOCIAL}))*"
    rf"|(?:(?:{_SOCIAL})\s*[|·•,/]?\s*)+"
    r"|advertisement|advert|sponsored(?: content)?|ad"
    r"|(?:read|see) (?:more|also)|also read|related(?: articles| stories| content| links)?"
    r"|most (?:read|popular|viewed)|recommended(?: for you)?|you (?:may|might) also like"
    r"|more from (?:this|the) (?:author|writer|section)|more (?:opinion|views|columns)"
    r"|comments?|\d+ comments?|leave a (?:comment|reply)|show comments|join the conversation"
    r"|follow us(?: on .{0,40})?|follow (?:the author|@\w+.*)"
    r"|(?:sign up|subscribe)(?: now| today| here)?.{0,60}newsletter.{0,40}"
    r"|(?:get|receive) (?:our|the) .{0,40}newsletter.{0,40}"
    r"|back to top|skip to (?:main )?content|menu|home|close|loading\W*"
    r"|click here to .{0,60}|listen to (?:this )?(?:article|story)(?: \d+ min)?"
    r"|\d+ min(?:ute)?s? read|reading time:? .{0,20}"
    r")[\s.:!|]*$",
    re.IGNORECASE,
)


# Notices an outlet prints on every piece, never part of the argument: reprint terms, paywall
# and subscription prompts, sponsorship and affiliate disclosures, "Read also" cross-links (in
# several languages). Each needs the notice's own wording, so an ordinary sentence that merely
# mentions subscribing or a sponsor stays.
_NOTICE = re.compile(
    r"(?:for your personal,? non-?commercial use"
    r"|(?:reprints?|distribution|republication) (?:and|or) (?:reprints?|distribution|licensing)"
    r"|order (?:presentation-ready )?copies"
    r"|(?:subscribe|sign in|log in|register|become a (?:member|subscriber)) to"
    r" (?:continue|keep|read (?:the|this|more))"
    r"|(?:this|the) (?:article|story|content|piece) is (?:only )?(?:available|reserved|exclusive)"
    r" (?:to|for) (?:subscribers|members|premium)"
    r"|already (?:a )?(?:subscriber|member|have an account)\W{0,3}(?:sign|log) ?in"
    r"|you(?:'ve| have) (?:reached|read) (?:your|all|the)(?: \w+){0,3} (?:limit|free articles?)"
    r"|(?:this|the) (?:article|post|story|content|piece|video)(?: \w+)? (?:is|was)"
    r" (?:sponsored|paid for|presented|brought to you|produced in partnership|supported)(?: by)?"
    r"|(?:this|our) (?:post|article|page|site) (?:may )?contains? affiliate links?"
    r"|we may (?:earn|receive) (?:a )?(?:small )?(?:commission|compensation)"
    r"|ce contenu est réservé aux abonnés|réservé aux abonnés|artículo exclusivo para suscriptores"
    r"|dieser artikel ist (?:nur )?für abonnenten|conteúdo exclusivo para assinantes)",
    re.IGNORECASE,
)
# A cross-link line: the label and a headline, no sentence of the piece's own.
_READ_ALSO = re.compile(
    r"^\W{0,3}(?:read (?:also|more|next)|also read|see also|related|more on this|lire aussi"
    r"|à lire aussi|voir aussi|lesen sie auch|auch interessant|mehr zum thema|lee también"
    r"|leer también|ver también|leia também|leia mais|veja também|leggi anche|vedi anche"
    r"|lees ook|zie ook|czytaj (?:też|także)|читайте также|اقرأ أيضا|اقرأ أيضًا)\s*[:|>»–—-]",
    re.IGNORECASE,
)


# A photo caption ends with its credit: "... (Photo by Jane Doe/Agency)", "Photo: X / Agency".
_CAPTION = re.compile(
    r"(?:\((?:photo|image|picture|foto|illustration|credit)s?\b[^()]{0,80}\)"
    r"|\b(?:photo|image|foto|credit)s?(?: by)?\s*:\s*[^.]{0,60}"
    r"|\b(?:getty images|shutterstock|via reuters|afp via getty|ap photo)[^.]{0,40})\W*$",
    re.IGNORECASE,
)


# A word each notice and each caption needs (in lower case): lines without one (nearly all)
# skip those patterns, whose case-blind alternations were most of the cleanup's time.
_NOTICE_WORDS = (
    "personal", "reprint", "distribution", "republication", "copies", "subscri", "sign in",
    "log in", "register", "become a", "member", "premium", "already", "limit", "free article",
    "sponsored", "paid for", "presented", "brought to you", "partnership", "supported",
    "affiliate", "commission", "compensation", "abonn", "suscriptores", "assinantes",
)  # fmt: skip
_CAPTION_WORDS = (
    "photo", "image", "picture", "foto", "illustration", "credit", "getty", "shutterstock",
    "reuters",
)  # fmt: skip


def is_boilerplate(line: str) -> bool:
    """A line of page furniture: a share row, a prompt, a notice, a cross-link, a caption."""
    if len(line) <= 400:
        if _READ_ALSO.match(line):
            return True
        low = line.lower()
        if any(w in low for w in _NOTICE_WORDS) and _NOTICE.search(line):
            return True
        if any(w in low for w in _CAPTION_WORDS) and _CAPTION.search(line):
            return True
    if len(line) > 100 and "  " not in line and line == line.strip():
        return False  # already tidy and too long to be a leftover: skip the regex work
    line = tidy(line)
    return bool(line) and len(line) <= 100 and bool(_BOILERPLATE.match(line))


# What a standfirst never is: a prompt, a widget's credit, a script, a caption.
_FURNITURE_TEXT = re.compile(
    r"subscribe|subscription|sign up|sign in|log in|newsletter|paywall|funded by (?:our )?readers"
    r"|support (?:our|independent) journalism|become a (?:member|supporter)|donate"
    r"|last chance to (?:save|buy|get|grab|order)|\bsave up to \d|\b\d{1,2} ?% off\b"
    r"|limited[- ]time (?:offer|deal)|\buse (?:promo |coupon )?code\b"
    r"|powered by|cookies?\b|javascript|\bfunction\s*\(|window\.|document\.|\{\s*\w+\s*:"
    r"|^\W*(?:photo|image|picture|foto|illustration|credit|source|caption)s?\s*(?:by)?\s*:"
    r"|\((?:photo|image|foto)s?\b|getty images|shutterstock|\bafp photo|\bap photo"
    r"|all rights reserved|©"
    r"|^\W*\d[\d,.\s]*(?:k\s+)?(?:views|reads|shares|likes|comments)\b",  # a counter's line
    re.IGNORECASE,
)


def is_furniture_text(text: str) -> bool:
    """Text that is page furniture (prompt, widget credit, script, caption), not a standfirst."""
    return bool(_FURNITURE_TEXT.search(text)) or is_boilerplate(text)


_RULE = re.compile(r"^\s*(?:[_\-–—=*·•~#]\s*){3,}$")


def is_rule(line: str) -> bool:
    return bool(_RULE.match(line))


# A hover card's copy of a linked name, glued on by the page's markup: "Kristi NoemKristi Lynn
# Noem" (the link text, then the card's full name). The card's name starts with the same first
# name and ends with the same last name.
_GLUED_CARD = re.compile(
    r"\b(?P<name>(?P<first>[A-Z][\w'’-]*[a-z])(?: [A-Z][\w'’.-]*)*? (?P<last>[A-Z][\w'’-]*[a-z]))"
    r"(?P=first)(?: [A-Z][\w'’.-]*)*? (?P=last)\b"
)
_JUNCTION = re.compile(r"[a-z][A-Z]")


def drop_hover_cards(text: str) -> str:
    """The text without name copies glued on by hover cards."""
    if not _JUNCTION.search(text):
        return text
    return _GLUED_CARD.sub(r"\g<name>", text)
