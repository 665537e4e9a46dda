"""Reply commands and buttons: act on the piece of the post that was replied to."""

from __future__ import annotations

import re
from collections import Counter
from typing import TYPE_CHECKING

from bot.errors import LimitReached, SubscriptionExists
from bot.messages import (
    Action,
    Reply,
    Request,
    Response,
    card_for,
    piece_byline,
    post_for,
    translate_card,
)
from handlers.common import current_chat, piece_from_request, posts_for
from handlers.limits import max_subscriptions
from handlers.registry import command

if TYPE_CHECKING:
    from bot.services import Services

# /full posts at most this much of a piece (two Telegram messages, four on Discord), then the
# link: a whole 4.7-million-character page used to become 1,195 messages.
FULL_TEXT_CHARS = 6_000
_WORD = re.compile(r"[^\W\d_]{4,}", re.UNICODE)
_STOP = frozenset(
    "that this with from have were their there which would about could should these those "
    "been being into than then them they what when where while will your also more most "
    "only other over such very just after before because against between through".split()
)


@command("more", "/more (reply)", "The long summary of a post", reply_action=True, group="Replies")
async def more(request: Request, services: Services) -> Response:
    piece = await piece_from_request(request, services)
    text = piece.summary_long or piece.summary or piece.text[:1500]
    card = card_for(piece, summary=text)
    actions = [Action("Full text", "full", piece.id)]
    chat = await current_chat(request, services)
    if chat.settings.translate and services.translator is not None:
        # A translating chat reads the long summary in its language too (cached, budgeted);
        # without a translation it gets the original, as posts do.
        translated = await services.translator.translate(piece, chat.settings.translate, "long")
        if translated is not None:
            translate_card(card, translated)
            actions.insert(0, Action("Original", "original", piece.id))
    return Response([Reply(card=card, piece_id=piece.id, actions=actions)])


@command(
    "original",
    "/original (reply)",
    "A translated post as it was written",
    reply_action=True,
    group="Replies",
)
async def original(request: Request, services: Services) -> Response:
    piece = await piece_from_request(request, services)
    chat = await current_chat(request, services)
    return Response([post_for(piece, chat.settings.length)])


@command(
    "full", "/full (reply)", "The full cleaned text of a post", reply_action=True, group="Replies"
)
async def full(request: Request, services: Services) -> Response:
    piece = await piece_from_request(request, services)
    chat = await current_chat(request, services)
    if not chat.settings.full_text:
        return Response(
            [
                Reply(
                    text="This chat's administrators turned /full off; the whole piece is at "
                    f"{piece.url}",
                    piece_id=piece.id,
                )
            ]
        )
    head = piece.title + (f"\n{piece_byline(piece)}" if piece_byline(piece) else "")
    body = piece.text or "(The page had no text I could extract.)"
    if len(body) > FULL_TEXT_CHARS:
        # A few messages, not a thousand: the rest is one click away.
        body = _first_part(body, FULL_TEXT_CHARS) + (
            f"\n\n[That is the first part of {len(piece.text):,} characters; "
            "read the rest on the page.]"
        )
    return Response(
        [Reply(text=f"{head}\n\n{body}\n\n{piece.url}", kind="long", piece_id=piece.id)]
    )


def _first_part(text: str, limit: int) -> str:
    """At most ``limit`` characters, ending at a paragraph or a sentence when one is near."""
    cut = text[:limit]
    for mark in ("\n\n", "\n", ". "):
        at = cut.rfind(mark)
        if at > limit * 0.6:
            return cut[: at + (1 if mark == ". " else 0)].rstrip()
    return cut.rstrip() + "…"


@command("quote", "/quote (reply)", "The pull quotes of a post", reply_action=True, group="Replies")
async def quote(request: Request, services: Services) -> Response:
    piece = await piece_from_request(request, services)
    if not piece.pull_quotes:
        return Response([Reply(text="This piece has no pull quotes.", piece_id=piece.id)])
    lines = [f"“{q}”" for q in piece.pull_quotes]
    who = ", ".join(piece.authors)
    if who:
        lines.append(f"— {who}")
    return Response([Reply(text="\n\n".join(lines), piece_id=piece.id)])


@command(
    "author",
    "/author (reply)",
    "About the author, and their other pieces",
    reply_action=True,
    group="Replies",
)
async def author(request: Request, services: Services) -> Response:
    piece = await piece_from_request(request, services)
    if not piece.authors:
        return Response([Reply(text="This piece names no author.", piece_id=piece.id)])
    chat = await current_chat(request, services)
    lines: list[str] = []
    for name in piece.authors:
        found = await services.store.get_author(name)
        bio = (found[1] if found else None) or (
            piece.author_bio if name == piece.authors[0] else None
        )
        lines.append(name + (f": {bio}" if bio else ""))
        found_pieces = await services.store.latest_pieces(6, author=name, chat_id=chat.id)
        others = [p for p in found_pieces if p.id != piece.id]
        for other in others[:5]:
            lines.append(f"  • {other.title} — {other.url}")
    return Response(
        [
            Reply(
                text="\n".join(lines),
                piece_id=piece.id,
                kind="long",
                actions=[Action("Follow author", "follow", piece.id)],
            )
        ]
    )


@command("similar", "/similar (reply)", "Related pieces", reply_action=True, group="Replies")
async def similar(request: Request, services: Services) -> Response:
    piece = await piece_from_request(request, services)
    terms = distinctive_terms(piece.title + " " + (piece.standfirst or "") + " " + piece.text)
    chat = await current_chat(request, services)
    related = await services.store.similar_pieces(piece.id, terms, 3, chat_id=chat.id)
    if not related:
        return Response([Reply(text="I know no related pieces yet.", piece_id=piece.id)])
    return Response(await posts_for(related, chat, services))


@command(
    "source",
    "/source (reply)",
    "Link, outlet and publication time of a post",
    reply_action=True,
    group="Replies",
)
async def source(request: Request, services: Services) -> Response:
    piece = await piece_from_request(request, services)
    lines = [piece.title, piece.url]
    if piece.outlet:
        lines.append(f"Outlet: {piece.outlet}")
    lines.append(
        "Published: "
        + (piece.published.strftime("%Y-%m-%d %H:%M UTC") if piece.published else "not stated")
    )
    for outlet, url in piece.also_in:
        lines.append(f"Also in {outlet or 'another outlet'}: {url}")
    if piece.summary_method:
        lines.append(f"Summary: {piece.summary_method}")
    return Response([Reply(text="\n".join(lines), piece_id=piece.id)])


@command(
    "follow",
    "/follow (reply)",
    "Subscribe this chat to the post's author",
    reply_action=True,
    group="Replies",
    scope="chat_admin",
)
async def follow(request: Request, services: Services) -> Response:
    piece = await piece_from_request(request, services)
    if not piece.authors:
        return Response.error("This piece names no author to follow.")
    chat = await current_chat(request, services)
    name = piece.authors[0]
    try:
        sub = await services.store.add_subscription(
            chat.id,
            "author",
            name,
            created_by=request.user_key,
            limit=await max_subscriptions(services),
        )
    except SubscriptionExists:
        return Response.text(f"This chat already follows {name}.")
    except LimitReached as exc:
        return Response.error(str(exc))
    return Response.text(f"Following {name} here (subscription #{sub.id}).")


def distinctive_terms(text: str, count: int = 8) -> list[str]:
    """The most frequent longer words, a cheap stand-in for keywords."""
    words = [w.casefold() for w in _WORD.findall(text)]
    counts = Counter(w for w in words if w not in _STOP)
    return [w for w, _ in counts.most_common(count)]
