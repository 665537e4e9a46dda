"""Extractive, opinion-aware summaries: offline, deterministic, sentences from the text as is.

First the piece's genre, from its own signals (:func:`genre`): an opinion section in its URL, the
outlet's "views expressed" disclaimer, an author bio, pull quotes, and how the text reads
(first person and prescriptions against reported speech). A news story puts its summary in the
lede, so news gets the lede: the opening sentences up to a lede's length. An opinion piece is an
argument. Sentences score for what the piece is about (centrality over
content words, overlap with the title) and for what the writer argues: the thesis up front, the
prescription or verdict ("should", "must", "will hardly", "the answer is"), and the turn ("but",
"however"). Background, quotations of others and questions score lower. The picked sentences
are printed in reading order and never repeat one another (or a pull quote).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlsplit

from wordfreq import top_n_list

from bot.types import ExtractedPiece, Summary, SummaryLength

from .alternation import factored
from .endmatter import VIEWS_NOT_OURS
from .sentences import split_sentences
from .text import ends_like_sentence, norm, word_count

LIMITS: dict[SummaryLength, tuple[int, int]] = {  # length -> (max sentences, max chars)
    "short": (1, 200),
    "standard": (3, 600),
    "long": (6, 1200),
}

_PRESCRIPTION = re.compile(
    r"\b(?:should(?:n't| not)?|must(?:n't| not)?|ought to|need(?:s)? to|"
    r"had better|cannot afford|can't afford|it is time|it's time|time has come|"
    r"the (?:answer|solution|lesson|remedy|way forward|only way|real (?:question|problem|issue))"
    r"|(?:is|are|was) (?:a |the )?(?:mistake|wrong|right|failure|folly|error)|"
    r"will (?:hardly|barely|never|not|only|remain)|won't|would be (?:wise|better|a mistake)|"
    r"otherwise|unless|instead of|in short|ultimately|in the end|the bottom line|"
    r"we (?:need|must|should|cannot|can't)|let us|let's|"
    r"doit|doivent|devrait|devraient|faut|debe|deben|debería|deberían|hay que|tiene que|"
    r"muss|müssen|sollte|sollten|darf nicht|dürfen nicht|wir brauchen|brauchen wir|"
    r"hoffen wir|es wäre (?:besser|klug|richtig|falsch)|il est temps|nous devons|il faudrait|"
    r"il convient de|es hora de|necesitamos|hace falta|es necesario|es preciso|deve|devono|"
    r"dovrebbe|dovrebbero|bisogna|occorre|devem|deveria|deveriam|é preciso|precisamos|"
    r"måste|borde|bör|vi behöver|det är dags|moet|moeten|zou moeten|het is tijd|"
    r"kurz gesagt|letztlich|unterm strich|en somme|en définitive|en resumen|en definitiva|"
    r"insomma|kort sagt|i slutändan|kortom|uiteindelijk|يجب|ينبغي|لا بد|لابد)\b",
    re.IGNORECASE,
)
_TURN = re.compile(
    r"^(?:but|however|yet|still|instead|nevertheless|nonetheless|rather|even so|and yet|"
    r"on the other hand|in fact|the truth is|the problem is|moreover|لكن|غير أن|mais|pero|aber|"
    r"pourtant|cependant|en réalité|sin embargo|no obstante|doch|jedoch|allerdings|dennoch|"
    r"ändå|però|tuttavia|maar|toch|porém|contudo)\b",
    re.IGNORECASE,
)
# A sentence that leans on the one before it (a pronoun or "this" first), in the cue languages.
_ANAPHORA = re.compile(
    r"^(?:this|that|these|those|it|they|he|she|such|there|here|also|and|so|then|"
    r"sie|er|dies|diese|dieser|dieses|il|elle|ils|elles|cela|ceci|ella|ellos|ellas|esto|eso|"
    r"hon|han|de|det|denna|detta)\b",
    re.IGNORECASE,
)
# Someone else's words, reported: in the languages the genre cues cover.
_REPORTED = re.compile(
    r"\b(?:said|says|told|according to|added|stated|announced|reported|quoted|"
    r"sagte|sagt|erklärte|betonte|so der|so die|laut|a déclaré|a dit|selon|explique|"
    r"dijo|afirmó|explicó|según|ha detto|secondo|disse|segundo|säger|sade|enligt|zei|volgens)\b",
    re.IGNORECASE,
)
_QUOTE_MARKS = re.compile(r"[\"“”„«»]")
_TOKEN = re.compile(r"[^\W\d_]{3,}")
# What the writer wants done: the proposal. A narrower set than _PRESCRIPTION (no verdicts such
# as "will hardly" or "is a mistake"), in the languages the genre cues cover.
_PROPOSAL = re.compile(
    r"\b(?:should(?:n't| not)?|must(?:n't| not)?|ought to|needs? to|it is time|it's time|"
    r"time has come|the (?:answer|solution|remedy|way forward|only way)|"
    r"we (?:need|must|should)|let us|let's|"
    r"doit|doivent|devrait|devraient|faut|debe|deben|debería|deberían|hay que|tiene que|"
    r"muss|müssen|sollte|sollten|darf nicht|dürfen nicht|wir brauchen|brauchen wir|"
    r"hoffen wir|es wäre (?:besser|klug|richtig|falsch)|il est temps|nous devons|il faudrait|"
    r"il convient de|es hora de|necesitamos|hace falta|es necesario|es preciso|deve|devono|"
    r"dovrebbe|dovrebbero|bisogna|occorre|devem|deveria|deveriam|é preciso|precisamos|"
    r"måste|borde|bör|vi behöver|det är dags|moet|moeten|zou moeten|het is tijd)\b"
    r"|يجب|ينبغي|لا بد|لابد|أدعو|أقترح",
    re.IGNORECASE,
)
# A secondary proposal ("should also"): the main one says more.
_ALSO = re.compile(r"\b(?:also|aussi|también|auch|too)\b|أيضا", re.IGNORECASE)
# Not prose: a caption or a photo credit left in the body (table rows: tabs and bars).
_CAPTION = re.compile(
    r"^(?:photo|image|picture|caption|credit|file photo|illustration|video)s?\b"
    r"|\b(?:photo(?:graph)?|image|illustration)s?\s*(?:by|:|credit)|\((?:photo|image|file)\b",
    re.IGNORECASE,
)
_INTERVIEWER = re.compile(r"(?:Q|F|P|Frage|Question|Pregunta)\s*:\s")
# A quotation's signature ("– Ann Lee, Arts Editor"): a dash, then a name (two capitalised
# words) and a few more, with no sentence's end: a name line, not something the piece says.
_SIGNATURE = re.compile(r"^[‒–—―~-]\s*[^\W\d_][^\W\d_]*\.?\s+[^\W\d_]")
# Symbols, emoji joiners and variation selectors: decoration before a sentence's first word.
_DECORATION = frozenset(("So", "Sk", "Cf", "Mn", "Co"))
# A list item's marker ("- ", "• "): the item is the sentence, the marker is layout.
_LIST_MARKER = re.compile(r"^\s*[-•▪‣*]\s+")
_DIGITS = re.compile(r"\d+(?:[.,]\d+)*%?")


# An opinion section in the URL path, by the names outlets give it in the languages the cues
# below cover: a whole path segment ("/opinion/", "/kolumnister/") or its first word
# ("/meinung-analyse/", "/Kommentar-Klima-..."). French "comment-" ("how ...") is not one.
_OPINION_URL = re.compile(
    r"[/.](?:(?:opinions?|views?|viewpoints?|columns?|columnists?|commentary|comment|"
    r"op-?eds?|editorials?|perspectives?|voices|letters)(?:[/._]|$)|"
    r"(?:opinions?|viewpoints?|columns?|columnists?|commentary|op-?eds?|editorials?|"
    r"opinion[ei]|opini[oó]n|opiniones|opini[aã]o|opinie|meinung|kommentare?|kolumnen?|"
    r"kolumnist(?:en|er)?|gastbeitr[aä]ge?|leitartikel|standpunkt|tribunes?|idees|debatt|"
    r"ledare|kronikk|chroniques?|editoriale)(?:[/._-]|$))",
    re.IGNORECASE,
)
# A section label the page gives itself (bot/pipeline/sections.py): the whole label or one of
# its words names opinion writing, in the languages the cues below cover.
_OPINION_SECTION = re.compile(
    r"\b(?:opinions?|views?|viewpoints?|columns?|columnists?|commentary|comment|op-?eds?|"
    r"editorials?|perspectives?|voices|letters|opinionnewsarticle|"
    r"meinung|kommentare?|gastbeitrag|opini[oó]n|opini[aã]o|opinioni|commento|tribunes|"
    r"débats?|editoriale?s?|columnas?|opinie|kolumnen?|kolumnist(?:en|er)?|leitartikel|"
    r"standpunkt|ledare|debatt|kronikk|chroniques?)\b"
    r"|(?:الرأي|رأي|آراء|أعمدة)",
    re.IGNORECASE,
)
# The outlet's opinion formula, not any text marked "disclaimer" (affiliate or copyright notes).
_VIEWS_DISCLAIMER = re.compile(
    r"\b(?:views?|opinions?|thoughts)\b.{0,80}\b(?:expressed|contained|in this)\b.{0,120}"
    r"\b(?:own|necessarily|do not|don't|does not|not reflect|solely)\b"
    r"|\b(?:do|does) not necessarily (?:reflect|represent)\b"
    r"|\b(?:reflects?|represents?) (?:only )?the (?:views?|opinions?) of the (?:author|writer)"
    r"|لا (?:تعبر|يعبر) (?:بالضرورة )?عن|تعبر عن (?:رأي|وجهة نظر) كاتبها"
    r"|n'engagent que leurs? auteurs?|" + VIEWS_NOT_OURS,
    re.IGNORECASE,
)
# Matched on case-folded text ("i", "my"): IGNORECASE and inline (?i:) groups made these the
# costliest patterns of the summary.
_FIRST_PERSON = re.compile(
    r"\b(?:i(?!\.e\b)|i'm|i’m|i've|i’ve|my|me|myself"
    r"|je|moi|mon|ma|mes|nous|notre|nos|yo|mí|mi|mis|creo|ich|mich|mir|mein|meine|wir|"
    r"unser|unsere|jag|mig|ik|mijn|wij|noi|nós|minha|meu)\b|(?<![\w'’])j['’]"
    r"|(?:^|\s)(?:أرى|أعتقد|أظن|رأيي|برأيي|أنا|نحن|أقول|أدعو)(?:\s|$|[،.])"
)
# The writer taking a position in so many words: "my verdict", "I believe", "je défends",
# "voilà pourquoi", "أرى أن". One such sentence, not inside a quotation or attributed to someone
# else, is the strongest sign that the text argues rather than reports.
_STANCE_WORDS = (
    r"\b(?:(?:i|we) (?:(?:firmly |strongly |still )?(?:believe|argue|contend|propose|urge|"
    r"insist|maintain|submit)|(?:would|must) (?:argue|insist|say))|i(?:'m| am) convinced|"
    r"(?:my|our) (?:verdict|view|argument|position|conclusion|advice|proposal) is|"
    r"in (?:my|our) (?:view|opinion|judgment|judgement)|to my mind"
    r"|je (?:défends|soutiens|propose|plaide|crois|pense|suis convaincue?)|"
    r"voilà pourquoi|c['’]est pourquoi je|à mon avis|selon moi|"
    r"creo que|defiendo|sostengo|propongo|en mi opinión|a mi juicio|"
    r"ich (?:glaube|finde|meine|plädiere|fordere|bin überzeugt)|meiner meinung nach|"
    r"meines erachtens|aus meiner sicht|jag (?:tycker|anser|menar|tror)|credo che|"
    r"secondo me|a mio avviso|acredito que|na minha opinião|ik (?:vind|denk)|volgens mij)\b"
    r"|(?:أرى أن|أرى ان|أعتقد أن|في رأيي|برأيي|لذلك أرى|أدعو إلى|أقترح أن)"
)
_STANCE = re.compile(factored(_STANCE_WORDS))  # grouped by first letter, like the cues below
_QUOTED = re.compile(r"[\"“„][^\"“”„]{0,400}[\"”“]|«[^«»]{0,400}»")
# A news lede runs to about thirty words (the usual newsroom guidance); the summary of a news
# story takes opening sentences until it holds that much.
LEDE_WORDS = 30
# Content words an opening sentence shares with the rest of the piece when it names the
# piece's subject rather than setting a scene.
_SUBJECT_WORDS = 2


def genre(piece: ExtractedPiece, sentences: list[_Sentence] | None = None) -> str:
    """ "opinion" or "news", from the piece's own signals (URL, disclaimer, bio, how it reads)."""
    sentences = candidate_sentences(piece) if sentences is None else sentences
    score = 0.0
    path = urlsplit(piece.url or "").path
    if _OPINION_URL.search(path) or any(_OPINION_SECTION.search(s) for s in piece.sections):
        score += 2  # the outlet filed it under opinion (its URL, section meta or breadcrumbs)
    if piece.disclaimer and _VIEWS_DISCLAIMER.search(piece.disclaimer):
        score += 2  # "views expressed are the writer's own": only opinion pages carry it
    if piece.author_bio:
        score += 1
    if piece.pull_quotes:
        score += 0.5
    title = piece.title or ""
    if _PRESCRIPTION.search(title) and not (_REPORTED.search(title) or _QUOTE_MARKS.search(title)):
        score += 1  # a headline that prescribes ("Towns should own their broadband")
    if sentences:
        n = len(sentences)
        first_person = sum(s.first_person for s in sentences) / n
        prescriptive = sum(s.prescription for s in sentences) / n
        reported = sum(s.reported for s in sentences) / n
        # The writer's own argument: a stated position ("my verdict is", "je défends",
        # "أرى أن") where a thesis or verdict sits (the opening or closing paragraphs), or
        # first person and a prescription in one sentence; never inside quotation marks or
        # attributed to someone ("..., he said").
        last = sentences[-1].paragraph
        argued = 0.0
        for s in sentences:
            if s.reported or s.quoted:
                continue
            if s.stance:
                argued += 2.0 if s.paragraph <= 1 or s.paragraph >= last - 1 else 1.0
            elif s.first_person and s.prescription:
                argued += 0.5
            elif s.proposal and s.paragraph >= last - 1:
                argued += 1.0  # the piece closes on what should be done, in its own voice
        if first_person >= 0.15:
            score += 1
        if prescriptive >= 0.15:
            score += 1
        score += min(2.0, argued)
        if reported >= 0.25 and reported > 2 * prescriptive:
            score -= 1  # mostly what others said: reporting
            if reported >= 0.4:
                score -= 1  # a report quoting its sources throughout
    return "opinion" if score >= 2 else "news"


@lru_cache(maxsize=16)
def _stopwords(language: str) -> frozenset[str]:
    try:
        # wordfreq's small list has the same top words; the large one (its default) is held in
        # memory for good once read: 30 to 115 MB per language.
        return frozenset(top_n_list(language, 150, wordlist="small"))
    except (LookupError, ValueError):
        return frozenset(top_n_list("en", 150, wordlist="small"))


@dataclass
class _Sentence:
    text: str
    order: int
    paragraph: int
    words: Counter[str]
    key: str = ""  # norm(text): the comparison key, computed once
    n_words: int = 0  # word_count(text)
    magnitude: int = 0  # sum of squared term counts, for cosines against this sentence
    score: float = 0.0
    thesis: float = -math.inf  # how well it states what the writer argues or proposes
    # The cues, matched once per sentence (genre, scoring and the thesis all read them).
    quoted: bool = False  # quotation marks in it
    reported: bool = False  # "said", "according to"
    first_person: bool = False  # outside quotations
    prescription: bool = False  # outside quotations
    prescription_any: bool = False  # anywhere, quotations included
    proposal: bool = False  # outside quotations
    stance: bool = False
    also: bool = False  # "also", "too": looked for only where a cue above was found


# The cue patterns once more, case-sensitive, for text already case-folded: Python's re is
# about three times slower with IGNORECASE, and these run on every sentence of every piece.
# Their word lists are grouped by first letter (the same patterns, matching where they did).
_PRESCRIPTION_CF = re.compile(factored(_PRESCRIPTION.pattern))
_PROPOSAL_CF = re.compile(factored(_PROPOSAL.pattern))
_REPORTED_CF = re.compile(factored(_REPORTED.pattern))
_ALSO_CF = re.compile(factored(_ALSO.pattern))
_FIRST_PERSON_CF = re.compile(factored(_FIRST_PERSON.pattern))


def _sentence(
    text: str, order: int, paragraph: int, words: Counter[str], key: str = ""
) -> _Sentence:
    key = key or norm(text)
    n_words = key.count(" ") + 1 if key else 0  # = word_count(text), from the key
    s = _Sentence(text, order, paragraph, words, key, n_words, _magnitude(words))
    s.quoted = bool(_QUOTE_MARKS.search(text))
    plain = _QUOTED.sub(" ", text) if s.quoted else text
    low = plain.casefold()
    full_low = text.casefold() if s.quoted else low
    s.reported = bool(_REPORTED_CF.search(full_low))
    s.first_person = bool(_FIRST_PERSON_CF.search(low))
    s.prescription = bool(_PRESCRIPTION_CF.search(low))
    s.prescription_any = s.prescription or (s.quoted and bool(_PRESCRIPTION_CF.search(full_low)))
    s.proposal = bool(_PROPOSAL_CF.search(low))
    s.stance = bool(_STANCE.search(full_low))
    # "also" only weighs on a sentence that prescribes, proposes or states a position
    s.also = (s.prescription_any or s.proposal or s.stance) and bool(_ALSO_CF.search(full_low))
    return s


def _terms(text: str, stop: frozenset[str]) -> Counter[str]:
    if text.isascii():  # ASCII: lower() is casefold(), and one call for the whole text
        words = _TOKEN.findall(text.lower())
    else:
        # Each word case-folded as found ("Maß" is one 3-letter word, "mass" once folded),
        # in one call: case folding maps character by character, and never to NUL.
        words = "\0".join(_TOKEN.findall(text)).casefold().split("\0")
        if words == [""]:
            words = []
    terms = Counter(words)
    for word in stop.intersection(terms):
        del terms[word]  # the remaining terms keep their first-seen order
    return terms


def _magnitude(words: Counter[str]) -> int:
    return sum(v * v for v in words.values())


def _cosine(a: Counter[str], b: Counter[str], a2: int = 0, b2: int = 0) -> float:
    """Cosine of two bags of words; ``a2``/``b2`` are their magnitudes when already known."""
    if not a or not b:
        return 0.0
    product = (a2 or _magnitude(a)) * (b2 or _magnitude(b))
    if len(b) < len(a):
        a, b = b, a  # the same integer dot product, looked up from the smaller bag
    dot = sum([v * b[k] for k, v in a.items() if k in b])
    return dot / math.sqrt(product)


MAX_SUMMARY_INPUT = 50_000


def candidate_sentences(piece: ExtractedPiece) -> list[_Sentence]:
    """The body's sentences in reading order, headings and fragments left out."""
    language = (piece.language or "en").split("-")[0]
    stop = _stopwords(language)
    # The summary of a column never needs more than its first 50,000 characters, and a 5 MB
    # "article" must not cost minutes of CPU.
    paragraphs = [p for p in re.split(r"\n\s*\n|\n", piece.text[:MAX_SUMMARY_INPUT]) if p.strip()]
    out: list[_Sentence] = []
    seen: set[str] = set()
    para_index = 0
    for para in paragraphs:
        para_words = word_count(para)
        if para_words < 12 and not ends_like_sentence(para):
            continue  # a subheading
        if _not_prose(para, para_words):
            continue
        for sentence in split_sentences(para, language):
            sentence = _without_leading_symbols(_LIST_MARKER.sub("", sentence, count=1))
            key = norm(sentence)
            # fewer than 5 words: fewer than 4 spaces in the key
            if not key or key in seen or key.count(" ") < 4:
                continue
            if _is_signature(sentence):
                continue
            seen.add(key)  # a sentence repeated (a pull quote left in the body) is used once
            out.append(_sentence(sentence, len(out), para_index, _terms(sentence, stop), key))
        para_index += 1
    return out


def _without_leading_symbols(sentence: str) -> str:
    """ "🎬⚡The internet runs on video." -> "The internet runs on video." (emoji are decoration;
    the rest stays verbatim)."""
    start = 0
    while start < len(sentence) and (
        unicodedata.category(sentence[start]) in _DECORATION or sentence[start].isspace()
    ):
        start += 1
    return sentence[start:] if start < len(sentence) else sentence


def _is_signature(sentence: str) -> bool:
    """ "— Mara Ilves, Arts Editor": a dash, a capitalised name, at most ten words, no end."""
    if not _SIGNATURE.match(sentence) or ends_like_sentence(sentence):
        return False
    words = sentence.lstrip("‒–—―~- ").split()
    return len(words) <= 10 and words[0][:1].isupper() and words[1][:1].isupper()


def _not_prose(para: str, words: int | None = None) -> bool:
    """A table row, a caption or credit, a cut-off teaser or a line of figures: never summary
    material."""
    if "\t" in para or para.count("|") >= 2:
        return True
    if _INTERVIEWER.match(para):
        return True  # an interviewer's question: the answers carry what is said
    words = word_count(para) if words is None else words
    if words < 40 and _CAPTION.search(para):
        return True
    if words < 60 and para.rstrip().endswith(("...", "…")):
        return True  # a teaser the site cut off ("Every January, companies promise...")
    return words > 0 and len(_DIGITS.findall(para)) / words > 0.35


def _overlap(a: Counter[str], b: Counter[str]) -> float:
    """Share of the smaller bag of words found in the other."""
    small = min(sum(a.values()), sum(b.values()))
    if not small:
        return 0.0
    if len(b) < len(a):
        a, b = b, a  # the multiset intersection is symmetric: walk the smaller bag
    return sum([min(v, b[k]) for k, v in a.items() if k in b]) / small


def _score(sentences: list[_Sentence], piece: ExtractedPiece, news_like: bool = False) -> None:
    if not sentences:
        return
    language = (piece.language or "en").split("-")[0]
    stop = _stopwords(language)
    doc: Counter[str] = Counter()
    for s in sentences:
        doc.update(set(s.words))  # document frequency of each term across sentences
    n_para = max(s.paragraph for s in sentences) + 1
    title = _terms(piece.title or "", stop)
    title2 = _magnitude(title)
    quotes = [norm(q) for q in piece.pull_quotes if norm(q)]
    # log1p of each shared term's document frequency, once per term (same values, same order)
    weight = {t: math.log1p(n) for t, n in doc.items() if n > 1}
    # The writer states a position in so many words further on ("I believe", "je défends"):
    # then an opening that neither prescribes nor names the headline's subject sets a scene,
    # and the stated position is what a reader needs.
    stated_later = not news_like and any(
        x.stance and not x.quoted and x.order > 2 for x in sentences
    )
    for s in sentences:
        terms = [t for t in s.words if t in weight]
        centrality = sum([weight[t] for t in terms]) / (1 + math.sqrt(len(s.words) + 1))
        score = centrality
        on_title = _cosine(s.words, title, s.magnitude, title2)
        score += 1.5 * on_title
        rel = s.paragraph / max(1, n_para - 1)
        if news_like:  # reported news: the lead carries the story
            score += 1.5 if s.order == 0 else 0.8 if s.order == 1 else 0.0
            score += 1.0 * (1 - rel) ** 2 + (1.0 if s.paragraph == 0 else 0.0)
        else:
            # The thesis usually comes early, so the opening paragraphs weigh more, fading
            # towards the middle; but an opening scene (no word of the headline, no cue) in a
            # piece that states its position later gets nothing for its place: a reader learns
            # the argument, not the anecdote.
            # Otherwise a sentence that names the piece's subject (two of its words recur
            # elsewhere in it; a scene's hour, place and passer-by do not) keeps the weight of
            # its place: an opening sentence states the claim as often as not, and editors'
            # standfirsts paraphrase it.
            if (
                s.prescription_any
                or s.stance
                or on_title > 0
                or (not stated_later and len(terms) >= _SUBJECT_WORDS)
            ):
                score += (0.8 if s.paragraph == 0 else 0.0) + 1.5 * (1 - rel) ** 2
            if rel >= 0.75:
                score += 0.6  # the verdict usually comes last
            if s.prescription_any:
                score += 1.2 + (0.4 if rel >= 0.5 else 0.0)
            if _TURN.search(s.text):
                score += 0.5
            if s.also and s.prescription_any:
                score -= 0.5  # a second proposal ("must also"): the first says more
            if s.stance and not s.quoted:
                # The writer states the position in so many words ("Voilà pourquoi je
                # défends le comptoir."): the thesis, however short.
                score += 2.0 + (0.4 if s.n_words < 10 else 0.0)
        key = s.key
        if quotes and any(q in key for q in quotes):
            score += 0.8  # the editors flagged it as the line that matters
        if _ANAPHORA.search(s.text):
            score -= 0.4
        if s.quoted and s.reported:
            score -= 0.6  # someone else's words
        if s.text.rstrip().endswith(("?", "؟")):
            score -= 0.6
        words = s.n_words
        if words > 50:
            score -= 0.02 * (words - 50)
        elif words < 10:
            score -= 0.4
        s.score = score
        if not news_like:
            s.thesis = _thesis_score(s, score, rel)


def _thesis_score(s: _Sentence, score: float, rel: float = 1.0) -> float:
    """The writer's own claim or proposal: stated, not quoted, not asked."""
    text = s.text
    if (s.quoted and s.reported) or text.endswith(("?", "؟")):
        return -math.inf
    proposal = s.proposal
    stance = s.stance and not s.quoted
    if not (proposal or stance or s.prescription_any):
        return -math.inf
    value = score + 2.0 * proposal + 1.0 * stance
    if rel <= 1 / 3:
        value += 1.0  # the claim the piece opens with, rather than a later aside or the close
    if s.also:
        value -= 1.0  # a second proposal; the first says what the piece is for
    return value


def _fit(sentence: str, limit: int) -> str:
    """Cut an overlong sentence at a clause boundary (short summaries only)."""
    if len(sentence) <= limit:
        return sentence
    cut = sentence[: limit - 1]
    for mark in ("; ", ", ", " – ", " — ", " "):
        at = cut.rfind(mark)
        if at > limit // 2:
            return cut[:at].rstrip(",;:–— ") + "…"
    return cut.rstrip() + "…"


@dataclass
class _Prepared:
    """What every summary length of one piece shares, computed once."""

    news: bool
    sentences: list[_Sentence]  # the candidates, less those the standfirst already says
    ranked: list[_Sentence]  # the same, best score first


def _prepare(piece: ExtractedPiece) -> _Prepared:
    """Sentences scored once (the costly part), shared by every summary length."""
    all_sentences = candidate_sentences(piece)
    news = genre(piece, all_sentences) == "news"
    _score(all_sentences, piece, news_like=news)
    language = (piece.language or "en").split("-")[0]
    standfirst = _terms(piece.standfirst or "", _stopwords(language))
    sentences = [s for s in all_sentences if not _repeats(s, standfirst)] or all_sentences
    ranked = sorted(sentences, key=lambda s: (-s.score, s.order))
    return _Prepared(news, sentences, ranked)


def summarize_all(piece: ExtractedPiece) -> dict[str, Summary]:
    """The three lengths at the cost of about one (ingestion stores all three)."""
    prepared = _prepare(piece)
    return {length: summarize(piece, length, prepared=prepared) for length in LIMITS}


def _repeats(s: _Sentence, standfirst: Counter[str]) -> bool:
    """The sentence says again what the standfirst (shown above the summary) says."""
    return bool(standfirst) and _overlap(s.words, standfirst) >= 0.6


def summarize(
    piece: ExtractedPiece,
    length: SummaryLength = "standard",
    *,
    prepared: _Prepared | None = None,
) -> Summary:
    """Extractive summary of ``piece``: short (1 sentence), standard (≤3), long (≤6).

    News leads with its lede. An opinion piece always carries its thesis line: the writer's
    proposal or stated position (in the short length, that line alone); the rest are the
    best-scored sentences (verdict, supporting points), in reading order. Nothing that the
    standfirst already says is repeated.
    """
    if length not in LIMITS:
        raise ValueError(f"unknown summary length {length!r}: use short, standard or long")
    max_sentences, max_chars = LIMITS[length]
    prepared = prepared or _prepare(piece)
    news, sentences = prepared.news, prepared.sentences
    ranked = prepared.ranked  # rebound, never changed: every length reads the same list
    chosen: list[_Sentence] = []
    used = 0
    if news and sentences:
        # The lede: opening sentences until they hold a lede's worth of words. A long summary
        # goes on with the best-scored sentences of the rest.
        words = 0
        for s in sentences:
            extra = len(s.text) + (1 if chosen else 0)
            if len(chosen) >= max_sentences or (chosen and used + extra > max_chars):
                break
            if not chosen and extra > max_chars:
                break  # an overlong first sentence: the ranking picks one that fits, verbatim
            chosen.append(s)
            used += extra
            words += word_count(s.text)
            if words >= LEDE_WORDS:
                break
        if length != "long" and chosen:
            ranked = []  # (a lede too long for the limit leaves the choice to the ranking)
    elif sentences:
        # The thesis line first: a reader learns what the writer argues or wants done even
        # when the piece opens on an anecdote and has no standfirst.
        theses = sorted(
            (s for s in sentences if s.thesis > -math.inf and len(s.text) <= max_chars),
            key=lambda s: (-s.thesis, s.order),
        )
        if theses:
            chosen.append(theses[0])
            used = len(theses[0].text)
        if max_sentences > 1:
            # Then the strongest supporting point: the best-scored sentence that argues from
            # facts rather than prescribing, and stands on its own (no "It", "This").
            for s in ranked:
                if s in chosen or s.prescription_any or _ANAPHORA.search(s.text):
                    continue
                if used + len(s.text) + 1 > max_chars:
                    continue
                if any(_cosine(s.words, c.words, s.magnitude, c.magnitude) > 0.5 for c in chosen):
                    continue
                chosen.append(s)
                used += len(s.text) + (1 if len(chosen) > 1 else 0)
                break
    for s in ranked:
        if s in chosen:
            continue
        if len(chosen) >= max_sentences:
            break
        extra = len(s.text) + (1 if chosen else 0)
        if used + extra > max_chars:
            continue
        if any(_cosine(s.words, c.words, s.magnitude, c.magnitude) > 0.5 for c in chosen):
            continue
        chosen.append(s)
        used += extra
    chosen.sort(key=lambda s: s.order)
    texts = [s.text for s in chosen]
    if not texts:
        best = ranked[0] if ranked else None
        fallback = best.text if best else piece.text.strip().split("\n")[0].strip()
        texts = [_fit(fallback, max_chars)] if fallback else []
    return Summary(text=" ".join(texts), method="extractive", sentences=texts, length=length)
