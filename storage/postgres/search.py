"""The ``/search`` query language (SQLite FTS5's: words, "phrases", prefix*, AND/OR/NOT,
parentheses) compiled to a PostgreSQL ``tsquery`` expression.

The output is SQL text with ``%s`` placeholders and their parameters: user words only ever travel
as parameters. Words and phrases go through ``plainto_tsquery``/``phraseto_tsquery`` (the same
parser and stemmer as the index, after the same Arabic folding); a prefix becomes a ``:*``
lexeme. Precedence follows FTS5: NOT binds tighter than AND (also implicit, between terms),
AND tighter than OR. What FTS5 refuses (a dangling operator, an unclosed quote or parenthesis)
raises ``QuerySyntaxError`` here too, so ``/search`` answers the same on both backends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

CONFIG = "english"
MAX_TERMS = 64  # a query is for a person to type; a longer one is refused, not run

_TOKEN = re.compile(r'\s*(?:(")|(\()|(\))|([^\s"()]+))')
_OPERATORS = {"AND", "OR", "NOT"}


class QuerySyntaxError(ValueError):
    """The query cannot be read (the message says where)."""


@dataclass
class Compiled:
    sql: str
    params: list[str] = field(default_factory=list)


def _tokens(query: str) -> list[tuple[str, str]]:
    """(kind, text) pairs: phrase, open, close, op, word, prefix."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(query):
        if query[pos:].strip() == "":
            break
        m = _TOKEN.match(query, pos)
        if m is None:  # pragma: no cover - the pattern matches any non-space start
            raise QuerySyntaxError(f"cannot read the query near {query[pos : pos + 20]!r}")
        if m.group(1):
            end = query.find('"', m.end())
            if end < 0:
                raise QuerySyntaxError("unterminated string")
            out.append(("phrase", query[m.end() : end]))
            pos = end + 1
            # FTS5 allows a prefix star right after a phrase: "word pre"*
            if query[pos : pos + 1] == "*":
                out[-1] = ("phrase_prefix", out[-1][1])
                pos += 1
            continue
        if m.group(2):
            out.append(("open", "("))
        elif m.group(3):
            out.append(("close", ")"))
        else:
            word = m.group(4)
            if word in _OPERATORS:
                out.append(("op", word))
            elif word.endswith("*") and word.strip("*"):
                out.append(("prefix", word.rstrip("*")))
            elif word.strip("*"):
                out.append(("word", word))
            else:
                raise QuerySyntaxError(f"syntax error near {word!r}")
        pos = m.end()
    return out


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.i = 0
        self.params: list[str] = []
        self.terms = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.tokens[self.i]
        self.i += 1
        return token

    def parse(self) -> str:
        if not self.tokens:
            raise QuerySyntaxError("empty query")
        expr = self.or_expr()
        left = self.peek()
        if left is not None:
            raise QuerySyntaxError(f"syntax error near {left[1]!r}")
        return expr

    def or_expr(self) -> str:
        parts = [self.and_expr()]
        while self.peek() == ("op", "OR"):
            self.take()
            parts.append(self.and_expr())
        return parts[0] if len(parts) == 1 else "(" + " || ".join(parts) + ")"

    def and_expr(self) -> str:
        parts = [self.not_expr()]
        while True:
            token = self.peek()
            if token == ("op", "AND"):
                self.take()
                parts.append(self.not_expr())
            elif token is not None and token[0] in (
                "word",
                "prefix",
                "phrase",
                "phrase_prefix",
                "open",
            ):
                parts.append(self.not_expr())  # implicit AND
            else:
                break
        return parts[0] if len(parts) == 1 else "(" + " && ".join(parts) + ")"

    def not_expr(self) -> str:
        expr = self.primary()
        while self.peek() == ("op", "NOT"):
            self.take()
            expr = f"({expr} && !!{self.primary()})"
        return expr

    def primary(self) -> str:
        token = self.peek()
        if token is None:
            raise QuerySyntaxError("the query ends with an operator")
        kind, text = self.take()
        if kind == "open":
            expr = self.or_expr()
            if self.peek() != ("close", ")"):
                raise QuerySyntaxError("unclosed parenthesis")
            self.take()
            return expr
        if kind in ("close", "op"):
            raise QuerySyntaxError(f"syntax error near {text!r}")
        self.terms += 1
        if self.terms > MAX_TERMS:
            raise QuerySyntaxError(f"too many terms (at most {MAX_TERMS})")
        if kind == "word":
            self.params.append(text)
            return f"plainto_tsquery('{CONFIG}', commentary_fold(%s))"
        if kind == "phrase":
            self.params.append(text)
            return f"phraseto_tsquery('{CONFIG}', commentary_fold(%s))"
        # A prefix: every lexeme of the text, the last one as a prefix (``:*``).
        self.params.append(prefix_query(text))
        return f"to_tsquery('{CONFIG}', commentary_fold(%s))"


_LEXEME_SPLIT = re.compile(r"[^\w]+")


def prefix_query(text: str) -> str:
    """``to_tsquery`` text for a prefix term: quoted lexemes joined by <->, the last with :*."""
    words = [w for w in _LEXEME_SPLIT.split(text.lower()) if w]
    if not words:
        raise QuerySyntaxError(f"nothing to search in {text!r}*")
    quoted = ["'" + w.replace("'", "''") + "'" for w in words]
    quoted[-1] += ":*"
    return " <-> ".join(quoted)


def compile_query(query: str) -> Compiled:
    """SQL for a ``tsquery`` value equivalent to the FTS5 ``query``."""
    parser = _Parser(_tokens(query))
    sql = parser.parse()
    return Compiled(sql, parser.params)


def any_of(words: list[str]) -> Compiled:
    """A query matching pieces that contain any of ``words`` (for "similar pieces")."""
    clean = [w for w in words if w.strip()]
    if not clean:
        raise QuerySyntaxError("no words")
    sql = " || ".join(f"plainto_tsquery('{CONFIG}', commentary_fold(%s))" for _ in clean)
    return Compiled("(" + sql + ")", clean)
