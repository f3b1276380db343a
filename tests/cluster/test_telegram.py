"""Telegram polling with two instances: only the leader polls, every message is answered once, and
when the leader is killed the other takes over polling within the lease (bot/channels/telegram_runtime.py)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, text

from bot.db.leases import holder
from tests.channels.fake_telegram import FakeTelegram
from tests.cluster.conftest import LEASE_SECONDS, wait_until

pytestmark = pytest.mark.integration  # starts app processes on a real PostgreSQL

POLL = "telegram-poll:12345"


def settled(engine: Engine) -> bool:
    """Nothing in flight: every reply sent, every message answered, every journalled update handled."""
    with engine.connect() as connection:
        return not connection.execute(
            text(
                "SELECT 1 FROM gw_outbound WHERE status <> 'sent'"
                " UNION ALL SELECT 1 FROM gw_inbound WHERE status = 'received'"
                " UNION ALL SELECT 1 FROM gw_telegram_updates WHERE status <> 'handled'"
            )
        ).first()


def test_only_the_leader_polls_and_the_other_takes_over_when_it_is_killed(
    start_instance: Any, telegram: FakeTelegram, engine: Engine
) -> None:
    instances = {name: start_instance(name, telegram_bot=True) for name in ("a", "b")}
    leader = wait_until(lambda: holder(engine, POLL), 30, "one instance holds the polling lease")
    telegram.user_sends(801, "路灯坏了")
    telegram.user_sends(802, "井盖丢了")
    wait_until(lambda: telegram.texts_to(801) and telegram.texts_to(802), 30, "both are answered")
    # kill only once the leader has recorded what it did: a kill between Telegram's "ok" and the
    # row's `sent` is the crash window where a takeover sends again (at least once, by design)
    wait_until(lambda: settled(engine), 30, "the leader recorded every reply as sent and every update as handled")

    instances[leader].kill()
    telegram.user_sends(801, "还有，垃圾没人收")
    wait_until(lambda: len(telegram.texts_to(801)) == 2, LEASE_SECONDS + 30, "the other instance answers")
    assert holder(engine, POLL) == next(name for name in instances if name != leader)
    # the new poller fetched every update Telegram still had (offset 0): the journal dropped the old ones
    assert telegram.texts_to(801) == ["回声：路灯坏了", "回声：还有，垃圾没人收"]
    assert telegram.texts_to(802) == ["回声：井盖丢了"]
