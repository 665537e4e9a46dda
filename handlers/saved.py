"""Read later: /save (reply or button) keeps a piece in the person's own list; /saved shows it
privately; /unsave takes one out."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.errors import LimitReached, UsageError
from bot.messages import Reply, Request, Response, piece_byline
from handlers.common import piece_from_request, plural
from handlers.registry import command

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

MAX_SAVED = 200  # pieces in one person's list
SHOWN = 30  # /saved lists at most this many, the last saved first


def _who(request: Request) -> str:
    """The person's id; saving needs one (an anonymous channel post has none)."""
    if not request.user_id:
        raise UsageError("I can't tell who you are here; use /save in a private chat with me.")
    return request.user_id


@command(
    "save",
    "/save (reply)",
    "Keep a post's piece in your own read-later list",
    reply_action=True,
    group="Replies",
)
async def save(request: Request, services: Services) -> Response:
    user = _who(request)
    piece = await piece_from_request(request, services)
    try:
        added = await services.store.add_saved(request.platform, user, piece.id, limit=MAX_SAVED)
    except LimitReached as exc:
        return Response(
            [Reply(text=f"Not saved: {exc}. Remove some with /unsave.", kind="error")],
            private=True,
        )
    if added:
        log.info("%s saved piece %s", request.user_key, piece.id)
        text = f"Saved “{piece.title}” for later. /saved lists your pieces."
    else:
        text = f"“{piece.title}” is already in your list (/saved)."
    return Response([Reply(text=text, piece_id=piece.id)], private=True)


@command(
    "unsave",
    "/unsave (reply) | /unsave <#id>",
    "Take a piece out of your read-later list",
    reply_action=True,
    group="Replies",
)
async def unsave(request: Request, services: Services) -> Response:
    user = _who(request)
    piece = await piece_from_request(request, services)
    if await services.store.remove_saved(request.platform, user, piece.id):
        return Response.text(f"Removed “{piece.title}” from your list.")
    return Response.error(f"“{piece.title}” is not in your list (/saved shows it).")


@command("saved", "/saved", "Your read-later list (answered privately)", group="Reading")
async def saved(request: Request, services: Services) -> Response:
    return await saved_list(request, services)


async def saved_list(request: Request, services: Services) -> Response:
    """The person's list as one private message: title, byline, link, and the piece id."""
    user = _who(request)
    total = await services.store.count_saved(request.platform, user)
    if total == 0:
        return Response(
            [
                Reply(
                    text="Your read-later list is empty. Reply /save to a post, "
                    "or press its Save button."
                )
            ],
            private=True,
        )
    pieces = await services.store.list_saved(request.platform, user, SHOWN)
    lines = [f"Your read-later list ({plural(total, 'piece')}, the last saved first):"]
    for piece in pieces:
        block = f"• {piece.title} (#{piece.id})"
        line = piece_byline(piece)
        if line:
            block += f"\n  {line}"
        block += f"\n  {piece.url}"
        lines.append(block)
    if total > len(pieces):
        lines.append(f"… and {total - len(pieces)} older ones.")
    lines.append("Take one out with /unsave #id (or reply /unsave to its post).")
    return Response([Reply(text="\n".join(lines), kind="long")], private=True)
