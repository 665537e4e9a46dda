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


def is_boilerplate(line: str) -> bool:
    if len(line) > 100 and "  " not in line and line == line.strip():
        return False  # already tidy and too long to be a leftover: skip the regex work
    line = tidy(line)
    return bool(line) and len(line) <= 100 and bool(_BOILERPLATE.match(line))


_RULE = re.compile(r"^\s*(?:[_\-–—=*·•~#]\s*){3,}$")


def is_rule(line: str) -> bool:
    return bool(_RULE.match(line))
