"""One purger at a time: the database lease, and the job that takes it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text

from bot.retention import lease
from bot.retention.job import LEASE, PurgeJob
from bot.settings import Settings

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def test_only_one_holder_until_the_lease_expires_or_is_released(engine: Engine) -> None:
    assert lease.acquire(engine, "purge", "app-1", NOW, HOUR)
    assert not lease.acquire(engine, "purge", "app-2", NOW + timedelta(minutes=30), HOUR)
    assert lease.acquire(engine, "purge", "app-1", NOW + timedelta(minutes=30), HOUR)  # the holder renews
    assert lease.acquire(engine, "purge", "app-2", NOW + 2 * HOUR, HOUR)  # expired: taken over
    lease.release(engine, "purge", "app-2", NOW + 2 * HOUR)
    assert lease.acquire(engine, "purge", "app-1", NOW + 2 * HOUR + timedelta(seconds=1), HOUR)


def test_the_job_skips_while_another_process_holds_the_lease(engine: Engine, settings: Settings) -> None:
    now = datetime.now(UTC)
    assert lease.acquire(engine, LEASE, "other-host:1", now, HOUR)
    assert PurgeJob(engine, settings, holder="this-host:2").run_once(now) is None
    lease.release(engine, LEASE, "other-host:1", now)
    report = PurgeJob(engine, settings, holder="this-host:2").run_once(now + timedelta(seconds=1))
    assert report is not None and not report.dry_run
    with engine.connect() as conn:
        holder, expires = conn.execute(text("SELECT holder, expires_at FROM retention_leases")).one()
    assert holder == "this-host:2" and str(expires) < str(now + HOUR)  # released at the end: the row stays, expired


async def test_the_app_runs_the_job_beside_the_follow_ups(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """FollowUpService (the app's one place for periodic jobs) owns the purge task; 0 hours turns it off."""
    from bot.followups.runtime import FollowUpService

    class NoGateway:
        language = None

    service = FollowUpService(engine, NoGateway(), interval=0)  # type: ignore[arg-type]
    assert service.purge_job is not None
    service.start()
    assert service._purge_task is not None and service._task is None
    await service.stop()
    assert service._purge_task is None
    with pytest.raises(TimeoutError):  # the loop: a first run at once here, then it sleeps for the interval
        await asyncio.wait_for(service.purge_job.run_forever(first_delay=0), 5)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT holder FROM retention_leases")).scalar_one() == service.purge_job.holder
    monkeypatch.setenv("FRONTDOOR_PURGE_INTERVAL_HOURS", "0")
    assert FollowUpService(engine, NoGateway(), interval=0).purge_job is None  # type: ignore[arg-type]
