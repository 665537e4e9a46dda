"""A small fake of the Telegram Bot API on 127.0.0.1 for the real python-telegram-bot.

PTB reaches it through ``ApplicationBuilder().base_url(fake.base_url)``; the token is the path
segment after ``/bot`` exactly as on api.telegram.org. The fake serves only the methods the bot
uses, but behaves like the real server where the bot's correctness depends on it:

* 400 for text over 4,096 characters (counted after entity parsing, in UTF-16 units), for
  malformed HTML (unknown tags, unbalanced tags, a bare ``<`` or ``&``), for callback data over
  64 bytes, and for edits that change nothing;
* 403 when a user blocked the bot or the bot was removed from a group or channel;
* 429 with ``parameters.retry_after`` when the documented limits are exceeded (30 messages/s
  overall, ~1/s per chat with a small burst, 20/min per group or channel; see ``FakeLimits``);
* 400 with ``parameters.migrate_to_chat_id`` for a group that was upgraded to a supergroup.

Every sent or edited message is recorded (``fake.sent``) for assertions, and tests inject
updates (``push_command``, ``push_callback``, ``push_my_chat_member`` ...) which the bot
receives through ``getUpdates`` long polling (``allowed_updates`` is honoured).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200

# Tags Telegram's HTML parse mode accepts (https://core.telegram.org/bots/api#html-style).
ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
    "tg-emoji", "code", "pre", "blockquote",
}  # fmt: skip
NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}

_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>"
)
_ATTR = re.compile(r"([a-zA-Z-]+)(?:\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>\"']+)))?")
_ENTITY = re.compile(r"&(?:(lt|gt|amp|quot)|#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6}));")

# Parameters PTB sends JSON-encoded (complex values) or as numbers / booleans.
_JSON_PARAMS = {
    "reply_markup", "link_preview_options", "reply_parameters", "allowed_updates", "commands",
    "scope", "entities",
}  # fmt: skip
_INT_PARAMS = {"message_id", "user_id", "message_thread_id", "offset", "limit", "timeout"}
_BOOL_PARAMS = {
    "disable_notification", "show_alert", "drop_pending_updates", "protect_content",
    "disable_web_page_preview",
}  # fmt: skip

UPDATE_KINDS = (
    "message", "edited_message", "channel_post", "edited_channel_post", "callback_query",
    "my_chat_member", "chat_member", "message_reaction",
)  # fmt: skip


class ApiError(Exception):
    """An error answer of the Bot API: HTTP status, description, optional parameters."""

    def __init__(self, status: int, description: str, parameters: dict | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


def utf16_len(text: str) -> int:
    """Telegram counts message length in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def parse_html(text: str) -> str:
    """Validate Telegram HTML like the server does and return the visible text.

    Raises ``ApiError(400, "Bad Request: can't parse entities: ...")`` on anything the real
    server rejects: unsupported tags, unbalanced tags, a bare ``<``, ``>`` is tolerated (the
    server accepts it), an ``&`` that does not start a supported entity.
    """
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char == "<":
            match = _TAG.match(text, pos)
            if not match:
                raise _entities_error(f"unsupported start tag at byte offset {pos}")
            closing, name, attrs = match.group(1), match.group(2).lower(), match.group(3)
            if name not in ALLOWED_TAGS:
                raise _entities_error(f'unsupported start tag "{name}" at byte offset {pos}')
            if closing:
                if not stack or stack[-1] != name:
                    raise _entities_error(
                        f'unmatched end tag at byte offset {pos}, expected "</{stack[-1]}>", '
                        f'found "</{name}>"'
                        if stack
                        else f"unexpected end tag at byte offset {pos}"
                    )
                stack.pop()
            else:
                _check_attrs(name, attrs, pos)
                if name == "blockquote" and "blockquote" in stack:
                    raise _entities_error("nested blockquotes are not allowed")
                stack.append(name)
            pos = match.end()
        elif char == "&":
            match = _ENTITY.match(text, pos)
            if not match:
                raise _entities_error(f"unsupported entity at byte offset {pos}")
            if match.group(1):
                out.append(NAMED_ENTITIES[match.group(1)])
            elif match.group(2):
                out.append(chr(int(match.group(2))))
            else:
                out.append(chr(int(match.group(3), 16)))
            pos = match.end()
        else:
            out.append(char)
            pos += 1
    if stack:
        raise _entities_error(f'can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def _check_attrs(name: str, attrs: str, pos: int) -> None:
    found = {
        m.group(1).lower(): next((g for g in m.groups()[1:] if g is not None), "")
        for m in _ATTR.finditer(attrs)
    }
    if name == "a":
        href = found.get("href")
        if not href:
            raise _entities_error(f"a tag without href at byte offset {pos}")
        if "<" in href:
            raise _entities_error(f"bad href at byte offset {pos}")
    for attr in found:
        allowed = {"a": {"href"}, "span": {"class"}, "blockquote": {"expandable"},
                   "code": {"class"}, "tg-emoji": {"emoji-id"}}.get(name, set())  # fmt: skip
        if attr not in allowed:
            raise _entities_error(f'unsupported attribute "{attr}" at byte offset {pos}')


def _entities_error(detail: str) -> ApiError:
    return ApiError(400, f"Bad Request: can't parse entities: {detail}")


@dataclass(frozen=True)
class FakeLimits:
    """Flood limits; ``scaled(k)`` multiplies every rate so benchmarks can go faster."""

    global_per_second: float = 30.0
    per_chat_per_second: float = 1.0
    per_chat_burst: int = 3  # the real server tolerates short bursts in one chat
    per_group_per_minute: float = 20.0
    enabled: bool = True

    def scaled(self, factor: float) -> FakeLimits:
        return replace(
            self,
            global_per_second=self.global_per_second * factor,
            per_chat_per_second=self.per_chat_per_second * factor,
            per_group_per_minute=self.per_group_per_minute * factor,
        )


class _Bucket:
    """A token bucket: ``capacity`` sends at once, refilled at ``rate`` per second."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, capacity)
        self.tokens = self.capacity
        self.stamp = time.monotonic()

    def wait_needed(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        # A tolerance of a tenth of a send: a client pacing at exactly the rate must not be
        # refused because one request travelled a few milliseconds faster than the last.
        return 0.0 if self.tokens >= 0.9 else (1.0 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1.0


@dataclass
class FakeUser:
    id: int
    first_name: str
    username: str | None = None
    is_bot: bool = False

    def to_dict(self) -> dict:
        data: dict[str, Any] = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        if self.username:
            data["username"] = self.username
        return data


@dataclass
class FakeChat:
    id: int
    type: str  # "private" | "group" | "supergroup" | "channel"
    title: str | None = None
    username: str | None = None
    first_name: str | None = None
    is_forum: bool = False
    bot_status: str = "member"  # the bot's membership: member/administrator/left/kicked/...
    bot_can_post: bool = True  # channel admins need can_post_messages
    blocked: bool = False  # a private chat whose user blocked the bot
    migrated_to: int | None = None
    members: dict[int, str] = field(default_factory=dict)  # user id -> status
    bot_can_manage_topics: bool = True  # forum groups: the admin right to create topics
    topics: dict[int, str] = field(default_factory=dict)  # thread id -> "open"/"closed"/...

    def to_dict(self) -> dict:
        data: dict[str, Any] = {"id": self.id, "type": self.type}
        for key in ("title", "username", "first_name"):
            if getattr(self, key):
                data[key] = getattr(self, key)
        if self.is_forum:
            data["is_forum"] = True
        return data


@dataclass
class SentMessage:
    """One message the bot sent (or its latest edit)."""

    chat_id: int
    message_id: int
    text: str  # as sent (HTML when parse_mode is HTML)
    plain: str  # the visible text
    parse_mode: str | None
    thread_id: int | None
    reply_markup: dict | None
    link_preview_options: dict | None
    reply_to_message_id: int | None
    payload: dict  # the Message object the fake returned
    edits: int = 0

    @property
    def buttons(self) -> list[dict]:
        """Inline buttons, row after row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [button for row in rows for button in row]


class FakeTelegramAPI:
    """The fake server. ``async with FakeTelegramAPI() as fake:`` starts it on a free port."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_username: str = "CommentaryBot",
        limits: FakeLimits | None = None,
        max_poll_seconds: float = 0.5,
    ) -> None:
        self.token = token
        self.bot = FakeUser(int(token.split(":")[0]), "Commentary", bot_username, is_bot=True)
        self.limits = limits or FakeLimits()
        self.max_poll_seconds = max_poll_seconds
        self.chats: dict[int, FakeChat] = {}
        self.users: dict[int, FakeUser] = {}
        self.sent: list[SentMessage] = []
        self.rejected: list[tuple[str, int, str]] = []  # (method, status, description)
        self.calls: list[tuple[str, dict]] = []
        self.callback_answers: dict[str, dict] = {}
        self.commands: dict[str, list[dict]] = {}  # scope (JSON) -> commands
        self.webhook: dict | None = None
        # (update_id, HTTP status or the error) for every webhook POST, retries included.
        self.webhook_deliveries: list[tuple[int, int | str]] = []
        self._webhook_queue: asyncio.Queue[dict] = asyncio.Queue()
        self._webhook_task: asyncio.Task[None] | None = None
        self.allowed_updates: list[str] | None = None
        self._updates: list[dict] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count] = {}
        self._callback_ids = itertools.count(1)
        self._pending_callbacks: set[str] = set()
        self._delivered_offset = 0
        self._injected: dict[str, list[ApiError]] = {}
        self._buckets: dict[tuple[str, int], _Bucket] = {}
        self._changed = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ----------------------------------------------------------------- lifecycle

    async def start(self) -> FakeTelegramAPI:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def stop(self) -> None:
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            await asyncio.gather(self._webhook_task, return_exceptions=True)
            self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegramAPI:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        """What goes in TELEGRAM_API_BASE_URL (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    # ----------------------------------------------------------------- world setup

    def add_user(
        self, user_id: int, first_name: str = "User", username: str | None = None
    ) -> FakeUser:
        user = FakeUser(user_id, first_name, username)
        self.users[user_id] = user
        return user

    def add_private(self, user: FakeUser) -> FakeChat:
        chat = FakeChat(user.id, "private", first_name=user.first_name, username=user.username)
        chat.members[user.id] = "member"
        self.chats[chat.id] = chat
        return chat

    def add_group(
        self,
        chat_id: int,
        title: str = "Group",
        *,
        supergroup: bool = True,
        forum: bool = False,
        admins: tuple[int, ...] = (),
        bot_status: str = "member",
    ) -> FakeChat:
        chat = FakeChat(
            chat_id, "supergroup" if supergroup else "group", title=title, is_forum=forum,
            bot_status=bot_status,
        )  # fmt: skip
        for admin in admins:
            chat.members[admin] = "administrator"
        self.chats[chat_id] = chat
        return chat

    def add_channel(
        self,
        chat_id: int,
        title: str = "Channel",
        username: str | None = None,
        *,
        admins: tuple[int, ...] = (),
        bot_status: str = "administrator",
    ) -> FakeChat:
        chat = FakeChat(chat_id, "channel", title=title, username=username, bot_status=bot_status)
        for admin in admins:
            chat.members[admin] = "administrator"
        self.chats[chat_id] = chat
        return chat

    def fail_next(
        self, method: str, status: int, description: str, parameters: dict | None = None
    ) -> None:
        """Make the next call of ``method`` fail with this error (once)."""
        self._injected.setdefault(method.lower(), []).append(
            ApiError(status, description, parameters)
        )

    # ----------------------------------------------------------------- injecting updates

    def push_update(self, kind: str, payload: dict) -> int:
        """Queue one update for getUpdates, or POST it to the webhook when one is set (as
        Telegram does: one at a time, again after a failure); returns its update_id."""
        update_id = next(self._update_ids)
        update = {"update_id": update_id, kind: payload}
        if self.webhook and self.webhook.get("url"):
            if self._webhook_task is None:
                self._webhook_task = asyncio.create_task(self._deliver_webhooks())
            self._webhook_queue.put_nowait(update)
            return update_id
        self._updates.append(update)
        self._notify()
        return update_id

    async def _deliver_webhooks(self, retries: int = 5) -> None:
        import aiohttp

        async with aiohttp.ClientSession() as session:
            while True:
                update = await self._webhook_queue.get()
                webhook = self.webhook or {}
                headers = {"Content-Type": "application/json"}
                if webhook.get("secret_token"):
                    headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
                for attempt in range(retries):
                    try:
                        async with session.post(
                            webhook["url"], data=json.dumps(update), headers=headers
                        ) as response:
                            status: int | str = response.status
                    except (aiohttp.ClientError, OSError) as exc:
                        status = type(exc).__name__
                    self.webhook_deliveries.append((update["update_id"], status))
                    if status == 200:
                        break
                    await asyncio.sleep(0.05 * (attempt + 1))

    def make_message(
        self,
        chat: FakeChat,
        user: FakeUser | None,
        text: str | None = None,
        *,
        thread_id: int | None = None,
        reply_to: SentMessage | dict | None = None,
        sender_chat: FakeChat | None = None,
        extra: dict | None = None,
    ) -> dict:
        """A message as Telegram sends it, with bot_command entities for a leading /command."""
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat.id),
            "date": int(time.time()),
            "chat": chat.to_dict(),
        }
        if user is not None:
            message["from"] = user.to_dict()
        if sender_chat is not None:
            message["sender_chat"] = sender_chat.to_dict()
        if text is not None:
            message["text"] = text
            match = re.match(r"/[A-Za-z0-9_]+(?:@[A-Za-z0-9_]+)?", text)
            if match:
                message["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": utf16_len(match.group(0))}
                ]
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            if chat.is_forum:
                message["is_topic_message"] = True
        if reply_to is not None:
            message["reply_to_message"] = (
                reply_to.payload if isinstance(reply_to, SentMessage) else reply_to
            )
        message.update(extra or {})
        return message

    def push_command(self, chat: FakeChat, user: FakeUser | None, text: str, **kwargs: Any) -> dict:
        """A user (or, with ``sender_chat``, an anonymous admin) sends ``text`` in ``chat``."""
        message = self.make_message(chat, user, text, **kwargs)
        self.push_update("message", message)
        return message

    def push_channel_post(self, chat: FakeChat, text: str, **kwargs: Any) -> dict:
        message = self.make_message(chat, None, text, sender_chat=chat, **kwargs)
        self.push_update("channel_post", message)
        return message

    def push_callback(self, user: FakeUser, message: SentMessage | dict, data: str) -> str:
        """A user presses a button (or a forged client sends ``data``) under ``message``."""
        query_id = str(next(self._callback_ids))
        payload = message.payload if isinstance(message, SentMessage) else message
        self._pending_callbacks.add(query_id)
        self.push_update(
            "callback_query",
            {
                "id": query_id,
                "from": user.to_dict(),
                "message": payload,
                "chat_instance": f"ci{payload['chat']['id']}",
                "data": data,
            },
        )
        return query_id

    def push_reaction(
        self, chat: FakeChat, user: FakeUser, message: SentMessage, old: list[str], new: list[str]
    ) -> bool:
        """A user changes their emoji reactions on ``message``; False when Telegram would not
        tell the bot (in groups and channels only administrators bots get reactions)."""
        if chat.type != "private" and chat.bot_status != "administrator":
            return False
        self.push_update(
            "message_reaction",
            {
                "chat": chat.to_dict(),
                "message_id": message.message_id,
                "user": user.to_dict(),
                "date": int(time.time()),
                "old_reaction": [{"type": "emoji", "emoji": e} for e in old],
                "new_reaction": [{"type": "emoji", "emoji": e} for e in new],
            },
        )
        return True

    def push_my_chat_member(
        self,
        chat: FakeChat,
        by: FakeUser,
        old: str,
        new: str,
        **rights: bool,
    ) -> None:
        """The bot's membership in ``chat`` changed from ``old`` to ``new`` (statuses)."""
        chat.bot_status = new
        if new == "kicked" and chat.type == "private":
            chat.blocked = True
        elif chat.type == "private" and new == "member":
            chat.blocked = False
        if "can_post_messages" in rights:
            chat.bot_can_post = rights["can_post_messages"]
        self.push_update(
            "my_chat_member",
            {
                "chat": chat.to_dict(),
                "from": by.to_dict(),
                "date": int(time.time()),
                "old_chat_member": member_dict(self.bot, old),
                "new_chat_member": member_dict(self.bot, new, **rights),
            },
        )

    # ----------------------------------------------------------------- waiting

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait until ``predicate()`` holds (checked after every change), or fail."""
        deadline = time.monotonic() + timeout
        while not predicate():
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for the fake Telegram API")
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 0.2))
            except TimeoutError:
                pass

    async def wait_sent(
        self, count: int = 1, chat_id: int | None = None, timeout: float = 5.0
    ) -> list[SentMessage]:
        """Wait for at least ``count`` messages (in ``chat_id``) and return them."""
        await self.wait_until(lambda: len(self.messages(chat_id)) >= count, timeout)
        return self.messages(chat_id)

    async def wait_answer(self, query_id: str, timeout: float = 5.0) -> dict:
        await self.wait_until(lambda: query_id in self.callback_answers, timeout)
        return self.callback_answers[query_id]

    def messages(self, chat_id: int | None = None) -> list[SentMessage]:
        return [m for m in self.sent if chat_id is None or m.chat_id == chat_id]

    # ----------------------------------------------------------------- HTTP

    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error(ApiError(401, "Unauthorized"))
        method = request.match_info["method"]
        handler = getattr(self, "_m_" + method.lower(), None)
        if handler is None:
            return _error(ApiError(404, "Not Found"))
        params = await _read_params(request)
        self.calls.append((method, params))
        try:
            injected = self._injected.get(method.lower())
            if injected:
                raise injected.pop(0)
            result = await handler(params)
        except ApiError as exc:
            self.rejected.append((method, exc.status, exc.description))
            self._notify()
            return _error(exc)
        self._notify()
        return web.json_response({"ok": True, "result": result})

    # ----------------------------------------------------------------- methods

    async def _m_getme(self, params: dict) -> dict:
        return self.bot.to_dict() | {
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    async def _m_getupdates(self, params: dict) -> list[dict]:
        offset = params.get("offset") or 0
        if "allowed_updates" in params:
            self.allowed_updates = params["allowed_updates"] or None
        if offset:
            # Like the real server, an offset confirms (forgets) every earlier update.
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        wait = min(float(params.get("timeout") or 0), self.max_poll_seconds)
        deadline = time.monotonic() + wait
        while True:
            ready = [u for u in self._updates if self._allowed(u)][: params.get("limit") or 100]
            # Disallowed updates are dropped, as Telegram never delivers them.
            self._updates = [u for u in self._updates if self._allowed(u)]
            left = deadline - time.monotonic()
            if ready or left <= 0:
                return ready
            changed = self._changed
            try:
                await asyncio.wait_for(changed.wait(), left)
            except TimeoutError:
                pass

    def _allowed(self, update: dict) -> bool:
        if not self.allowed_updates:
            return not ({"chat_member", "message_reaction"} & update.keys())
        return any(kind in update for kind in self.allowed_updates)

    async def _m_deletewebhook(self, params: dict) -> bool:
        self.webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    async def _m_setwebhook(self, params: dict) -> bool:
        self.webhook = params
        return True

    async def _m_setmycommands(self, params: dict) -> bool:
        commands = params.get("commands") or []
        if len(commands) > 100:
            raise ApiError(400, "Bad Request: too many commands")
        for item in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", item.get("command", "")):
                raise ApiError(400, "Bad Request: BOT_COMMAND_INVALID")
            if not 1 <= len(item.get("description", "")) <= 256:
                raise ApiError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands[json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)] = (
            commands
        )
        return True

    def commands_for(self, scope_type: str = "default") -> list[str]:
        """Command names registered for a scope type (``default``, ``all_chat_administrators``)."""
        for key, commands in self.commands.items():
            if json.loads(key).get("type") == scope_type:
                return [c["command"] for c in commands]
        return []

    async def _m_sendmessage(self, params: dict) -> dict:
        chat = self._chat(params.get("chat_id"))
        self._check_can_send(chat)
        thread_id = params.get("message_thread_id")
        topic = chat.topics.get(thread_id) if thread_id is not None else None
        if topic == "closed":
            raise ApiError(400, "Bad Request: TOPIC_CLOSED")
        if topic == "deleted":
            raise ApiError(400, "Bad Request: message thread not found")
        text = params.get("text") or ""
        plain = self._check_text(text, params.get("parse_mode"))
        markup = params.get("reply_markup")
        self._check_markup(markup)
        self._check_rate(chat)
        reply_to = (params.get("reply_parameters") or {}).get("message_id")
        message = self.make_message(
            chat,
            None if chat.type == "channel" else self.bot,
            None,
            thread_id=thread_id,
            sender_chat=chat if chat.type == "channel" else None,
        )
        message["text"] = plain
        if markup:
            message["reply_markup"] = markup
        record = SentMessage(
            chat_id=chat.id, message_id=message["message_id"], text=text, plain=plain,
            parse_mode=params.get("parse_mode"), thread_id=thread_id, reply_markup=markup,
            link_preview_options=params.get("link_preview_options"),
            reply_to_message_id=reply_to, payload=message,
        )  # fmt: skip
        self.sent.append(record)
        return message

    async def _m_createforumtopic(self, params: dict) -> dict:
        chat = self._chat(params.get("chat_id"))
        if not chat.is_forum:
            raise ApiError(400, "Bad Request: the chat is not a forum")
        if chat.bot_status != "administrator" or not chat.bot_can_manage_topics:
            raise ApiError(400, "Bad Request: not enough rights to create a topic")
        name = params.get("name") or ""
        if not 1 <= len(name) <= 128:
            raise ApiError(400, "Bad Request: TOPIC_NAME_INVALID")
        thread_id = self._next_message_id(chat.id)  # a topic's id is its first message's id
        chat.topics[thread_id] = "open"
        return {"message_thread_id": thread_id, "name": name, "icon_color": 7322096}

    def close_topic(self, chat: FakeChat, thread_id: int, state: str = "closed") -> None:
        """An admin closes ("closed") or deletes ("deleted") a forum topic."""
        chat.topics[thread_id] = state

    async def _m_editmessagetext(self, params: dict) -> dict:
        chat = self._chat(params.get("chat_id"))
        found = next(
            (
                m
                for m in self.sent
                if m.chat_id == chat.id and m.message_id == params.get("message_id")
            ),
            None,
        )
        if found is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        text = params.get("text") or ""
        plain = self._check_text(text, params.get("parse_mode"))
        markup = params.get("reply_markup")
        self._check_markup(markup)
        if text == found.text and markup == found.reply_markup:
            raise ApiError(
                400,
                "Bad Request: message is not modified: specified new message content and reply "
                "markup are exactly the same as a current content and reply markup of the message",
            )
        found.text, found.plain, found.reply_markup = text, plain, markup
        found.parse_mode = params.get("parse_mode")
        found.edits += 1
        found.payload = dict(found.payload, text=plain, edit_date=int(time.time()))
        if markup:
            found.payload["reply_markup"] = markup
        return found.payload

    async def _m_answercallbackquery(self, params: dict) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._pending_callbacks:
            raise ApiError(
                400,
                "Bad Request: query is too old and response timeout expired or query ID is invalid",
            )
        if len(params.get("text") or "") > MAX_CALLBACK_ANSWER:
            raise ApiError(400, "Bad Request: MESSAGE_TOO_LONG")
        self._pending_callbacks.discard(query_id)
        self.callback_answers[query_id] = params
        return True

    async def _m_getchat(self, params: dict) -> dict:
        chat = self._chat(params.get("chat_id"))
        return chat.to_dict() | {
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False, "limited_gifts": False, "unique_gifts": False,
                "premium_subscription": False, "gifts_from_channels": False,
            },
        }  # fmt: skip

    async def _m_getchatmember(self, params: dict) -> dict:
        chat = self._chat(params.get("chat_id"))
        user_id = params.get("user_id")
        if user_id == self.bot.id:
            return member_dict(self.bot, chat.bot_status, can_post_messages=chat.bot_can_post)
        self._check_member_list(chat)
        user = self.users.get(user_id) or FakeUser(user_id, "Someone")
        return member_dict(user, chat.members.get(user_id, "left"))

    async def _m_getchatadministrators(self, params: dict) -> list[dict]:
        chat = self._chat(params.get("chat_id"))
        if chat.type == "private":
            raise ApiError(400, "Bad Request: there are no administrators in the private chat")
        self._check_member_list(chat)
        admins = [
            member_dict(self.users.get(uid) or FakeUser(uid, "Admin"), status)
            for uid, status in chat.members.items()
            if status in ("creator", "administrator")
        ]
        if chat.bot_status == "administrator":
            admins.append(member_dict(self.bot, "administrator"))
        return admins

    # ----------------------------------------------------------------- checks

    def _chat(self, chat_id: Any) -> FakeChat:
        if isinstance(chat_id, str) and chat_id.startswith("@"):
            name = chat_id[1:].lower()
            for chat in self.chats.values():
                if chat.username and chat.username.lower() == name and chat.type != "private":
                    return chat
        elif isinstance(chat_id, int) and chat_id in self.chats:
            return self.chats[chat_id]
        elif isinstance(chat_id, int) and chat_id in self.users:
            # A user who never opened a private chat with the bot (pressed Start).
            raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
        raise ApiError(400, "Bad Request: chat not found")

    def _check_can_send(self, chat: FakeChat) -> None:
        if chat.migrated_to is not None:
            raise ApiError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat.type == "private":
            if chat.blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            return
        kind = "channel" if chat.type == "channel" else f"{chat.type} chat"
        if chat.bot_status == "kicked":
            raise ApiError(403, f"Forbidden: bot was kicked from the {kind}")
        if chat.bot_status == "left":
            raise ApiError(403, f"Forbidden: bot is not a member of the {kind}")
        if chat.type == "channel" and (chat.bot_status != "administrator" or not chat.bot_can_post):
            raise ApiError(400, "Bad Request: need administrator rights in the channel chat")
        if chat.bot_status == "restricted":
            raise ApiError(400, "Bad Request: not enough rights to send text messages to the chat")

    def _check_member_list(self, chat: FakeChat) -> None:
        if chat.type == "channel" and chat.bot_status != "administrator":
            raise ApiError(400, "Bad Request: member list is inaccessible")
        if chat.bot_status in ("left", "kicked"):
            raise ApiError(403, f"Forbidden: bot is not a member of the {chat.type} chat")

    def _check_text(self, text: str, parse_mode: str | None) -> str:
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if parse_mode is not None and parse_mode.upper() != "HTML":
            raise ApiError(400, f"Bad Request: unsupported parse_mode {parse_mode!r} in the fake")
        plain = parse_html(text) if parse_mode else text
        if not plain.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if utf16_len(plain) > MAX_TEXT:
            raise ApiError(400, "Bad Request: message is too long")
        return plain

    def _check_markup(self, markup: dict | None) -> None:
        for row in (markup or {}).get("inline_keyboard", []):
            for button in row:
                if not button.get("text"):
                    raise ApiError(
                        400, "Bad Request: text buttons are unallowed in the inline keyboard"
                    )
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")

    def _check_rate(self, chat: FakeChat) -> None:
        limits = self.limits
        if not limits.enabled:
            return
        buckets = [
            self._bucket(("global", 0), limits.global_per_second, limits.global_per_second),
            self._bucket(("chat", chat.id), limits.per_chat_per_second, limits.per_chat_burst),
        ]
        if chat.type != "private":
            per_second = limits.per_group_per_minute / 60.0
            buckets.append(
                self._bucket(("group", chat.id), per_second, limits.per_group_per_minute)
            )
        wait = max(bucket.wait_needed() for bucket in buckets)
        if wait > 0:
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for bucket in buckets:
            bucket.take()

    def _bucket(self, key: tuple[str, int], rate: float, capacity: float) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(rate, capacity)
        return bucket

    def _next_message_id(self, chat_id: int) -> int:
        counter = self._message_ids.setdefault(chat_id, itertools.count(1))
        return next(counter)


def member_dict(user: FakeUser, status: str, **rights: bool) -> dict:
    """A ChatMember object with every field PTB requires for its status."""
    data: dict[str, Any] = {"status": status, "user": user.to_dict()}
    if status == "creator":
        data["is_anonymous"] = False
    elif status == "administrator":
        for name in (
            "can_be_edited", "is_anonymous", "can_manage_chat", "can_delete_messages",
            "can_manage_video_chats", "can_restrict_members", "can_promote_members",
            "can_change_info", "can_invite_users", "can_post_stories", "can_edit_stories",
            "can_delete_stories",
        ):  # fmt: skip
            data[name] = name not in ("can_be_edited", "is_anonymous")
        data["can_post_messages"] = rights.get("can_post_messages", True)
        data["can_edit_messages"] = True
    elif status == "restricted":
        for name in (
            "is_member", "can_change_info", "can_invite_users", "can_pin_messages",
            "can_send_polls", "can_send_other_messages", "can_add_web_page_previews",
            "can_manage_topics", "can_send_audios", "can_send_documents", "can_send_photos",
            "can_send_videos", "can_send_video_notes", "can_send_voice_notes", "can_edit_tag",
        ):  # fmt: skip
            data[name] = True
        data["can_send_messages"] = rights.get("can_send_messages", False)
        data["until_date"] = 0
    elif status == "kicked":
        data["until_date"] = 0
    return data


async def _read_params(request: web.Request) -> dict:
    if request.content_type == "application/json":
        raw = await request.json()
        return {k: v for k, v in raw.items()}
    form = await request.post() if request.method == "POST" else request.query
    params: dict[str, Any] = {}
    for key, value in {**request.query, **form}.items():
        value = str(value)
        if key in _JSON_PARAMS:
            params[key] = json.loads(value)
        elif key in _INT_PARAMS:
            params[key] = int(float(value))
        elif key in _BOOL_PARAMS:
            params[key] = value.lower() == "true"
        elif key == "chat_id":
            params[key] = int(value) if value.lstrip("-").isdigit() else value
        else:
            params[key] = value
    return params


def _error(exc: ApiError) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": exc.status, "description": exc.description}
    if exc.parameters:
        body["parameters"] = exc.parameters
    return web.json_response(body, status=exc.status)
