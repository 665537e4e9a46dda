"""The terminal chat: stdin lines become Requests, Responses and posts are printed to stdout.

Works interactively and piped (``printf '/latest 2\n' | commentary-bot run --console``):
at end of input it lets pending posts go out, then returns.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import sys
import textwrap
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TextIO

from bot.delivery.sender import PlatformLimits
from bot.messages import PIECE_ACTIONS, PieceCard, Reply, Request, Response
from bot.types import Chat

if TYPE_CHECKING:
    from bot.core import Core

log = logging.getLogger(__name__)

CHAT_ID = "terminal"
USER_ID = "operator"
QUIT = ("/quit", "/exit")
# The highest message number shown, kept so ids go on across sessions even when a session
# posted nothing that replies could refer to (only pieces' message ids are stored).
LAST_ID_KEY = "console.last_message_number"
_REPLY = re.compile(r"^>\s*(m\d+)?\s*(/.*)$")
WIDTH = 78
IDLE_START = 0.5  # seconds without a first command before ``run``'s after_first runs anyway


def render_card(card: PieceCard) -> list[str]:
    lines = [card.title]
    if card.byline:
        lines.append(card.byline)
    if card.summary:
        lines.extend(textwrap.wrap(card.summary, WIDTH - 4) or [""])
        if card.method_note:
            lines.append(f"({card.method_note})")
    if card.also_in:
        lines.append("also in: " + ", ".join(o or u for o, u in card.also_in))
    lines.append(card.url)
    return lines


def render_reply(reply: Reply, message_id: str | None = None) -> str:
    tag = f"[{message_id}] " if message_id else ""
    if reply.card is not None:
        body = render_card(reply.card)
        if reply.text:
            body.append(reply.text)
        out = [tag + body[0]] + ["    " + line for line in body[1:]]
        if reply.actions:
            # Every reply command works on a post; buttons are only a shortcut elsewhere.
            # /original only means something under a translated post.
            names = ", ".join(
                f"/{a.command}"
                for a in PIECE_ACTIONS
                if a.command != "original" or reply.card.translated_into
            )
            out.append(f"    (reply with: >{message_id or ''} {names})")
        return "\n".join(out)
    prefix = "! " if reply.kind == "error" else ""
    return tag + prefix + reply.text


class ConsoleSender:
    """Posts to the terminal; it has no platform limits worth pacing for."""

    platform = "console"
    limits = PlatformLimits(
        global_per_second=1000.0, per_chat_per_second=1000.0, per_group_per_minute=60000.0
    )

    def __init__(self, console: ConsoleAdapter) -> None:
        self.console = console

    async def send_post(self, chat: Chat, post: Reply) -> str:
        message_id = self.console.show(post)
        await self.console.remember_numbering()
        return message_id

    async def edit_post(self, chat: Chat, message_id: str, post: Reply) -> None:
        """A terminal cannot change what it printed: the post is shown again under its id."""
        text = render_reply(post, message_id).replace(
            f"[{message_id}]", f"[{message_id}, edited]", 1
        )
        self.console.stdout.write(text + "\n")
        self.console.stdout.flush()


class ConsoleAdapter:
    def __init__(
        self, core: Core, *, stdin: TextIO | None = None, stdout: TextIO | None = None
    ) -> None:
        self.core = core
        self.stdin = stdin or sys.stdin
        self.stdout = stdout or sys.stdout
        self._ids = itertools.count(1)
        self._last_number = 0
        self.last_post: str | None = None
        self.sender = ConsoleSender(self)
        # The person at the terminal runs the bot: they are its owner here.
        core.services.extra_owners.add(f"console:{USER_ID}")

    def show(self, reply: Reply) -> str:
        self._last_number = next(self._ids)
        message_id = f"m{self._last_number}"
        if reply.piece_id or reply.card is not None:
            self.last_post = message_id
        self.stdout.write(render_reply(reply, message_id) + "\n")
        self.stdout.flush()
        return message_id

    async def chat(self) -> Chat:
        """The terminal's chat; numbering goes on from earlier runs so old ids never collide."""
        known = await self.core.message_ids("console", CHAT_ID)
        numbers = [int(m[1:]) for m in known if m.startswith("m") and m[1:].isdigit()]
        shown = await self.core.services.store.get_value(LAST_ID_KEY)
        if shown and shown.isdigit():
            numbers.append(int(shown))
        self._last_number = max(numbers, default=0)
        self._ids = itertools.count(self._last_number + 1)
        return await self.core.chat_seen("console", CHAT_ID, "private", title="terminal")

    async def remember_numbering(self) -> None:
        await self.core.services.store.set_value(LAST_ID_KEY, str(self._last_number))

    def request_for(self, line: str) -> Request | None:
        line = line.strip()
        reply_to = None
        match = _REPLY.match(line)
        if match:
            reply_to = match.group(1) or self.last_post
            line = match.group(2)
        if not line.startswith("/"):
            return None
        head, _, args = line[1:].partition(" ")
        return Request(
            platform="console",
            chat_id=CHAT_ID,
            user_id=USER_ID,
            command=head.split("@")[0].lower(),
            args=args.strip(),
            chat_kind="private",
            chat_title="terminal",
            is_chat_admin=True,
            reply_to_message_id=reply_to,
        )

    async def answer(self, line: str) -> None:
        if not line.strip():
            return
        request = self.request_for(line)
        if request is None:
            self.stdout.write("! Commands start with /. Send /help for the list.\n")
            self.stdout.flush()
            return
        response: Response = await self.core.handle(request)
        sent = [
            (self.show(reply), reply.piece_id or (reply.card.piece_id if reply.card else None))
            for reply in response.messages
        ]
        await self.core.record_messages("console", CHAT_ID, sent)
        await self.remember_numbering()
        worker = self.core.workers.get("console")
        if worker is not None:
            # Show posts that this command caused (e.g. /poll) before reading the next line.
            await worker.flush(timeout=5.0)

    async def run(
        self,
        *,
        interactive: bool | None = None,
        after_first: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Read commands until end of input (or until cancelled).

        ``after_first`` runs once: after the first command is answered, when input ends, or
        once the chat has waited ``IDLE_START`` seconds for a first command (a person typing,
        a pipe kept open), whichever comes first.
        """
        interactive = self.stdin.isatty() if interactive is None else interactive
        lines = self._reader()
        pending = after_first
        while True:
            if interactive:
                self.stdout.write("> ")
                self.stdout.flush()
            waiting = asyncio.ensure_future(lines.get())
            try:
                if pending is not None:
                    done, _ = await asyncio.wait({waiting}, timeout=IDLE_START)
                    if not done:  # no first command yet: do not wait for one
                        await pending()
                        pending = None
                line = await waiting
            finally:
                waiting.cancel()  # when cancelled itself (a no-op once a line came)
            if line is None or line.strip().casefold() in QUIT:
                break
            try:
                await self.answer(line)
            except Exception:  # one bad line must not end the session
                log.exception("console command failed")
                self.stdout.write("! Something went wrong; it has been logged.\n")
            if pending is not None:
                await pending()
                pending = None
        if pending is not None:
            await pending()

    def _reader(self) -> asyncio.Queue[str | None]:
        """Lines from stdin via a daemon thread, so Ctrl-C never waits for a pending read."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()

        def read() -> None:
            try:
                for line in iter(self.stdin.readline, ""):
                    loop.call_soon_threadsafe(queue.put_nowait, line)
            except (OSError, ValueError, RuntimeError):
                pass
            try:
                loop.call_soon_threadsafe(queue.put_nowait, None)
            except RuntimeError:
                pass  # the loop is already closed: we are shutting down

        threading.Thread(target=read, name="console-stdin", daemon=True).start()
        return queue
