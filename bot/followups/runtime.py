"""The follow-up scheduler inside the app process, talking through the gateway.

`FollowUpService(engine, gateway).start()` in the app's lifespan, `await service.stop()` on the way
out. Return-visit questions go into the gateway's outbound queue (pushed to Telegram, polled by the
web chat and REST clients); SLA alerts go to the on-duty staff chat (`Gateway.notify_staff`).
`FRONTDOOR_FOLLOW_UP_INTERVAL` (seconds, default 60; 0 turns the scheduler off).

The retention purge runs here too (bot/retention/job.py), the app's one place for periodic jobs:
every `FRONTDOOR_PURGE_INTERVAL_HOURS` (default 24; 0 off), under a database lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from bot.followups.scheduler import Alert, FollowUpScheduler, Send, Unreachable
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


class FollowUpService:
    """Owns the periodic task; a no-op when the interval is 0."""

    def __init__(self, engine: Engine, gateway: Gateway, interval: float | None = None) -> None:
        from bot.tickets.repository import TicketStore

        self.interval = interval_seconds() if interval is None else interval
        self.scheduler = FollowUpScheduler(
            TicketStore(engine), gateway_sender(gateway), gateway_alert(gateway), language_of=gateway.language
        )
        self._task: asyncio.Task[None] | None = None
        settings = get_settings()
        self.purge_job = PurgeJob(engine, settings) if settings.purge_interval_hours > 0 else None
        self._purge_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self.scheduler.run_forever(self.interval), name="follow-ups")
        if self.purge_job is not None and self._purge_task is None:
            self._purge_task = asyncio.create_task(self.purge_job.run_forever(), name="retention-purge")

    async def stop(self) -> None:
        for task in (self._task, self._purge_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._purge_task = None
