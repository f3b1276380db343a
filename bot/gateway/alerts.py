"""Alerts for on-duty staff: a crisis or an urgent ticket posts one line to the staff chat.

The staff chat is a Telegram group outside the deployment, so an alert carries no personal content
(issue 19): the desk, the ticket number and where to look, never the person's words, the masked
text or a conversation id (which embeds the sender). Staff read the rest in the console.

The staff chat is a queue destination like any conversation (channel `STAFF_CHANNEL`), so alerts
get the outbound worker's retries and pacing; crisis alerts are queued with source `CRISIS_ALERT`,
which the worker sends before any other alert (bot/gateway/outbound.py).

Under load (issue 18):
- one crisis alert per conversation per `every_seconds`: staff need one ping, not a flood;
- a source (client address or integration key, `Inbound.source`) with `bulk.count` crisis
  conversations within `bulk.seconds` is a *bulk source*: its conversations still get the crisis
  answer and their ticket (marked `BULK_SIGNAL` by the gateway), but no line of their own; they are
  counted in the summary;
- after `coalesce.count` crisis alerts (from other sources) within `coalesce.seconds`, further ones
  are coalesced too: one summary line per desk at most every `summary_every` seconds ("过去5分钟新增
  N 个危机会话，请到员工后台查看").
A real crisis from a source that is not flooding therefore keeps its own immediate alert while a
script floods from one address; a flood spread over many addresses turns every alert, the real one
included, into the per-minute summary. Nothing is ever dropped from the console queue: tickets are
filed by the actions whatever happens to the alert.

On-call roster (`FRONTDOOR_ONCALL_CHAT_ID`): out of a desk's staff hours a crisis alert (or its
summary) goes to the on-call chat as well as to the staff chat, which keeps the record the next shift
reads; urgent-ticket and SLA lines stay in the staff chat. A crisis alert nobody acknowledged in staff
hours is escalated there too (`escalate`, from bot/gateway/handoff_watch.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable

from bot.gateway.models import CRISIS_ALERT
from bot.gateway.store import GatewayStore
from bot.privacy import mask
from bot.security.limits import Rate
from bot.shared_state.alert_memory import AlertMemory, MemoryAlertMemory

STAFF_CHANNEL = "telegram_staff"
BULK_SIGNAL = "疑似批量来源"
"""Added to the decision's signals of a crisis from a bulk source: the ticket shows it to staff."""
SUMMARY_EVERY = 60.0
COALESCE = Rate(5, 300)
"""Defaults (FRONTDOOR_ALERT_COALESCE, FRONTDOOR_ALERT_BULK_SOURCE): 5 crisis alerts in 5 minutes, and a
source with 3 crisis conversations in 5 minutes."""
BULK = Rate(3, 300)

log = logging.getLogger(__name__)


def crisis_line(desk: str, ticket: str | None = None) -> str:
    number = f" 工单 #{ticket}" if ticket else ""
    return f"【危机预警】{desk}服务台 新危机会话{number}，已给出紧急求助电话，请值班人员立即到员工后台查看。"


def ticket_line(desk: str, number: str) -> str:
    return f"【紧急工单】{desk}服务台 工单 #{number}，请值班人员尽快到员工后台处理。"


def unacknowledged_line(desk: str, minutes: int, ticket: str | None = None, crisis: bool = True) -> str:
    """The escalation of an alert nobody acknowledged: no personal content either."""
    number = f" 工单 #{ticket}" if ticket else ""
    if crisis:
        return f"【危机未响应】{desk}服务台{number} 危机预警已过{minutes}分钟仍无人接手，请值班人员立即到员工后台查看。"
    return f"【转人工未接入】{desk}服务台{number} 群众等待人工已超过{minutes}分钟，请值班人员尽快到员工后台查看。"


def summary_line(desk: str, count: int, bulk: int, window_seconds: float) -> str:
    minutes = max(1, round(window_seconds / 60))
    marked = f"（其中 {bulk} 个疑似批量来源）" if bulk else ""
    return f"【危机预警】{desk}服务台 过去{minutes}分钟新增 {count} 个危机会话{marked}，请到员工后台查看。"


class StaffAlerts:
    """`memory` keeps what the throttles and the coalescing count (bot/shared_state/alert_memory.py):
    this process's memory by default, Redis when app instances share it (then `clock` is time.time)."""

    def __init__(
        self,
        store: GatewayStore,
        staff_chat_id: str | None,
        every_seconds: float,
        wake: Callable[[str], None],
        coalesce: Rate = COALESCE,
        bulk: Rate = BULK,
        summary_every: float = SUMMARY_EVERY,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
        memory: AlertMemory | None = None,
        oncall_chat_id: str | None = None,
        on_duty: Callable[[str], bool] | None = None,
    ) -> None:
        """`oncall_chat_id`: the on-call roster's chat; `on_duty(desk)`: are the desk's staff on duty now
        (bot.intake.hours; by default always, so without it nothing goes to the on-call chat but escalations)."""
        self._store = store
        self._staff_chat_id = staff_chat_id
        self._oncall_chat_id = oncall_chat_id
        self._on_duty = on_duty or (lambda desk: True)
        self._every = every_seconds
        self._wake = wake
        self._coalesce, self._bulk = coalesce, bulk
        self._summary_every = summary_every
        self._clock = clock
        self.memory: AlertMemory = memory if memory is not None else MemoryAlertMemory(max_keys)
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.immediate = self.coalesced = self.summaries = 0

    # --- what the gateway asks ---------------------------------------------------------------
    async def is_bulk(self, source: str | None) -> bool:
        """Would one more crisis from `source` make it a bulk source? (The gateway marks the ticket.)"""
        if source is None or self._bulk.off:
            return False
        seen = await self.memory.source_crises(source, self._clock(), self._bulk.seconds, record=False)
        return seen + 1 >= self._bulk.count

    async def crisis(
        self,
        desk: str,
        conversation_id: str,
        tickets: list[str] | None = None,
        source: str | None = None,
    ) -> None:
        """A crisis in a conversation; later ones within `every_seconds` only announce new tickets."""
        now = self._clock()
        if not await self.memory.first_alert(conversation_id, now, self._every):
            for number in tickets or []:  # a new ticket is still worth a line
                await self.ticket(desk, number)
            return
        bulk = source is not None and not self._bulk.off
        if bulk:
            assert source is not None
            seen = await self.memory.source_crises(source, now, self._bulk.seconds, record=True)
            bulk = seen >= self._bulk.count
        own = await self.memory.note_crisis(desk, now, bulk, self._coalesce.seconds, self._window)
        crowded = not self._coalesce.off and own > self._coalesce.count
        if not bulk and not crowded:
            self.immediate += 1
            await self.notify(desk, crisis_line(desk, tickets[0] if tickets else None), CRISIS_ALERT)
            return
        self.coalesced += 1
        await self.memory.hold(desk)
        await self._summary_due(desk)

    async def ticket(self, desk: str, number: str) -> None:
        """An urgent ticket (e.g. 12355 rights protection) that staff must see first."""
        await self.notify(desk, ticket_line(desk, number))

    async def notify(self, desk: str, text: str, source: str = "alert") -> int | None:
        """Post an alert to the on-duty staff chat (FRONTDOOR_TELEGRAM_STAFF_CHAT_ID) through the queue.

        The text should carry no personal content; it is masked here to be safe. Returns the outbound
        id, or None when no staff chat is configured (then the alert is only logged).
        """
        masked = mask(text)
        if source == CRISIS_ALERT and self._oncall_chat_id and not self._on_duty(desk):
            await self._post(desk, self._oncall_chat_id, masked, source)  # out of hours: the on-call roster too
        if not self._staff_chat_id:
            log.warning("staff alert (no staff chat configured): %s", masked[:200])
            return None
        return await self._post(desk, self._staff_chat_id, masked, source)

    async def escalate(self, desk: str, text: str) -> int | None:
        """An alert nobody acknowledged: to the on-call chat (if any) and again to the staff chat."""
        masked = mask(text)
        if self._oncall_chat_id:
            await self._post(desk, self._oncall_chat_id, masked, CRISIS_ALERT)
        if not self._staff_chat_id:
            log.warning("escalation (no staff chat configured): %s", masked[:200])
            return None
        return await self._post(desk, self._staff_chat_id, masked, CRISIS_ALERT)

    async def _post(self, desk: str, chat_id: str, masked: str, source: str) -> int:
        conversation_id = await asyncio.to_thread(self._store.ensure_conversation, desk, STAFF_CHANNEL, chat_id)
        outbound_id = await asyncio.to_thread(self._store.enqueue, conversation_id, masked, source)
        self._wake(conversation_id)
        return outbound_id

    def close(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()

    # --- coalescing --------------------------------------------------------------------------
    @property
    def _window(self) -> float:
        return max(self._coalesce.seconds, self._bulk.seconds)

    async def _summary_due(self, desk: str) -> None:
        last = await self.memory.last_summary(desk)
        wait = (last if last is not None else -math.inf) + self._summary_every - self._clock()
        if wait <= 0:
            await self._summarise(desk)
        elif desk not in self._timers:
            loop = asyncio.get_running_loop()
            self._timers[desk] = loop.call_later(min(wait, self._summary_every), self._summarise_later, desk)

    def _summarise_later(self, desk: str) -> None:
        self._timers.pop(desk, None)
        task = asyncio.create_task(self._summarise(desk))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _summarise(self, desk: str) -> None:
        held = await self.memory.take_held(desk)  # another instance may have summarised them already
        if not held:
            return
        now = self._clock()
        await self.memory.summarised(desk, now)
        count, bulk = await self.memory.recent(desk, now, self._coalesce.seconds)
        self.summaries += 1
        try:
            await self.notify(desk, summary_line(desk, count, bulk, self._coalesce.seconds), CRISIS_ALERT)
        except Exception as exc:  # a database hiccup: the next coalesced crisis tries again
            await self.memory.hold(desk, held)
            log.error("crisis summary for desk %s failed: %s", desk, type(exc).__name__)
