"""The follow-up scheduler inside the app process, talking through the gateway.

`FollowUpService(engine, gateway).start()` in the app's lifespan, `await service.stop()` on the way
out. Return-visit questions go into the gateway's outbound queue (pushed to Telegram, polled by the
web chat and REST clients); SLA alerts go to the on-duty staff chat (`Gateway.notify_staff`).
`FRONTDOOR_FOLLOW_UP_INTERVAL` (seconds, default 60; 0 turns the scheduler off).

Handoffs nobody acknowledged (bot/gateway/handoff_watch.py) are followed up on every run too, under
the same lease.

The retention purge runs here too (bot/retention/job.py), the app's one place for periodic jobs:
every `FRONTDOOR_PURGE_INTERVAL_HOURS` (default 24; 0 off), under a database lease.

Several instances on one database: the scheduler runs only on the holder of the `followups` leader
lease (bot/db/leases.py), renewed every third of `FRONTDOOR_LEADER_LEASE_SECONDS`; when the leader
dies another instance takes over once the lease has run out. Each visit is still claimed before its
question is sent (bot/followups/scheduler.py), so a hand-over never sends one twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.db.leases import Leader
from bot.followups.scheduler import Alert, FollowUpScheduler, Send, Unreachable
from bot.gateway.handoff_watch import HandoffWatch
from bot.retention.job import PurgeJob
from bot.settings import get_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from bot.gateway.service import Gateway

log = logging.getLogger(__name__)

INTERVAL_ENV = "FRONTDOOR_FOLLOW_UP_INTERVAL"  # read by bot.settings (Settings.follow_up_interval)


def interval_seconds() -> float:
    """Seconds between scheduler runs (0: off); not a number: 60, with a warning."""
    return get_settings().follow_up_interval


def gateway_sender(gateway: Gateway) -> Send:
    """`send` for the scheduler: the gateway's outbound queue (KeyError: the conversation is unknown)."""

    async def send(conversation_id: str, text: str, buttons: list[dict[str, str]]) -> None:
        try:
            await asyncio.to_thread(gateway.enqueue, conversation_id, text, "followup", buttons)
        except KeyError:
            raise Unreachable(conversation_id) from None

    return send


def gateway_alert(gateway: Gateway) -> Alert:
    async def alert(desk: str, text: str) -> None:
        await gateway.notify_staff(desk, text)

    return alert


LEADER_LEASE = "followups"


class FollowUpService:
    """Owns the periodic task; a no-op when the interval is 0."""

    def __init__(self, engine: Engine, gateway: Gateway, interval: float | None = None) -> None:
        from bot.tickets.repository import TicketStore

        self.interval = interval_seconds() if interval is None else interval
        self.scheduler = FollowUpScheduler(
            TicketStore(engine), gateway_sender(gateway), gateway_alert(gateway), language_of=gateway.language
        )
        self.handoff_watch = HandoffWatch(engine, gateway)
        self._task: asyncio.Task[None] | None = None
        settings = get_settings()
        self.leader = Leader(engine, LEADER_LEASE, settings.instance_id, settings.leader_lease_seconds)
        self.purge_job = (
            PurgeJob(engine, settings, holder=settings.instance_id) if settings.purge_interval_hours > 0 else None
        )
        self._purge_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._lead(), name="follow-ups")
        if self.purge_job is not None and self._purge_task is None:
            self._purge_task = asyncio.create_task(self.purge_job.run_forever(), name="retention-purge")

    async def _lead(self) -> None:
        """Renew (or wait for) the leader lease; while held, run the scheduler every `interval` seconds."""
        check = min(self.interval, self.leader.ttl.total_seconds() / 3)
        next_run = 0.0
        while True:
            try:
                if await asyncio.to_thread(self.leader.held) and time.monotonic() >= next_run:
                    next_run = time.monotonic() + self.interval
                    await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("follow-up run failed")
            await asyncio.sleep(check)

    async def run_once(self, now: datetime | None = None) -> None:
        """One run of the jobs the leader does: return visits and SLA alerts, then unanswered handoffs."""
        now = now or datetime.now(UTC)
        await self.scheduler.run_once(now)
        await self.handoff_watch.run_once(now)

    async def stop(self) -> None:
        for task in (self._task, self._purge_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._purge_task = None
        with contextlib.suppress(Exception):  # hand over at once rather than after the lease runs out
            await asyncio.to_thread(self.leader.release)
