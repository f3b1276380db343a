"""Staff alerts across app instances: one memory in Redis; a crisis alert is never dropped."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.gateway.alerts import StaffAlerts, crisis_line, summary_line
from bot.gateway.models import ALERT_SOURCES, OutboundMessage
from bot.gateway.store import GatewayStore
from bot.settings import Rate
from bot.shared_state.factory import SharedState
from tests.cluster_run.conftest import RedisServer

STAFF_CHAT = "-100"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def alert_texts(db: Engine) -> list[str]:
    with Session(db) as session:
        rows = session.scalars(
            select(OutboundMessage).where(OutboundMessage.source.in_(ALERT_SOURCES)).order_by(OutboundMessage.id)
        )
        return [r.text for r in rows]


def instance(db: Engine, state: SharedState, **kwargs: object) -> StaffAlerts:
    """One app instance's StaffAlerts (all on one database, as in the cluster)."""
    return StaffAlerts(
        GatewayStore(db),
        STAFF_CHAT,
        600.0,
        lambda _: None,
        memory=state.alert_memory(),
        clock=time.time,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_one_conversation_gets_one_crisis_alert_whichever_instance_sees_it(
    db: Engine, redis_server: RedisServer
) -> None:
    one, two = SharedState(redis_server.url), SharedState(redis_server.url)
    a, b = instance(db, one), instance(db, two)
    await a.crisis("12355", "12355:web:x", source="ip:198.51.100.1")
    await b.crisis("12355", "12355:web:x", source="ip:198.51.100.1")  # the next turn, on the other instance
    assert alert_texts(db) == [crisis_line("12355")]
    await one.aclose()
    await two.aclose()


async def test_a_flood_spread_over_instances_is_one_bulk_source_and_one_summary(
    db: Engine, redis_server: RedisServer
) -> None:
    one, two = SharedState(redis_server.url), SharedState(redis_server.url)
    kwargs = {"bulk": Rate(3, 300), "coalesce": Rate(5, 300), "summary_every": 60}
    a, b = instance(db, one, **kwargs), instance(db, two, **kwargs)
    flood = "ip:127.0.0.9"
    for i in range(10):  # alternating instances, as round robin would
        await (a if i % 2 else b).crisis("12355", f"12355:rest:fake{i}", source=flood)
    assert await a.is_bulk(flood) and await b.is_bulk(flood) and not await a.is_bulk("ip:127.0.0.2")
    texts = alert_texts(db)
    assert texts[:2] == [crisis_line("12355")] * 2  # before the source counted as bulk (across instances)
    assert texts[2] == summary_line("12355", 3, 1, 300)  # one summary for both instances, not one each
    assert len(texts) == 3
    await b.crisis("12355", "12355:web:real", ["12355-0042"], source="ip:127.0.0.2")
    assert alert_texts(db)[-1] == crisis_line("12355", "12355-0042")  # a real crisis elsewhere: at once
    a.close()
    b.close()
    await one.aclose()
    await two.aclose()


async def test_redis_down_never_drops_a_crisis_alert(db: Engine, redis_server: RedisServer) -> None:
    state = SharedState(redis_server.url, retry_seconds=0.0)
    alerts = instance(db, state)
    await alerts.crisis("12345", "12345:web:before", source="ip:203.0.113.5")
    redis_server.stop()
    await alerts.crisis("12345", "12345:web:during", ["12345-0007"], source="ip:203.0.113.6")
    assert alert_texts(db) == [crisis_line("12345"), crisis_line("12345", "12345-0007")]
    assert state.guard.down
    redis_server.start()
    await alerts.crisis("12345", "12345:web:after", source="ip:203.0.113.7")
    assert len(alert_texts(db)) == 3 and not state.guard.down
    await state.aclose()
