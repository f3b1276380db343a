"""The scheduled purge inside the app: every FRONTDOOR_PURGE_INTERVAL_HOURS, by one process only.

Started beside the follow-up scheduler (bot/followups/runtime.py). Before each run the process
takes the `purge` lease in the database (bot.retention.lease), so with several app processes on one
database only one purges; a run that dies leaves the lease to expire.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from bot.retention import lease
from bot.retention.purge import Report, purge
from bot.settings import Settings

log = logging.getLogger(__name__)

LEASE = "purge"
LEASE_TTL = timedelta(hours=2)
FIRST_RUN_DELAY = 600.0
"""Seconds after start before the first purge: start-up (model loading, recovery) comes first, and a
process that only lives briefly (a test, a restart loop) never purges."""


class PurgeJob:
    def __init__(self, engine: Engine, settings: Settings, holder: str | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"

    def run_once(self, now: datetime | None = None) -> Report | None:
        """Purge if this process gets the lease; None when another process holds it."""
        now = now or datetime.now(UTC)
        if not lease.acquire(self.engine, LEASE, self.holder, now, LEASE_TTL):
            return None
        try:
            report = purge(self.engine, self.settings, now=now)
        finally:
            lease.release(self.engine, LEASE, self.holder, datetime.now(UTC))
        log.info(
            "retention purge: %s", ", ".join(f"{k}={v}" for k, v in report.by_table().items() if v) or "nothing due"
        )
        return report

    async def run_forever(self, first_delay: float = FIRST_RUN_DELAY) -> None:
        interval = self.settings.purge_interval_hours * 3600
        await asyncio.sleep(min(first_delay, interval))
        while True:
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # a failed purge must not stop the app; it is tried again next time
                log.exception("retention purge failed")
            await asyncio.sleep(interval)
