"""Right-to-left titles and summaries shown right to left in any chat client.

Telegram and Discord pick a paragraph's direction from its first strong letter, so an Arabic
summary that opens with "BBC", "2024" or a quotation mark is laid out left to right and reads
scrambled. When rendering, after invisible characters are filtered: a right-to-left mark opens
every line of a right-to-left text, and each embedded Latin run sits in a left-to-right isolate
so its punctuation stays with it. Platform-neutral: both renderers call :func:`directional`.
"""

from __future__ import annotations

import re

RLM = "\u200f"
LRM = "\u200e"
LRI = "\u2066"
PDI = "\u2069"

_RTL_LETTER = re.compile("[\u0590-\u05ff\u0600-\u06ff\u0700-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_LTR_LETTER = re.compile("[A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]")
_LATIN = "A-Za-z\u00c0-\u024f"
# A Latin word or several ("New York Times", "COVID-19", "e.g."), with the spaces, digits and
# joining punctuation between them, but not the spaces or punctuation around the run.
_LATIN_RUN = re.compile(
    rf"[{_LATIN}][{_LATIN}0-9'’.\-&/]*(?:[ ][{_LATIN}0-9][{_LATIN}0-9'’.\-&/]*)*"
)


def is_rtl(text: str) -> bool:
    """Mostly right-to-left: at least 40 % of the strong letters (Latin names and acronyms
    are long for what they carry, so a plain majority would miss Arabic text quoting them)."""
    rtl = len(_RTL_LETTER.findall(text))
    return rtl > 0 and rtl * 3 >= len(_LTR_LETTER.findall(text)) * 2


def _isolate(match: re.Match[str]) -> str:
    run = match.group(0)
    core = run.rstrip(".'’-&/")  # a full stop after the run belongs to the sentence
    return LRI + core + PDI + run[len(core) :]


def directional(text: str | None) -> str:
    """``text`` ready to show: right-to-left text marked so it reads right to left."""
    # Imported here: importing bot.pipeline loads the extraction libraries, which a renderer
    # module must not pay for at start-up (they load in the background once a bot runs).
    from bot.pipeline.text import strip_invisible

    text = strip_invisible(text or "")
    if not text or not is_rtl(text):
        return text
    lines = []
    for line in text.split("\n"):
        line = line.lstrip(RLM + LRM)
        if line.strip():
            line = RLM + _LATIN_RUN.sub(_isolate, line)
        lines.append(line)
    return "\n".join(lines)
