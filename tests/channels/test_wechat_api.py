"""The shared access_token: two holders (two app instances) on one database against the fake WeChat API."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, update

from bot.channels.wechat_api import TokenHolder, TokenStore, WeChatApi, WeChatError
from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.gateway.models import WeChatToken, utcnow
from tests.support.servers import ThreadedServer, serve_in_thread
from tools.fake_wechat import FakeWeChat

USER = "o_user_token_test"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'wechat.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def fake() -> Iterator[tuple[FakeWeChat, ThreadedServer]]:
    wechat = FakeWeChat()
    server = serve_in_thread(wechat.app())
    yield wechat, server
    server.stop(timeout=5)


async def _two_holders(
    db: Engine, wechat: FakeWeChat, server: ThreadedServer
) -> tuple[list[TokenHolder], list[httpx.AsyncClient]]:
    clients = [httpx.AsyncClient(), httpx.AsyncClient()]  # two instances: nothing shared but the database
    holders = [TokenHolder(TokenStore(db), wechat.app_id, wechat.secret, c, server.url) for c in clients]
    return holders, clients


def _open_window(wechat: FakeWeChat) -> None:
    wechat.age_window(USER, hours=0)  # the user wrote just now


async def test_two_instances_share_one_token_and_refresh_it_once(
    db: Engine, fake: tuple[FakeWeChat, ThreadedServer]
) -> None:
    wechat, server = fake
    holders, clients = await _two_holders(db, wechat, server)
    try:
        first = await asyncio.gather(*(h.get() for h in holders), *(h.get() for h in holders))
        assert len(set(first)) == 1 and wechat.token_fetches == 1
        assert sum(h.fetches for h in holders) == 1  # the lease let only one of them ask

        # near expiry (inside the 300 s margin): refreshed before it runs out, again by one of them
        with db.begin() as connection:
            connection.execute(update(WeChatToken).values(expires_at=utcnow() + timedelta(seconds=100)))
        await asyncio.gather(*(h.get() for h in holders))
        assert sum(h.fetches for h in holders) == 2

        # WeChat invalidates every token: both instances send, one forces a new token, the other reuses it
        wechat.expire_tokens()
        _open_window(wechat)
        await asyncio.gather(*(WeChatApi(h).send_text(USER, f"来自实例{i}") for i, h in enumerate(holders)))
        assert sorted(wechat.texts_to(USER)) == ["来自实例0", "来自实例1"]
        assert sum(h.fetches for h in holders) == 3
        assert len({await h.get() for h in holders}) == 1
    finally:
        for client in clients:
            await client.aclose()


async def test_wechat_errors_keep_their_code(db: Engine, fake: tuple[FakeWeChat, ThreadedServer]) -> None:
    wechat, server = fake
    async with httpx.AsyncClient() as client:
        api = WeChatApi(TokenHolder(TokenStore(db), wechat.app_id, wechat.secret, client, server.url))
        with pytest.raises(WeChatError) as outside:
            await api.send_text("never-wrote", "你好")
        assert outside.value.code == 45015
        _open_window(wechat)
        with pytest.raises(WeChatError) as too_long:
            await api.send_text(USER, "长" * 1000)  # 3,000 bytes
        assert too_long.value.code == 45002
        bad = WeChatApi(TokenHolder(TokenStore(db), "wx-other", "wrong", client, server.url))
        with pytest.raises(WeChatError) as refused:
            await bad.send_text(USER, "你好")
        assert refused.value.code == 40013
