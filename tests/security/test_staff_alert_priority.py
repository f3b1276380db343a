"""Staff alerts under load (issue 18) and without personal content (issue 19).

A crisis alert never waits behind other alerts for the staff chat; a flood of crises becomes a
summary line per minute; a flooding source is marked and summarised while a crisis from anyone
else keeps its own immediate alert; no alert carries the person's words or conversation id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.gateway.alerts import BULK_SIGNAL, STAFF_CHANNEL, StaffAlerts, crisis_line, summary_line, ticket_line
from bot.gateway.models import ALERT_SOURCES, CRISIS_ALERT, OutboundMessage
from bot.gateway.outbound import OutboundWorker
from bot.gateway.service import Gateway
from bot.gateway.store import GatewayStore
from bot.security.limits import Rate
from bot.triage.decision import METADATA_KEY
from tests.gateway.fakes import FakeRasa, FlakyPusher, crisis_when, msg

STAFF_CHAT = "-100"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


def alerts_in(db: Engine) -> list[tuple[str, str]]:
    with Session(db) as session:
        rows = session.scalars(
            select(OutboundMessage).where(OutboundMessage.source.in_(ALERT_SOURCES)).order_by(OutboundMessage.id)
        )
        return [(r.source, r.text) for r in rows]


async def until(condition: Callable[[], object], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def staff_alerts(db: Engine, **kwargs: object) -> StaffAlerts:
    return StaffAlerts(GatewayStore(db), STAFF_CHAT, 600.0, lambda _: None, **kwargs)  # type: ignore[arg-type]


# --- priority ----------------------------------------------------------------------------------
async def test_a_crisis_alert_jumps_the_staff_chat_queue(db: Engine) -> None:
    alerts = staff_alerts(db)
    for number in ("0001", "0002", "0003"):
        await alerts.ticket("12355", f"12355-{number}")  # waiting for Telegram's group pace
    await alerts.crisis("12355", "12355:web:a", ["12355-0004"])
    await alerts.ticket("12355", "12355-0005")
    pusher = FlakyPusher()
    worker = OutboundWorker(db, {STAFF_CHANNEL: pusher}, scan_interval=0.05)
    await worker.start()
    try:
        await until(lambda: len(pusher.delivered) == 5)
    finally:
        await worker.stop()
    assert pusher.delivered[0] == crisis_line("12355", "12355-0004")
    assert [t.split("#")[1][:10] for t in pusher.delivered[1:]] == [
        "12355-0001",
        "12355-0002",
        "12355-0003",
        "12355-0005",
    ]  # the others keep their order


async def test_people_s_own_messages_keep_their_order(db: Engine) -> None:
    gateway = Gateway(db, FakeRasa().client())
    cid = gateway.store.ensure_conversation("12345", "telegram", "42")
    for text in ("一", "二", "三"):
        gateway.enqueue(cid, text, "staff")
    pusher = FlakyPusher()
    worker = OutboundWorker(db, {"telegram": pusher}, scan_interval=0.05)
    await worker.start()
    try:
        await until(lambda: len(pusher.delivered) == 3)
    finally:
        await worker.stop()
    assert pusher.delivered == ["一", "二", "三"]


# --- coalescing --------------------------------------------------------------------------------
async def test_after_k_crisis_alerts_one_summary_line_per_minute(db: Engine) -> None:
    alerts = staff_alerts(db, coalesce=Rate(2, 300), summary_every=0.3)
    for i in range(6):  # each from its own source: no bulk source, just many crises
        await alerts.crisis("12355", f"12355:web:s{i}", source=f"ip:203.0.113.{i}")
    texts = [t for _, t in alerts_in(db)]
    assert texts[:2] == [crisis_line("12355")] * 2  # the first K alert on their own
    assert texts[2] == summary_line("12355", 3, 0, 300)  # the third: a summary at once
    assert len(texts) == 3  # the 4th-6th wait for the next minute's line
    await until(lambda: len(alerts_in(db)) == 4)
    assert alerts_in(db)[3] == (CRISIS_ALERT, summary_line("12355", 6, 0, 300))
    assert "过去5分钟新增 6 个危机会话" in alerts_in(db)[3][1] and "员工后台" in alerts_in(db)[3][1]
    assert (alerts.immediate, alerts.coalesced, alerts.summaries) == (2, 4, 2)
    alerts.close()


async def test_a_flooding_source_is_summarised_and_a_real_crisis_elsewhere_still_alerts_at_once(db: Engine) -> None:
    alerts = staff_alerts(db, bulk=Rate(3, 300), coalesce=Rate(5, 300), summary_every=60)
    flood = "ip:127.0.0.1"
    for i in range(40):
        await alerts.crisis("12355", f"12355:rest:fake{i}", source=flood)
    assert await alerts.is_bulk(flood) and not await alerts.is_bulk("ip:127.0.0.2")
    await alerts.crisis("12355", "12355:web:real", ["12355-0042"], source="ip:127.0.0.2")
    texts = [t for _, t in alerts_in(db)]
    assert texts[:2] == [crisis_line("12355")] * 2  # before the source counted as bulk
    assert texts[2] == summary_line("12355", 3, 1, 300)
    assert texts[-1] == crisis_line("12355", "12355-0042")  # the real one: its own line, right away
    assert len(texts) == 4  # 40 fake crises: two lines and one summary, not 40
    alerts.close()


async def test_a_bulk_source_s_crisis_is_marked_for_the_ticket_but_still_answered(db: Engine) -> None:
    rasa = FakeRasa()
    gateway = Gateway(
        db, rasa.client(), decide=crisis_when("不想活"), staff_chat_id=STAFF_CHAT, alerts={"bulk": Rate(2, 300)}
    )
    for i in range(3):
        inbound = replace(msg("我不想活了", f"m{i}", user=f"fake{i}", desk="12355"), source="ip:192.0.2.1")
        await gateway.handle(inbound)
    signals = [p["metadata"][METADATA_KEY]["signals"] for p in rasa.sent]
    assert [BULK_SIGNAL in s for s in signals] == [False, True, True]
    assert all(p["message"] == "/crisis" for p in rasa.sent)  # each still gets the crisis path and ticket
    await gateway.aclose()


# --- no personal content -----------------------------------------------------------------------
async def test_alerts_carry_no_personal_content(db: Engine) -> None:
    gateway = Gateway(db, FakeRasa().client(), decide=crisis_when("不想活"), staff_chat_id=STAFF_CHAT)
    await gateway.handle(msg("我不想活了，我叫李小红，电话13812345678", "p1", user="13812345678", desk="12355"))
    texts = [t for _, t in alerts_in(db)]
    assert texts == ["【危机预警】12355服务台 新危机会话，已给出紧急求助电话，请值班人员立即到员工后台查看。"]
    for line in (*texts, ticket_line("12355", "12355-0001"), summary_line("12355", 9, 4, 300)):
        for personal in ("不想活", "李小红", "138", "****", ":rest:", "内容", "会话："):
            assert personal not in line
    await gateway.aclose()
