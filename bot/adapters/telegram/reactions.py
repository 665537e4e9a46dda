"""👍/👎 reactions on the bot's posts as the member's votes (reactions that teach).

Telegram tells a bot about reactions in private chats and in groups where it is an
administrator (``message_reaction`` in ``allowed_updates``); elsewhere posts carry 👍/👎
buttons instead (``TelegramSender.vote_buttons``).
"""

from __future__ import annotations

from typing import Any

from telegram import MessageReactionUpdated

from bot.adapters.telegram.sender import PLATFORM
from bot.messages import Request
from bot.types import ChatKind

# Reactions that count as votes (any other emoji is ignored).
VOTES = {"👍": 1, "👎": -1}


def votes_in(reactions: tuple[Any, ...]) -> set[int]:
    """The votes among a message's reactions (emoji 👍 = 1, 👎 = -1; others are ignored)."""
    return {VOTES[e] for r in reactions if (e := getattr(r, "emoji", None)) in VOTES}


def vote_change(old: set[int], new: set[int]) -> int | None:
    """The member's vote after a reaction change: the vote just added, the one still there,
    0 when none is left, or None when no vote came or went."""
    if old == new:
        return None
    added = new - old
    if added:
        return max(added)  # both at once (rare): a like wins
    if new:
        return max(new)
    return 0


def reaction_request(change: MessageReactionUpdated, kind: ChatKind) -> Request | None:
    """The /like, /dislike (or ``off``) a reaction change stands for; None when it is no vote
    or anonymous (no member to count once)."""
    if change.user is None:
        return None
    vote = vote_change(votes_in(change.old_reaction), votes_in(change.new_reaction))
    if vote is None:
        return None
    tg_chat = change.chat
    return Request(
        platform=PLATFORM,
        chat_id=str(tg_chat.id),
        user_id=str(change.user.id),
        command="like" if vote >= 0 else "dislike",
        args="off" if vote == 0 else "",
        chat_kind=kind,
        chat_title=tg_chat.title or tg_chat.username or tg_chat.first_name,
        reply_to_message_id=str(change.message_id),
    )
