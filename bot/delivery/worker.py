"""One delivery worker per platform: claim due outbox rows, send them paced, mark each at once.

The cycle is claim -> send -> mark. A row is marked sent the moment the platform answers,
so a crash can repeat at most the messages in flight; rows left 'sending' by a crash go
back to 'pending' when the worker starts.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from bot.delivery.corrections import corrected_post
from bot.delivery.errors import ChatGone, ChatMigrated, DeliveryError, PermanentError, RetryLater
from bot.delivery.pacing import Pacer, digest_due, quiet_until
from bot.delivery.relevance import TasteCache, judge
from bot.delivery.sender import Sender
from bot.messages import Reply, digest_for, digest_length, held_back_text, post_for
from bot.metrics import Metrics
from bot.types import Chat, Correction, Delivery, Piece, Translation

if TYPE_CHECKING:
    from bot.translation import Translator
    from storage import Storage

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
MAX_IN_FLIGHT = 8
STANDBY_SECONDS = 2.0  # how often a standby sender tries the lock, and the holder checks it


class Election(Protocol):
    """A lock one process holds at a time (storage's ``session_lock``)."""

    async def acquire(self) -> bool: ...
    async def held(self) -> bool: ...
    async def release(self) -> None: ...


def retry_delay(attempts: int) -> float:
    return min(30.0 * (2**attempts), 3600.0)


class DeliveryWorker:
    def __init__(
        self,
        store: Storage,
        sender: Sender,
        *,
        idle_seconds: float = 1.0,
        metrics: Metrics | None = None,
        election: Election | None = None,
        translator: Translator | None = None,
    ) -> None:
        self.store = store
        self.translator = translator
        # Several processes able to send for one bot token: the one holding this lock sends,
        # the others stand by (one platform rate budget per token).
        self.election = election
        self.standby = election is not None
        self.metrics = metrics or Metrics()
        self.sender = sender
        self.platform = sender.platform
        self.pacer = Pacer(sender.limits)
        self.idle_seconds = idle_seconds
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None
        self._in_flight: set[asyncio.Task] = set()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self.tastes = TasteCache()  # chats' votes, for relevance (read once per fan-out)
        self.sent = 0

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"delivery-{self.platform}")

    def wake(self) -> None:
        self._wake.set()

    @property
    def running(self) -> bool:
        """Started and its loop has not ended (health checks)."""
        return self._task is not None and not self._task.done()

    async def flush(self, timeout: float = 5.0) -> None:
        """Wait until nothing is due or in flight (the terminal chat shows posts in order)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            depth = await self.store.count_due(self.platform)
            if depth == 0 and not self._in_flight:
                return
            self.wake()
            await asyncio.sleep(0.02)

    async def stop(self, drain_seconds: float = 0.0) -> None:
        """Stop claiming; wait for in-flight sends (and up to ``drain_seconds`` for due rows)."""
        if drain_seconds > 0:
            await self.flush(drain_seconds)
        self._stopping = True
        self._wake.set()
        if self._task:
            await self._task
        if self._in_flight:
            await asyncio.gather(*self._in_flight, return_exceptions=True)
        if self.election is not None:
            await self.election.release()  # a standby takes over at once

    async def _elected(self) -> bool:
        """Wait until this process holds the sender lock (True), or stop was asked (False)."""
        assert self.election is not None
        announced = False
        while not self._stopping:
            if await self.election.acquire():
                if self.standby:
                    log.info("delivery %s: this process sends now", self.platform)
                self.standby = False
                return True
            if not announced:
                log.info("delivery %s: another process sends; standing by", self.platform)
                announced = True
            self.standby = True
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), STANDBY_SECONDS)
            except TimeoutError:
                pass
        return False

    async def _run(self) -> None:
        if self.election is not None and not await self._elected():
            return
        await self.store.reset_in_flight(self.platform)
        await self.store.reset_corrections_in_flight(self.platform)
        checked = asyncio.get_running_loop().time()
        while not self._stopping:
            if self.election is not None:
                now = asyncio.get_running_loop().time()
                if now - checked >= STANDBY_SECONDS:
                    checked = now
                    if not await self.election.held():
                        log.warning("delivery %s: lost the sender lock", self.platform)
                        if self._in_flight:
                            await asyncio.gather(*self._in_flight, return_exceptions=True)
                        if not await self._elected():
                            break
            try:
                worked = await self.run_once()
            except Exception:
                log.exception("delivery worker %s: round failed", self.platform)
                worked = False
            if not worked and not self._stopping:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), self.idle_seconds)
                except TimeoutError:
                    pass

    async def run_once(self) -> bool:
        """Send what is due now; return whether anything was claimed."""
        await self._send_notices()
        await self._send_digests()
        await self._send_held_notes()
        corrected = await self._send_corrections()
        claimed = await self.store.claim_due(self.platform, limit=50)
        # A fan-out claims many rows of one piece: read each piece once per batch.
        pieces: dict[int, Piece | None] = {}
        for delivery, chat in claimed:
            if self._stopping:
                await self.store.retarget_delivery(delivery.id)
                continue
            until = quiet_until(chat.settings)
            if until is not None:
                await self.store.postpone(delivery.id, until, "quiet hours")
                continue
            wait = self.pacer.ready_at(chat) - self.pacer.clock()
            if wait > 2.0:
                # This chat is busy; let other chats go first instead of blocking on it.
                when = datetime.now(UTC) + timedelta(seconds=wait)
                await self.store.postpone(delivery.id, when, "paced")
                continue
            await self._slots.acquire()
            delay = self.pacer.reserve(chat)
            if delay > 0:
                await asyncio.sleep(delay)
            if delivery.piece_id not in pieces:
                pieces[delivery.piece_id] = await self.store.get_piece(delivery.piece_id)
            task = asyncio.create_task(self._deliver(delivery, chat, pieces[delivery.piece_id]))
            self._in_flight.add(task)
            task.add_done_callback(self._done)
        return bool(claimed) or corrected

    async def _send_corrections(self) -> bool:
        """Bring posts of pieces that changed at their source up to date: edit each in place,
        or post it again where the chat asked for that (or the platform cannot edit)."""
        claimed = await self.store.claim_corrections(self.platform)
        for correction, chat in claimed:
            if self._stopping:
                await self.store.finish_correction(correction.id, error="stopping", retry_in=0)
                continue
            await self._correct(correction, chat)
        return bool(claimed)

    async def _correct(self, correction: Correction, chat: Chat) -> None:
        piece = await self.store.get_piece(correction.piece_id)
        if piece is None:
            await self.store.finish_correction(correction.id, error="piece deleted")
            return
        moment = correction.created_at or datetime.now(UTC)
        translated = None
        if chat.settings.translate and self.translator is not None:
            translated = await self.translator.translate(
                piece, chat.settings.translate, chat.settings.length
            )
        post = corrected_post(piece, chat.settings, moment, correction.reason, translated)
        delay = self.pacer.reserve(chat)  # an edit spends the same budget as a post
        if delay > 0:
            await asyncio.sleep(delay)
        # Senders that can edit implement ``Editor``; the others post the piece again.
        edit: Callable[[Chat, str, Reply], Awaitable[None]] | None = getattr(
            self.sender, "edit_post", None
        )
        started = time.monotonic()
        outcome = "corrected"
        try:
            if chat.settings.corrections == "repost" or edit is None:
                message_id = await self.sender.send_post(chat, post)
                await self.store.record_message(
                    self.platform, chat.platform_chat_id, message_id, piece.id
                )
            else:
                await edit(chat, correction.message_id, post)
        except RetryLater as exc:
            outcome = "rate_limited"
            self.pacer.back_off(exc.seconds)
            await self.store.finish_correction(
                correction.id, error="rate limited", retry_in=exc.seconds
            )
        except ChatGone as exc:
            outcome = "gone"
            await self.store.set_chat_active(
                self.platform, chat.platform_chat_id, False, exc.reason
            )
            await self.store.finish_correction(correction.id, error=exc.reason, retry_in=0)
        except PermanentError as exc:
            outcome = "failed"
            log.info("correction %s not made: %s", correction.id, exc)
            await self.store.finish_correction(correction.id, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - network trouble or an adapter bug
            outcome = "retry"
            error = str(exc) or exc.__class__.__name__
            if correction.attempts + 1 >= MAX_ATTEMPTS:
                outcome = "failed"
                await self.store.finish_correction(correction.id, error=error)
            else:
                await self.store.finish_correction(
                    correction.id, error=error, retry_in=retry_delay(correction.attempts)
                )
        else:
            await self.store.finish_correction(correction.id)
            log.info("piece %s corrected in chat %s (%s)", piece.id, chat.id, correction.reason)
        finally:
            self.metrics.observe_send(self.platform, outcome, time.monotonic() - started)

    def _done(self, task: asyncio.Task) -> None:
        self._in_flight.discard(task)
        self._slots.release()

    async def _deliver(self, delivery: Delivery, chat: Chat, piece: Piece | None) -> None:
        if piece is None:
            await self.store.mark_failed(delivery.id, "piece deleted")
            return
        if chat.settings.relevance:
            verdict = await judge(self.store, chat, piece, self.tastes)
            if verdict is not None and verdict.hold:
                # Listed in the daily held-back note: held back, never dropped silently.
                await self.store.hold_back(chat.id, [(piece.id, verdict.reason)], noted=False)
                self.metrics.observe_send(self.platform, "held")
                log.info("piece %s held back for chat %s: %s", piece.id, chat.id, verdict.reason)
                return
        post = post_for(piece, chat.settings.length)
        if chat.settings.translate and self.translator is not None:
            translated = await self.translator.translate(
                piece, chat.settings.translate, chat.settings.length
            )
            if translated is not None:
                post = post_for(piece, chat.settings.length, translation=translated)
        started = time.monotonic()
        outcome = "retry"
        try:
            message_id = await self.sender.send_post(chat, post)
        except RetryLater as exc:
            outcome = "rate_limited"
            log.info("%s asked to wait %.1fs (chat %s)", self.platform, exc.seconds, chat.id)
            self.pacer.back_off(exc.seconds)
            await self.store.postpone(
                delivery.id,
                datetime.now(UTC) + timedelta(seconds=exc.seconds),
                "rate limited",
                retry=True,
            )
        except ChatMigrated as exc:
            outcome = "migrated"
            log.info("chat %s migrated to %s", chat.platform_chat_id, exc.new_chat_id)
            await self.store.migrate_chat(self.platform, chat.platform_chat_id, exc.new_chat_id)
            await self.store.retarget_delivery(delivery.id)
            self.wake()
        except ChatGone as exc:
            outcome = "gone"
            log.warning("chat %s is gone: %s", chat.platform_chat_id, exc.reason)
            await self.chat_gone(chat, exc.reason)
        except PermanentError as exc:
            outcome = "failed"
            log.warning("delivery %s failed for good: %s", delivery.id, exc)
            await self.store.mark_failed(delivery.id, str(exc))
        except (DeliveryError, OSError, TimeoutError) as exc:
            outcome = await self._retry(delivery, str(exc) or exc.__class__.__name__)
        except Exception as exc:  # an adapter bug must not kill the worker
            log.exception("delivery %s: unexpected error", delivery.id)
            outcome = await self._retry(delivery, f"unexpected: {exc.__class__.__name__}")
        else:
            outcome = "sent"
            await self.store.mark_sent(delivery.id, message_id)
            self.sent += 1
        finally:
            self.metrics.observe_send(self.platform, outcome, time.monotonic() - started)

    async def chat_gone(self, chat: Chat, reason: str) -> None:
        """The bot cannot post there any more. A topic or thread falls back to its chat's
        general place (its subscriptions and waiting posts move there, and the chat is told);
        anything else is marked inactive, its subscriptions kept for when it comes back."""
        fallback = await self._fallback_for(chat)
        if fallback is None:
            await self.store.set_chat_active(self.platform, chat.platform_chat_id, False, reason)
            return
        moved = await self.store.fall_back(chat.id, fallback.id, reason)
        place = "topic" if chat.thread_id else "thread"
        name = f"“{chat.title}”" if chat.title else "of these posts"
        log.info("%s %s gone (%s): %d subscriptions to chat %s", place, chat.id, reason,
                 len(moved), fallback.id)  # fmt: skip
        await self.store.add_notice(
            fallback.id,
            f"For this chat's admins: the {place} {name} is closed, archived or deleted, so "
            f"its subscriptions post here now ({'; '.join(moved) or 'none'}). "
            f"/subscribe <source> {place} new makes a new one.",
        )
        self.wake()

    async def _fallback_for(self, chat: Chat) -> Chat | None:
        """The general place of a topic or thread (None for a chat that is not one)."""
        if chat.settings.fallback_chat_id is not None:
            found = await self.store.get_chat_by_id(chat.settings.fallback_chat_id)
            if found is not None and found.id != chat.id:
                return found
        if chat.thread_id:
            return await self.store.ensure_chat(
                chat.platform, chat.platform_chat_id, kind="group", title=None
            )
        return None

    async def _retry(self, delivery: Delivery, error: str) -> str:
        """Schedule another attempt, or give up after ``MAX_ATTEMPTS``; return the outcome."""
        if delivery.attempts + 1 >= MAX_ATTEMPTS:
            log.warning(
                "delivery %s failed after %d attempts: %s",
                delivery.id,
                delivery.attempts + 1,
                error,
            )
            await self.store.mark_failed(delivery.id, error)
            return "failed"
        await self.store.mark_retry(delivery.id, error, retry_delay(delivery.attempts))
        return "retry"

    async def _send_notices(self) -> None:
        for _notice_id, chat, text in await self.store.claim_notices(self.platform):
            try:
                await self.sender.send_post(chat, Reply(text=text))
            except ChatGone as exc:
                await self.store.set_chat_active(
                    self.platform, chat.platform_chat_id, False, exc.reason
                )
            except Exception as exc:  # a notice is best effort; never stop the worker
                log.info("notice to chat %s not sent: %s", chat.id, exc)

    async def _send_digests(self) -> None:
        """Each chat's digest when its time comes, or at once when someone asked (/digest)."""
        for chat in await self.store.digest_chats():
            if chat.platform != self.platform:
                continue
            asked = await self.store.get_value(digest_request_key(chat.id)) is not None
            last = await self.store.get_value(f"digest.last.{chat.id}")
            day = digest_due(chat.settings, last)
            if (day is None and not asked) or quiet_until(chat.settings) is not None:
                continue
            if await self.send_digest(chat) and day is not None:
                await self.store.set_value(f"digest.last.{chat.id}", day)

    async def send_digest(self, chat: Chat) -> int:
        """Post the chat's held pieces as one digest; mark them sent once it is posted.

        Returns how many pieces it carried (0 when nothing was held or the post failed; the
        pieces stay held and the next round tries again: at least once, like every post).
        """
        piece_ids = await self.store.digest_pieces(chat.id)
        holds = await self.store.held_pieces(chat.id)  # held back since the last digest
        if not piece_ids and not holds:
            await self.store.set_value(digest_request_key(chat.id), None)
            return 0
        pieces = [p for p in [await self.store.get_piece(i) for i in piece_ids] if p is not None]
        if chat.settings.relevance:
            kept = []
            for piece in pieces:
                verdict = await judge(self.store, chat, piece, self.tastes)
                if verdict is not None and verdict.hold:
                    holds.append((piece.id, verdict.reason))
                else:
                    kept.append(piece)
            pieces = kept
        held = [p for p in [await self.store.get_piece(i) for i, _ in holds] if p is not None]
        try:
            digest = Reply(kind="long")
            if pieces:
                translations = await self._translations(chat, pieces)
                digest = digest_for(pieces, chat.settings.length, translations)
            if held:
                # Nothing is dropped silently: what relevance held back is listed with it.
                digest.text = "\n\n".join(t for t in (digest.text, held_back_text(held)) if t)
            message_id = await self.sender.send_post(chat, digest)
        except ChatGone as exc:
            await self.store.set_chat_active(
                self.platform, chat.platform_chat_id, False, exc.reason
            )
            return 0
        except Exception as exc:
            log.info("digest for chat %s not sent (will retry): %s", chat.id, exc)
            return 0
        await self.store.mark_digest_sent(chat.id, [p.id for p in pieces], message_id)
        if holds:
            await self.store.hold_back(chat.id, holds, noted=True)
        await self.store.set_value(digest_request_key(chat.id), None)
        return len(pieces) + len(holds)

    async def _send_held_notes(self) -> None:
        """Chats in instant mode get one note a day (at their digest time) listing the pieces
        relevance held back; digest chats see them in their digest."""
        for chat in await self.store.held_chats(self.platform):
            if chat.settings.mode == "digest" or quiet_until(chat.settings) is not None:
                continue
            key = f"held.last.{chat.id}"
            day = digest_due(chat.settings, await self.store.get_value(key))
            if day is None:
                continue
            holds = await self.store.held_pieces(chat.id)
            pieces = [p for p in [await self.store.get_piece(i) for i, _ in holds] if p]
            if pieces:
                try:
                    await self.sender.send_post(
                        chat, Reply(text=held_back_text(pieces), kind="long")
                    )
                except ChatGone as exc:
                    await self.store.set_chat_active(
                        self.platform, chat.platform_chat_id, False, exc.reason
                    )
                    continue
                except Exception as exc:  # tried again next round
                    log.info("held-back note for chat %s not sent: %s", chat.id, exc)
                    continue
            await self.store.hold_back(chat.id, holds, noted=True)
            await self.store.set_value(key, day)

    async def _translations(self, chat: Chat, pieces: list[Piece]) -> dict[int, Translation]:
        """The digest's pieces in the chat's translation language (those that could be had)."""
        if not chat.settings.translate or self.translator is None:
            return {}
        found = {}
        for piece in pieces:
            made = await self.translator.translate(
                piece, chat.settings.translate, digest_length(chat.settings.length)
            )
            if made is not None:
                found[piece.id] = made
        return found


def digest_request_key(chat_id: int) -> str:
    """The key/value mark that asks the worker for a chat's digest now (set by /digest)."""
    return f"digest.asap.{chat_id}"
