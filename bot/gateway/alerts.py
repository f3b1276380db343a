"""Alerts for on-duty staff: a crisis or an urgent ticket posts a masked line to the staff chat.

The staff chat is a queue destination like any conversation (channel `STAFF_CHANNEL`), so alerts
get the outbound worker's retries and pacing. At most one crisis alert per conversation per
`every_seconds`: staff need one ping, not a flood.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.gateway.store import GatewayStore
from bot.privacy import mask

STAFF_CHANNEL = "telegram_staff"

log = logging.getLogger(__name__)


class StaffAlerts:
    def __init__(
        self,
        store: GatewayStore,
        staff_chat_id: str | None,
        every_seconds: float,
        wake: Callable[[str], None],
    ) -> None:
        self._store = store
        self._staff_chat_id = staff_chat_id
        self._every = every_seconds
        self._wake = wake
        self._last: dict[str, float] = {}

    async def crisis(
        self, desk: str, conversation_id: str, channel: str, text: str, tickets: list[str] | None = None
    ) -> None:
        """A crisis in a conversation; later ones within `every_seconds` only announce new tickets."""
        now = time.monotonic()
        last = self._last.get(conversation_id)
        if last is not None and now - last < self._every:
            for number in tickets or []:  # a new ticket is still worth a line
                await self.ticket(desk, conversation_id, text, number)
            return
        self._last[conversation_id] = now
        ticket = f" 工单 {tickets[0]}" if tickets else ""
        await self.notify(
            desk,
            f"【危机预警】{desk}服务台{ticket}\n会话：{conversation_id}（{channel}）\n"
            f"内容：{mask(text)[:160]}\n已给出紧急求助电话，请值班人员立即在员工后台接入。",
        )

    async def ticket(self, desk: str, conversation_id: str, text: str, number: str) -> None:
        """An urgent ticket (e.g. 12355 rights protection) that staff must see first."""
        await self.notify(
            desk,
            f"【紧急工单】{desk}服务台 工单 {number}\n会话：{conversation_id}\n"
            f"内容：{mask(text)[:160]}\n请值班人员尽快在员工后台处理。",
        )

    async def notify(self, desk: str, text: str) -> int | None:
        """Post an alert to the on-duty staff chat (FRONTDOOR_TELEGRAM_STAFF_CHAT_ID) through the queue.

        The text should already be masked; it is masked again here to be safe. Returns the outbound
        id, or None when no staff chat is configured (then the alert is only logged).
        """
        masked = mask(text)
        if not self._staff_chat_id:
            log.warning("staff alert (no staff chat configured): %s", masked[:200])
            return None
        conversation_id = await asyncio.to_thread(
            self._store.ensure_conversation, desk, STAFF_CHANNEL, self._staff_chat_id
        )
        outbound_id = await asyncio.to_thread(self._store.enqueue, conversation_id, masked, "alert")
        self._wake(conversation_id)
        return outbound_id
