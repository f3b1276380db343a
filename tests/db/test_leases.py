"""Leader leases (bot/db/leases.py): one holder per name, renewed by the holder, taken over once expired."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update

from bot.db import leases
from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.tickets.models import RetentionLease


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    db = make_engine(f"sqlite:///{tmp_path / 'leases.db'}")
    migrate(db)
    yield db
    db.dispose()


def test_one_leader_at_a_time_renewing_and_handing_over(engine: Engine) -> None:
    a = leases.Leader(engine, "followups", "a", ttl_seconds=30)
    b = leases.Leader(engine, "followups", "b", ttl_seconds=30)
    assert a.held() and not b.held()
    assert a.held()  # renewing
    with engine.connect() as conn:
        renewed = conn.execute(select(RetentionLease.renewed_at).where(RetentionLease.name == "followups")).scalar()
    assert renewed is not None
    assert leases.holder(engine, "followups") == "a"
    a.release()  # a clean stop: b need not wait for the lease to run out
    assert b.held() and not a.held()
    assert leases.holder(engine, "followups") == "b"


def test_a_dead_leaders_lease_is_taken_over_once_it_expires(engine: Engine) -> None:
    a = leases.Leader(engine, "telegram-poll:12345", "a", ttl_seconds=30)
    b = leases.Leader(engine, "telegram-poll:12345", "b", ttl_seconds=30)
    assert a.held()
    assert not b.held()
    with engine.begin() as conn:  # a stopped renewing 31 s ago
        conn.execute(
            update(RetentionLease)
            .where(RetentionLease.name == "telegram-poll:12345")
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert leases.holder(engine, "telegram-poll:12345") is None
    assert b.held() and not a.held()


def test_leases_of_different_jobs_are_independent(engine: Engine) -> None:
    assert leases.Leader(engine, "followups", "a", 30).held()
    assert leases.Leader(engine, "telegram-poll:12345", "b", 30).held()
    assert leases.Leader(engine, "purge", "c", 30).held()
