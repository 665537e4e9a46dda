"""Routing: the one place that decides which chats get a piece, and in what state.

Storage supplies the candidates (subscriptions that may match, with their chats) and writes
the rows this returns in the piece's own transaction; ``/why`` asks the same questions to
explain what happened. Matching is on case-folded text (``bot.matching``), so a keyword, an
author's name or a filter means the same thing in every path.
"""

from __future__ import annotations

from bot.matching import MatchText, filter_verdict, keyword_matches
from bot.types import Chat, Piece, Route, RouteCandidate, Subscription


def piece_text(piece: Piece) -> MatchText:
    """The text keywords and filters are matched against."""
    return MatchText.of(piece.title, piece.standfirst, piece.text, " ".join(piece.authors))


def subscription_matches(
    sub: Subscription,
    piece: Piece,
    text: MatchText | None = None,
    *,
    seen_in: int | None = None,
) -> bool:
    """Whether the subscription picks the piece at all (before its filters).

    ``seen_in``: another source whose feed also carried the piece (a syndicated copy); its
    followers get the piece too.
    """
    if sub.kind == "source":
        return sub.source_id is not None and sub.source_id in (piece.source_id, seen_in)
    if sub.kind == "author":
        target = sub.target.casefold()
        return any(author.casefold() == target for author in piece.authors)
    return keyword_matches(sub.target, text or piece_text(piece))


def route(
    piece: Piece, candidates: list[RouteCandidate], *, seen_in: int | None = None
) -> list[Route]:
    """One route per chat that some candidate subscription picks the piece for.

    A chat's first passing subscription wins over a filtered one; an inactive chat is
    recorded as skipped (for /why), a chat with another language as filtered, and a chat in
    digest mode holds the piece for its digest.
    """
    text = piece_text(piece)
    chosen: dict[int, Route] = {}
    chats: dict[int, Chat] = {}
    for candidate in candidates:
        sub, chat = candidate.subscription, candidate.chat
        if not subscription_matches(sub, piece, text, seen_in=seen_in):
            continue
        reason = filter_verdict(sub.include, sub.exclude, text)
        previous = chosen.get(chat.id)
        if previous is None or (previous.state == "filtered" and reason is None):
            if reason:
                chosen[chat.id] = Route(chat.id, sub.id, "filtered", reason)
            else:
                chosen[chat.id] = Route(chat.id, sub.id, "pending")
            chats[chat.id] = chat
    routes = []
    for chat_id, found in chosen.items():
        chat = chats[chat_id]
        if not chat.active:
            reason = f"chat inactive: {chat.inactive_reason or 'unknown'}"
            found = Route(chat_id, found.subscription_id, "skipped", reason)
        elif found.state == "pending":
            wanted = chat.settings.language
            if wanted and piece.language and wanted.lower() != piece.language.lower()[:2]:
                found = Route(
                    chat_id,
                    found.subscription_id,
                    "filtered",
                    f"language {piece.language} is not {wanted}",
                )
            elif chat.settings.mode == "digest":
                found = Route(chat_id, found.subscription_id, "digest", None)
        routes.append(found)
    return routes
