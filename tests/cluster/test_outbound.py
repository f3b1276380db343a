"""Two app instances with the same Telegram bot on one PostgreSQL database: each queued message is
sent exactly once and in order per chat; a `sending` row of a live instance is left alone and one of
a dead instance is sent again once its lease has run out; only one instance polls Telegram
(bot/gateway/outbound.py, bot/channels/telegram_runtime.py, bot/db/leases.py)."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from bot.db.leases import holder
from bot.gateway.models import OutboundMessage, utcnow
from bot.gateway.store import GatewayStore
from tests.channels.fake_telegram import FakeTelegram
from tests.cluster.conftest import wait_until

CHATS = ["501", "502", "503", "504"]

pytestmark = pytest.mark.integration  # starts app processes on a real PostgreSQL


def statuses(engine: Engine) -> Counter[str]:
    with Session(engine) as session:
        return Counter(session.scalars(select(OutboundMessage.status)).all())


def test_queued_messages_are_sent_once_in_order_by_two_instances(
    start_instance: Any, telegram: FakeTelegram, engine: Engine
) -> None:
    start_instance("a", telegram_bot=True)
    start_instance("b", telegram_bot=True)
    store = GatewayStore(engine)
    conversations = [store.ensure_conversation("12345", "telegram", chat) for chat in CHATS]
    # queued at once (staff replies, follow-ups): both instances' workers find them in the same scan
    expected = {chat: [f"给{chat}的第{i}条" for i in range(6)] for chat in CHATS}
    for i in range(6):
        for chat, conversation in zip(CHATS, conversations, strict=True):
            store.enqueue(conversation, expected[chat][i], "staff")

    wait_until(lambda: statuses(engine) == Counter(sent=24), 60, "every queued message sent")
    for chat in CHATS:
        assert telegram.texts_to(int(chat)) == expected[chat]  # once each, in the order queued
    owners = Counter(o for o in _owners(engine))
    assert set(owners) <= {"a", "b"} and sum(owners.values()) == 24
    assert holder(engine, "telegram-poll:12345") in ("a", "b")  # one poller: Telegram allows one getUpdates


def _owners(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return [o for o in session.scalars(select(OutboundMessage.owner)).all() if o]


def test_a_sending_row_is_left_to_its_live_instance_and_taken_over_once_its_lease_ran_out(
    start_instance: Any, telegram: FakeTelegram, engine: Engine
) -> None:
    store = GatewayStore(engine)
    conversation = store.ensure_conversation("12345", "telegram", "601")
    first = store.enqueue(conversation, "第一条（另一实例正在发送）", "staff")
    second = store.enqueue(conversation, "第二条", "staff")
    with Session(engine) as session:  # an instance "ghost" is sending the first one, its lease valid
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == first)
            .values(status="sending", owner="ghost", lease_until=utcnow() + timedelta(minutes=10))
        )
        session.commit()
    other = store.ensure_conversation("12345", "telegram", "602")
    store.enqueue(other, "别的对话照常发送", "staff")
    alone = store.ensure_conversation("12345", "telegram", "603")  # a dead instance's only row there
    orphan = store.enqueue(alone, "死掉的实例没发完的", "staff")
    with Session(engine) as session:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == orphan)
            .values(status="sending", owner="dead", lease_until=utcnow() - timedelta(seconds=1))
        )
        session.commit()

    start_instance("a", telegram_bot=True)  # start-up must not reset ghost's row
    start_instance("b", telegram_bot=True)
    wait_until(lambda: telegram.texts_to(602), 30, "the other conversation is delivered")
    wait_until(lambda: telegram.texts_to(603), 30, "the dead instance's row is sent again")
    assert telegram.texts_to(601) == []  # the order holds behind the row ghost is sending
    with Session(engine) as session:
        assert session.get(OutboundMessage, first).status == "sending"  # type: ignore[union-attr]
        assert session.get(OutboundMessage, second).status == "pending"  # type: ignore[union-attr]
        # ghost dies: its lease runs out
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == first)
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
        session.commit()

    wait_until(lambda: statuses(engine) == Counter(sent=4), 30, "ghost's row is sent again, then the next")
    assert telegram.texts_to(601) == ["第一条（另一实例正在发送）", "第二条"]
    assert telegram.texts_to(603) == ["死掉的实例没发完的"]  # once, though both instances could take it
