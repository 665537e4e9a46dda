"""Two bot replicas in Telegram webhook mode behind one URL, on one PostgreSQL database.

The fake Bot API POSTs each update to the webhook URL (as Telegram does); a small balancer on
that URL passes each one to a replica in turn, to the other when one is down, and, to play a
webhook retry whose first 200 got lost, to both. Every command must be answered once and
every post sent once.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.adapters.telegram import TelegramAdapter
from bot.core import Core
from bot.database_url import PostgresURL
from handlers.registry import command_table
from tests.factories import add_piece, open_core
from tests.fakes.telegram_api import FakeTelegramAPI

TOKEN = "424242:AAH-webhook-replicas-SECRET-token"
SECRET = "same-secret-on-every-replica"
PATH = "/telegram-hook"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Balancer:
    """One public webhook URL in front of the replicas' ports."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.turn = itertools.cycle(range(len(ports)))
        self.duplicate = False
        self.handled_by: list[int] = []  # the replica port that took each POST
        self.port = 0
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    async def __aenter__(self) -> Balancer:
        app = web.Application()
        app.router.add_post(PATH, self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None and self._runner is not None
        await self._session.close()
        await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {
            k: v for k, v in request.headers.items() if k.lower().startswith(("x-", "content-type"))
        }
        first = next(self.turn)
        order = [self.ports[(first + i) % len(self.ports)] for i in range(len(self.ports))]
        status = 502
        for port in order:  # in turn; the next one when a replica is down
            try:
                assert self._session is not None
                url = f"http://127.0.0.1:{port}{PATH}"
                async with self._session.post(url, data=body, headers=headers) as response:
                    if response.status == 200:
                        self.handled_by.append(port)
                        status = 200
                        if not self.duplicate:
                            break
            except aiohttp.ClientError:
                continue  # that replica is down: the next one
        return web.Response(status=status)


@asynccontextmanager
async def replica(
    tmp_path: Path, pg_url: PostgresURL, fake: FakeTelegramAPI, balancer: Balancer, port: int
) -> AsyncIterator[tuple[Core, TelegramAdapter]]:
    async with open_core(
        tmp_path,
        commentary_database=pg_url,
        telegram_bot_token=TOKEN,
        telegram_api_base_url=fake.base_url,
        telegram_webhook_url=balancer.url,
        telegram_webhook_listen="127.0.0.1",
        telegram_webhook_port=port,
        telegram_webhook_secret=SECRET,
    ) as core:
        adapter = TelegramAdapter(core, command_table())
        await adapter.start()
        try:
            yield core, adapter
        finally:
            await adapter.stop()


async def test_two_webhook_replicas_answer_each_update_once_and_post_once(
    tmp_path: Path, pg_url: PostgresURL
) -> None:
    ports = [free_port(), free_port()]
    users = []
    async with FakeTelegramAPI(TOKEN, bot_username="ReplicaBot") as fake, Balancer(ports) as lb:
        for n in range(6):
            user = fake.add_user(500 + n, f"U{n}")
            fake.add_private(user)
            users.append(user)
        async with (
            replica(tmp_path, pg_url, fake, lb, ports[0]) as (one, _),
            replica(tmp_path, pg_url, fake, lb, ports[1]) as (_, second),
        ):
            assert fake.webhook is not None and fake.webhook["url"] == lb.url
            await one.services.store.add_source("demo", "https://demo.example/feed.xml")
            for user in users:
                fake.push_command(fake.chats[user.id], user, "/subscribe demo")
            for user in users:
                await fake.wait_sent(1, chat_id=user.id, timeout=20)
            assert set(lb.handled_by) == set(ports)  # both replicas took updates
            # A retry of an update whose 200 got lost reaches both replicas: answered once.
            lb.duplicate = True
            fake.push_command(fake.chats[users[0].id], users[0], "/subscriptions")
            await fake.wait_sent(2, chat_id=users[0].id, timeout=20)
            await fake.wait_until(lambda: len(lb.handled_by) >= len(users) + 2, timeout=20)
            lb.duplicate = False
            # One piece, six subscribed chats, two replicas able to send: each chat once.
            await add_piece(one, source="demo", title="Posted once")
            await fake.wait_until(
                lambda: all(
                    any(m.plain.startswith("Posted once") for m in fake.messages(u.id))
                    for u in users
                ),
                timeout=30,
            )
            # One replica goes away: the other answers everything.
            await second.stop()
            fake.push_command(fake.chats[users[1].id], users[1], "/subscriptions")
            await fake.wait_sent(3, chat_id=users[1].id, timeout=20)
            await asyncio.sleep(1.0)  # anything sent twice would have arrived by now
    for user in users:
        texts = [m.plain.split("\n")[0] for m in fake.messages(user.id)]
        assert len(texts) == len(set(texts)), texts  # nothing answered or posted twice
        assert sum(t.startswith("Posted once") for t in texts) == 1
    assert len(fake.messages(users[0].id)) == 3  # subscribed, subscriptions, the post
    assert all(status == 200 for _, status in fake.webhook_deliveries)
