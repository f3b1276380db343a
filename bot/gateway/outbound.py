"""The outbound queue worker: delivers queued messages to push channels, with retries and backoff.

Staff replies, follow-ups, alerts to the staff chat and every Telegram reply wait in `gw_outbound`
as `pending`. One task per conversation sends them in order through the channel's `Pusher`; a
failure is retried later (exponential backoff, Telegram's `retry_after` respected) without letting a
newer message overtake it; a permanent failure (bot blocked, chat gone) or too many attempts marks
the row `failed`. Rows live in the database, so a restart resumes where it stopped (a row caught
mid-send goes back to `pending`: delivery is at least once). Channels without a pusher (web, REST)
are left to their clients' polling.

Several instances on one PostgreSQL database: a `sending` row carries its instance (`owner`) and a
lease (`lease_until`, renewed with each part sent). The claim locks the conversation's row with
`SELECT ... FOR UPDATE SKIP LOCKED` (an instance that finds it locked leaves the conversation to the
one claiming it and looks again shortly), then flips the oldest due row with a conditional UPDATE; a
`sending` row is taken over only once its lease has expired (its instance died), never while another
live instance sends it, and start-up resets only such expired rows (or its own, under the same
instance id). On SQLite (one process) the conditional UPDATE alone is the claim, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Engine, case, false, select, update
from sqlalchemy.orm import sessionmaker

from bot import language as lang
from bot.gateway.models import ALERT_SOURCES, CRISIS_ALERT, Conversation, OutboundMessage, as_utc, utcnow
from bot.privacy import mask

log = logging.getLogger(__name__)


class DeliveryError(Exception):
    """A send failed; `permanent` means retrying cannot help, `retry_after` is the channel's own wait."""

    def __init__(self, reason: str, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.permanent = permanent
        self.retry_after = retry_after


@dataclass
class OutboundItem:
    id: int
    conversation_id: str
    desk: str
    channel: str
    user: str
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    parts_sent: int = 0
    attempts: int = 0


Progress = Callable[[int], Awaitable[None]]

UNDELIVERABLE = "undeliverable:"
"""How `last_error` starts when a channel says this person cannot be reached this way now (WeChat's
45015/45047: outside the 48 h customer-service window): the console shows such messages with a
call-back suggestion (`GatewayStore.undeliverable`)."""

NOT_FOR_THE_PERSON = ALERT_SOURCES
"""Sources of rows that go to staff (the on-duty chat), never converted for a reader."""


def for_person(
    text: str, buttons: list[dict[str, str]] | None, language: str | None, source: str = "bot"
) -> tuple[str, list[dict[str, str]]]:
    """The one place where a message for the person is made readable in their script, on its way out.

    Every outbound row passes here before it is stored (`GatewayStore.finish` for the answers of a
    turn, `GatewayStore.enqueue` for staff replies, follow-ups and status messages), so the row holds
    what is sent. In a Traditional conversation (bot/language.py) the text and the button titles
    are converted to Traditional: Rasa's responses, the gateway's own messages, staff replies and
    return-visit questions alike; payloads stay as they are (Rasa reads them). English texts are
    written in English where they are made, never translated here.
    """
    buttons = list(buttons or [])
    if language != lang.TRADITIONAL or source in NOT_FOR_THE_PERSON:
        return text, buttons
    converted = [{**b, "title": lang.to_traditional(b["title"])} if b.get("title") else dict(b) for b in buttons]
    return lang.to_traditional(text), converted


class Pusher(Protocol):
    async def push(self, item: OutboundItem, progress: Progress) -> None:
        """Send the item (from part `item.parts_sent` on), calling `progress(n)` after each part; raise on failure."""


class OutboundWorker:
    def __init__(
        self,
        engine: Engine,
        pushers: dict[str, Pusher],
        base_delay: float = 1.0,
        max_delay: float = 300.0,
        max_attempts: int = 10,
        scan_interval: float = 2.0,
        instance_id: str = "local",
        lease_seconds: float = 120.0,
    ) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.shared = engine.dialect.name != "sqlite"
        self.instance = instance_id
        self.lease = timedelta(seconds=lease_seconds)
        self.pushers = pushers
        self.base_delay, self.max_delay, self.max_attempts = base_delay, max_delay, max_attempts
        self.scan_interval = scan_interval
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None
        self._requested: set[str] = set()
        self._active: dict[str, asyncio.Task[None]] = {}
        self._again: set[str] = set()
        self._main: asyncio.Task[None] | None = None
        self._stopping = False

    # --- life cycle --------------------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._stopping = False
        await asyncio.to_thread(self._reset_sending)
        self._main = asyncio.create_task(self._run(), name="outbound-worker")

    async def stop(self, grace: float = 5.0) -> None:
        """Stop the scan loop and the deliveries in flight; a row caught mid-send stays `sending` and is
        sent again after a restart.

        Why not just cancel and await: on Python 3.11 `asyncio.wait_for` swallows a cancellation that
        arrives in the same loop turn as its inner future's result, and a loop whose cancel was
        swallowed never ends, so an awaiting `stop()` hung CI for an hour. The loop also checks a flag,
        and the wait here is bounded and logged, never forever.
        """
        self._stopping = True
        if self._event is not None:
            self._event.set()
        tasks = [t for t in (self._main, *self._active.values()) if t is not None and not t.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            if pending:
                log.error("outbound worker: %d task(s) did not stop within %.0f s", len(pending), grace)
        self._main = None

    def wake(self, conversation_id: str | None = None) -> None:
        """Deliver this conversation's queue now (None: rescan everything). Safe from any thread."""
        if self._loop is None or self._event is None:
            return
        if conversation_id is not None:
            self._requested.add(conversation_id)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._event.set()
        else:
            self._loop.call_soon_threadsafe(self._event.set)

    async def _run(self) -> None:
        assert self._event is not None
        scan = True
        while not self._stopping:
            if scan:
                try:
                    for conversation_id in await asyncio.to_thread(self._due_conversations):
                        self._spawn(conversation_id)
                except Exception as exc:  # a database hiccup must not stop deliveries for good
                    log.error("outbound scan failed: %s", type(exc).__name__)
            requested, self._requested = self._requested, set()
            for conversation_id in requested:
                self._spawn(conversation_id)
            self._event.clear()
            try:  # asyncio.timeout, not wait_for: it never swallows a cancellation (see stop)
                async with asyncio.timeout(self.scan_interval):
                    await self._event.wait()
                scan = False
            except TimeoutError:
                scan = True

    def _spawn(self, conversation_id: str) -> None:
        if self._stopping:
            return
        if conversation_id in self._active:
            self._again.add(conversation_id)  # the running task looks again before it ends
            return
        self._active[conversation_id] = asyncio.create_task(self._deliver(conversation_id))

    # --- one conversation --------------------------------------------------------------------
    async def _deliver(self, conversation_id: str) -> None:
        try:
            while not self._stopping:
                self._again.discard(conversation_id)
                item = await asyncio.to_thread(self._claim_next, conversation_id)
                if item is None:
                    if conversation_id in self._again:
                        continue
                    return
                pusher = self.pushers[item.channel]
                try:
                    await pusher.push(item, self._progress(item.id))
                except Exception as exc:
                    error = exc if isinstance(exc, DeliveryError) else DeliveryError(type(exc).__name__)
                    retry_in = await asyncio.to_thread(self._failed, item, error)
                    if retry_in is not None:  # newer messages wait so the order holds
                        assert self._loop is not None
                        self._loop.call_later(retry_in + 0.05, self.wake, conversation_id)
                        return
                    continue
                await asyncio.to_thread(self._sent, item.id)
        except Exception as exc:
            log.error("outbound delivery for %s stopped: %s", mask(conversation_id), type(exc).__name__)
        finally:
            self._active.pop(conversation_id, None)

    def _progress(self, outbound_id: int) -> Progress:
        async def record(parts: int) -> None:
            await asyncio.to_thread(self._set_parts, outbound_id, parts)

        return record

    # --- database ----------------------------------------------------------------------------
    def _taken_over(self, now: datetime) -> Any:
        """`sending` rows this instance may send again: its own (a previous life under the same instance
        id) or any whose lease expired; on SQLite (one process) every one."""
        sending = OutboundMessage.status == "sending"
        if not self.shared:
            return sending
        return sending & (
            OutboundMessage.lease_until.is_(None)
            | (OutboundMessage.lease_until < now)
            | (OutboundMessage.owner == self.instance)
        )

    def _expired_sending(self, now: datetime) -> Any:
        """A `sending` row whose instance's lease ran out (never one on SQLite: one process, one sender)."""
        if not self.shared:
            return false()
        return (OutboundMessage.status == "sending") & (OutboundMessage.lease_until < now)

    def _reset_sending(self) -> None:
        """Rows caught mid-send by a crash are sent again (at least once beats never); with several
        instances only those no live instance is sending (`_taken_over`)."""
        with self._sessions() as session:
            result = session.execute(
                update(OutboundMessage)
                .where(self._taken_over(utcnow()))
                .values(status="pending", owner=None, lease_until=None)
            )
            session.commit()
            count = int(getattr(result, "rowcount", 0) or 0)
            if count:
                log.warning("%d outbound message(s) were interrupted mid-send; sending again", count)

    def _due_conversations(self) -> list[str]:
        if not self.pushers:
            return []
        now = utcnow()
        with self._sessions() as session:
            rows = session.scalars(
                select(OutboundMessage.conversation_id)
                .join(Conversation, Conversation.id == OutboundMessage.conversation_id)
                .where(
                    # pending, or being sent by an instance whose lease ran out (it died mid-send)
                    (OutboundMessage.status == "pending") | self._expired_sending(now),
                    OutboundMessage.delivery == "queue",
                    Conversation.channel.in_(list(self.pushers)),
                    (OutboundMessage.next_attempt_at.is_(None)) | (OutboundMessage.next_attempt_at <= now),
                )
                .distinct()
                .limit(500)
            ).all()
            return list(rows)

    def _claim_next(self, conversation_id: str) -> OutboundItem | None:
        """The oldest pending message of the conversation if it is due, marked 'sending' (else None).

        Crisis alerts come first (only the staff chat has them): one is never queued behind urgent-ticket
        or SLA alerts waiting for Telegram's group pace."""
        now = utcnow()
        with self._sessions() as session:
            conversation = session.scalars(
                select(Conversation).where(Conversation.id == conversation_id).with_for_update(skip_locked=True)
            ).first()  # PostgreSQL: another instance claiming in this conversation now makes this None
            if conversation is None:
                exists = session.scalar(select(Conversation.id).where(Conversation.id == conversation_id))
                if exists is not None and self._loop is not None:  # locked: look again shortly
                    self._loop.call_soon_threadsafe(self._loop.call_later, 0.25, self.wake, conversation_id)
                return None
            if conversation.channel not in self.pushers:
                return None
            row = session.scalars(
                select(OutboundMessage)
                .where(
                    OutboundMessage.conversation_id == conversation_id,
                    OutboundMessage.status.in_(("pending", "sending")),
                    OutboundMessage.delivery == "queue",
                )
                .order_by(case((OutboundMessage.source == CRISIS_ALERT, 0), else_=1), OutboundMessage.id)
                .limit(1)
            ).first()
            if row is None:
                return None
            if row.status == "sending" and not (
                self.shared and row.lease_until is not None and as_utc(row.lease_until) < now
            ):
                return None  # being sent (here, or by a live instance): the order holds behind it
            if row.next_attempt_at is not None and as_utc(row.next_attempt_at) > now:
                return None
            claimed = session.execute(
                update(OutboundMessage)
                .where(
                    OutboundMessage.id == row.id,
                    (OutboundMessage.status == "pending") | self._expired_sending(now),
                )
                .values(status="sending", owner=self.instance, lease_until=now + self.lease)
            )
            session.commit()
            if getattr(claimed, "rowcount", 1) != 1:
                return None
            return OutboundItem(
                id=row.id,
                conversation_id=conversation_id,
                desk=conversation.desk,
                channel=conversation.channel,
                user=conversation.external_user,
                text=row.text,
                buttons=row.buttons or [],
                parts_sent=row.parts_sent,
                attempts=row.attempts,
            )

    def _set_parts(self, outbound_id: int, parts: int) -> None:
        with self._sessions() as session:
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == outbound_id)
                .values(parts_sent=parts, lease_until=utcnow() + self.lease)  # each part sent renews the lease
            )
            session.commit()

    def _sent(self, outbound_id: int) -> None:
        with self._sessions() as session:
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == outbound_id)
                .values(status="sent", sent_at=utcnow(), last_error=None, lease_until=None)
            )
            session.commit()

    def _failed(self, item: OutboundItem, error: DeliveryError) -> float | None:
        """Record a failed attempt; seconds until the retry, or None when the message is given up ('failed')."""
        attempts = item.attempts + 1
        give_up = error.permanent or attempts >= self.max_attempts
        delay = min(self.max_delay, self.base_delay * 2 ** (attempts - 1))
        if error.retry_after:
            delay = max(delay, error.retry_after)
        with self._sessions() as session:
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id == item.id)
                .values(
                    status="failed" if give_up else "pending",
                    attempts=attempts,
                    next_attempt_at=None if give_up else utcnow() + timedelta(seconds=delay),
                    last_error=mask(str(error))[:300],
                    lease_until=None,
                )
            )
            session.commit()
        if give_up:
            log.error(
                "outbound %s to %s failed for good after %d attempt(s): %s",
                item.id,
                mask(item.conversation_id),
                attempts,
                mask(str(error)),
            )
        else:
            log.warning(
                "outbound %s to %s failed (%s); retry in %.1f s",
                item.id,
                mask(item.conversation_id),
                mask(str(error)),
                delay,
            )
        return None if give_up else delay
