"""Reactions that teach: /like and /dislike (reply; 👍 👎 buttons on Discord, message
reactions on Telegram) record the chat's taste; ``/settings relevance on`` then holds back
pieces clearly closer to what it disliked (``bot.delivery.relevance``)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from bot.delivery.relevance import MIN_VOTES
from bot.errors import UsageError
from bot.messages import Reply, Request, Response
from handlers.common import current_chat, piece_from_request
from handlers.registry import command

if TYPE_CHECKING:
    from bot.services import Services

log = logging.getLogger(__name__)

TAKE_BACK = ("off", "undo", "remove")


async def _vote(request: Request, services: Services, vote: int) -> Response:
    if not request.user_id:
        raise UsageError("I can't tell who is voting here (an anonymous post).")
    arg = request.args.strip().casefold()
    if arg in TAKE_BACK:
        vote = 0
        request.args = ""
    piece = await piece_from_request(request, services)
    chat = await current_chat(request, services)
    await services.store.record_vote(chat.id, piece.id, request.user_id, vote)
    likes, dislikes = await services.store.piece_votes(chat.id, piece.id)
    votes, _ = await services.store.chat_taste(chat.id, limit=1)
    log.info("%s voted %+d on piece %s in chat %s", request.user_key, vote, piece.id, chat.id)
    said = {1: "👍 noted", -1: "👎 noted", 0: "Your vote is taken back"}[vote]
    text = f"{said} for “{piece.title}” (here: {likes} 👍, {dislikes} 👎)."
    if chat.settings.relevance and votes < MIN_VOTES:
        text += f" Relevance starts after {MIN_VOTES} votes; this chat has {votes}."
    return Response([Reply(text=text, piece_id=piece.id)])


@command(
    "like",
    "/like (reply) [off]",
    "More like this post here (one vote per member; off takes it back)",
    reply_action=True,
    group="Replies",
)
async def like(request: Request, services: Services) -> Response:
    return await _vote(request, services, 1)


@command(
    "dislike",
    "/dislike (reply) [off]",
    "Less like this post here (one vote per member; off takes it back)",
    reply_action=True,
    group="Replies",
)
async def dislike(request: Request, services: Services) -> Response:
    return await _vote(request, services, -1)
