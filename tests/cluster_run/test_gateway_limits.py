"""The gateway's limits on Redis: two gateways (two app instances) on one database count one person
and one client address together; the new-conversation check runs in the database thread."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.gateway.models import Conversation
from bot.gateway.service import Gateway, Limited
from bot.settings import Rate
from bot.shared_state.factory import SharedState
from tests.cluster_run.conftest import RedisServer
from tests.decisions import no_risk
from tests.gateway.fakes import FakeRasa, msg


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gw.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


async def test_new_conversations_per_address_are_counted_across_instances(
    db: Engine, redis_server: RedisServer
) -> None:
    one, two = SharedState(redis_server.url), SharedState(redis_server.url)
    a = Gateway(db, FakeRasa().client(), decide=no_risk, new_conversations=one.limiter("new", Rate(2, 600)))
    b = Gateway(db, FakeRasa().client(), decide=no_risk, new_conversations=two.limiter("new", Rate(2, 600)))
    await a.handle(replace(msg("你好", "1", user="u1"), source="ip:192.0.2.7"))
    await b.handle(replace(msg("你好", "2", user="u2"), source="ip:192.0.2.7"))
    with pytest.raises(Limited):  # the third new conversation from that address, on either instance
        await a.handle(replace(msg("你好", "3", user="u3"), source="ip:192.0.2.7"))
    await b.handle(replace(msg("还在吗", "4", user="u1"), source="ip:192.0.2.7"))  # a known one: not capped
    with Session(db) as session:
        assert sorted(c.external_user for c in session.scalars(select(Conversation))) == ["u1", "u2"]
    for gateway in (a, b):
        await gateway.aclose()
    await one.aclose()
    await two.aclose()


async def test_messages_per_conversation_are_counted_across_instances(db: Engine, redis_server: RedisServer) -> None:
    one, two = SharedState(redis_server.url), SharedState(redis_server.url)
    rasa = FakeRasa()
    a = Gateway(db, rasa.client(), decide=no_risk, rate_limiter=one.limiter("conversation", Rate(2, 60)))
    b = Gateway(db, rasa.client(), decide=no_risk, rate_limiter=two.limiter("conversation", Rate(2, 60)))
    await a.handle(msg("你好", "1", user="p"))
    await b.handle(msg("路灯坏了", "2", user="p"))
    with pytest.raises(Limited):
        await a.handle(msg("路灯坏了", "3", user="p"))
    assert len(rasa.sent) == 2  # the limited one cost no model time
    for gateway in (a, b):
        await gateway.aclose()
    await one.aclose()
    await two.aclose()
