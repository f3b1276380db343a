"""The gateway: the one path from every channel to Rasa.

Order of work for each inbound message, and why:
1. clean and size-limit the text, then persist it (before acknowledging: a crash loses nothing);
2. drop duplicates by the channel's message id (Telegram and webhooks redeliver);
3. take the conversation's lock so one person's messages are handled in order;
4. run the safety screen first: a crisis gets the emergency numbers even when Rasa is down, and
   on-duty staff get an alert in their Telegram chat;
5. while a human owns the conversation, hand the message to staff instead of Rasa;
6. call Rasa; an empty or failed answer becomes a clear apology with what to do next.

Replies go back in the channel's own response, or (push channels, staff replies, follow-ups, and
answers to messages recovered after a crash) into the outbound queue that `OutboundWorker`
delivers with retries and polling clients fetch with `queued_after`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from bot import text as textutil
from bot.gateway import messages
from bot.gateway.models import Conversation, InboundMessage
from bot.gateway.rasa_client import BotReply, RasaClient, RasaUnavailable
from bot.gateway.store import GatewayStore, Reply, conversation_key
from bot.privacy import mask

log = logging.getLogger(__name__)

__all__ = ["Gateway", "Inbound", "RateLimiter", "Reply", "SafetyScreen", "SafetyVerdict", "triage_safety_screen"]

STAFF_CHANNEL = "telegram_staff"  # the on-duty staff chat is a queue destination like any conversation


@dataclass(frozen=True)
class Inbound:
    """A message as a channel hands it over."""

    desk: str
    channel: str  # telegram | web | rest | terminal
    user: str  # the channel's user or chat id
    text: str | None
    message_id: str | None = None  # the channel's id, used to drop redeliveries
    queue_replies: bool = False  # push channels: replies go to the outbound queue, not the return value

    @property
    def conversation_id(self) -> str:
        return conversation_key(self.desk, self.channel, self.user)


@dataclass(frozen=True)
class SafetyVerdict:
    route: str | None  # "crisis" | "emergency" | None
    channel: str | None = None
    signals: tuple[str, ...] = ()
    reply: str | None = None


SafetyScreen = Callable[[str, str, Sequence[str]], SafetyVerdict]


def triage_safety_screen(text: str, desk: str, history: Sequence[str]) -> SafetyVerdict:
    """The triage engine's safety screen (lexicon, embeddings, conversation so far)."""
    from bot.triage.engine import get_engine

    result = get_engine().screen(text, desk, history)
    if result.route is None:
        return SafetyVerdict(route=None, signals=tuple(result.signals))
    route = str(getattr(result.route, "value", result.route))
    return SafetyVerdict(route=route, channel=result.channel, signals=tuple(result.signals), reply=result.reply)


class RateLimiter:
    """At most `limit` messages per `window` seconds per conversation: protects Rasa from floods."""

    def __init__(self, limit: int = 20, window: float = 30.0) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, deque[float]] = defaultdict(deque)

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        stamps = self._seen[key]
        while stamps and now - stamps[0] > self.window:
            stamps.popleft()
        if len(stamps) >= self.limit:
            return False
        stamps.append(now)
        return True


class Gateway:
    def __init__(
        self,
        engine: Engine,
        rasa: RasaClient,
        safety_screen: SafetyScreen = triage_safety_screen,
        rate_limiter: RateLimiter | None = None,
        max_chars: int = textutil.MAX_MESSAGE_CHARS,
        staff_chat_id: str | None = None,
        alert_every_seconds: float = 600.0,
    ) -> None:
        """The schema comes from the Alembic chain (`bot.tickets.db.migrate`), not from here."""
        self.store = GatewayStore(engine)
        self._rasa = rasa
        self._screen = safety_screen
        self._rate = rate_limiter or RateLimiter()
        self._max_chars = max_chars
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._staff_chat_id = staff_chat_id
        self._alert_every = alert_every_seconds
        self._last_alert: dict[str, float] = {}
        self._outbound_listeners: list[Callable[[str], None]] = []

    # --- the turn ----------------------------------------------------------------------------
    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Answer one inbound message; always returns at least one reply (empty only for a duplicate).

        With `inbound.queue_replies` the replies are also queued for the outbound worker; a
        duplicate then queues nothing, so a redelivered update is answered once.
        """
        text, truncated = textutil.truncate(textutil.clean(inbound.text), self._max_chars)
        async with self._locks[inbound.conversation_id]:
            record, duplicate = await asyncio.to_thread(
                self.store.persist_inbound, inbound.desk, inbound.channel, inbound.user, inbound.message_id, text
            )
            if duplicate is not None:
                return duplicate
            if not self._rate.allow(inbound.conversation_id):
                return await self._finish(inbound, record, [Reply(messages.rate_limited(), source="gateway")])
            replies = await self._answer(inbound, record, text)
            if truncated:
                replies.insert(0, Reply(messages.too_long(self._max_chars), source="gateway"))
            return await self._finish(inbound, record, replies)

    async def _answer(self, inbound: Inbound, record: InboundMessage, text: str) -> list[Reply]:
        if not text:
            return [Reply(messages.empty_message(), source="gateway")]
        cid = inbound.conversation_id
        history = await asyncio.to_thread(self.store.recent_texts, cid, record.id)
        verdict = await self._safe_screen(text, inbound.desk, history)
        if verdict.route is not None or verdict.signals:
            safety = {"route": verdict.route, "channel": verdict.channel, "signals": list(verdict.signals)}
            await asyncio.to_thread(self.store.save_safety, record.id, safety)
        if verdict.route == "crisis":
            await self._alert_crisis(inbound, text)
        conversation = await asyncio.to_thread(self.store.conversation, cid)
        assert conversation is not None
        if conversation.handoff:
            await asyncio.to_thread(self.store.mark, record.id, "to_staff")
            if verdict.route == "crisis":
                return [Reply(messages.handoff_crisis_reminder(inbound.desk), source="gateway")]
            return [Reply(messages.handed_to_staff(), source="gateway")]
        if conversation.bot_reset_pending:
            await self._reset_rasa_slots(cid)

        rasa_text = text
        if verdict.route == "crisis":
            rasa_text = "/crisis"
        elif verdict.route == "emergency" and verdict.channel:
            rasa_text = "/emergency" + json.dumps({"channel": verdict.channel})
        metadata: dict[str, Any] = {"desk": inbound.desk, "channel": inbound.channel, "text": text}
        if verdict.route:
            metadata["safety"] = {"route": verdict.route, "channel": verdict.channel, "signals": list(verdict.signals)}
        try:
            bot_replies = await self._rasa.send(cid, rasa_text, metadata)
        except RasaUnavailable:
            return await self._fallback(inbound, verdict)
        replies = await self._apply_custom(inbound, text, bot_replies)
        await self._watch_slots(inbound, text, verdict)
        if verdict.route == "crisis":
            await self._begin_handoff(cid, "crisis")
        return replies

    async def _apply_custom(self, inbound: Inbound, text: str, bot_replies: list[BotReply]) -> list[Reply]:
        """Machine data from actions: {"handoff": true, "reason": ...} and {"urgent_ticket": "<number>"}."""
        replies: list[Reply] = []
        for item in bot_replies:
            custom = item.custom or {}
            if custom.get("handoff"):
                await self._begin_handoff(inbound.conversation_id, str(custom.get("reason") or "asked"))
            if custom.get("urgent_ticket"):
                number = str(custom["urgent_ticket"])[:40]
                await self.notify_staff(
                    inbound.desk,
                    f"【紧急工单】{inbound.desk}服务台 工单 {number}\n会话：{inbound.conversation_id}\n"
                    f"内容：{mask(text)[:160]}\n请值班人员尽快在员工后台处理。",
                )
            if item.text:
                replies.append(Reply(item.text, item.buttons))
        return replies

    async def _watch_slots(self, inbound: Inbound, text: str, verdict: SafetyVerdict) -> None:
        """Actions ask for a human by setting the `handoff` slot (and `in_crisis`): bring one in."""
        if not self._rasa.can_read_slots:
            return
        slots = await self._rasa.slots(inbound.conversation_id)
        if not slots or slots.get("handoff") is not True:
            return
        in_crisis = slots.get("in_crisis") is True
        await self._begin_handoff(inbound.conversation_id, "crisis" if in_crisis else "asked")
        if in_crisis and verdict.route != "crisis":  # Rasa saw a crisis the screen did not
            await self._alert_crisis(inbound, text)

    async def _fallback(self, inbound: Inbound, verdict: SafetyVerdict) -> list[Reply]:
        if verdict.route == "crisis":
            await self._begin_handoff(inbound.conversation_id, "crisis")
            return [Reply(verdict.reply or messages.crisis_fallback(inbound.desk), source="gateway")]
        if verdict.route == "emergency" and verdict.channel:
            return [Reply(messages.emergency_fallback(verdict.channel), source="gateway")]
        return [Reply(messages.backend_down(inbound.desk), source="gateway")]

    async def _safe_screen(self, text: str, desk: str, history: Sequence[str]) -> SafetyVerdict:
        try:
            return await asyncio.to_thread(self._screen, text, desk, history)
        except Exception as exc:  # the screen must never take the conversation down with it
            log.error("safety screen failed (%s); continuing with Rasa's own crisis detection", type(exc).__name__)
            return SafetyVerdict(route=None, signals=("screen_error",))

    async def _finish(self, inbound: Inbound, record: InboundMessage, replies: list[Reply]) -> list[Reply]:
        await asyncio.to_thread(self.store.finish, record, replies, inbound.queue_replies)
        if inbound.queue_replies:
            self._wake(record.conversation_id)
        return replies

    # --- restart recovery --------------------------------------------------------------------
    async def start_recovery(self, wait_for_rasa: float = 30.0) -> asyncio.Task[int] | None:
        """Answer, exactly once, the messages a killed process had received but not answered.

        Call at start-up before serving: the affected conversations are locked at once, so a new
        message from the same person waits behind the recovered one; the work itself runs in the
        background (waiting up to `wait_for_rasa` seconds for Rasa) and its replies are queued.
        """
        rows = await asyncio.to_thread(self.store.unanswered)
        if not rows:
            return None
        by_conversation: dict[str, list[tuple[InboundMessage, Conversation]]] = defaultdict(list)
        for inbound, conversation in rows:
            by_conversation[conversation.id].append((inbound, conversation))
        for conversation_id in by_conversation:
            await self._locks[conversation_id].acquire()
        log.warning("recovering %d unanswered message(s) in %d conversation(s)", len(rows), len(by_conversation))
        return asyncio.create_task(self._recover(by_conversation, wait_for_rasa), name="gateway-recovery")

    async def _recover(self, work: dict[str, list[tuple[InboundMessage, Conversation]]], wait_for_rasa: float) -> int:
        deadline = time.monotonic() + wait_for_rasa
        while time.monotonic() < deadline and not await self._rasa.is_up():
            await asyncio.sleep(0.5)
        done = 0
        for conversation_id, items in work.items():
            try:
                for record, conversation in items:
                    inbound = Inbound(
                        desk=conversation.desk, channel=conversation.channel, user=conversation.external_user,
                        text=record.text, message_id=record.channel_message_id, queue_replies=True,
                    )
                    try:
                        await self._finish(inbound, record, await self._answer(inbound, record, record.text))
                        done += 1
                    except Exception as exc:  # one bad message must not block the others
                        log.error("recovery of message %s failed: %s", record.id, type(exc).__name__)
            finally:
                self._locks[conversation_id].release()
        log.warning("recovered %d message(s)", done)
        return done

    # --- handoff -----------------------------------------------------------------------------
    def set_handoff(self, conversation_id: str, on: bool, reason: str | None = None) -> None:
        """Give the conversation to a human (on) or back to the bot (off)."""
        self.store.set_handoff(conversation_id, on, reason)

    async def _begin_handoff(self, conversation_id: str, reason: str) -> None:
        if await asyncio.to_thread(self.store.set_handoff, conversation_id, True, reason):
            log.info("conversation %s handed to staff (%s)", mask(conversation_id), reason)

    async def _reset_rasa_slots(self, conversation_id: str) -> None:
        """After staff hand back: Rasa's handoff/in_crisis slots would otherwise hand it over again."""
        if not self._rasa.can_read_slots or await self._rasa.set_slots(
            conversation_id, {"handoff": False, "in_crisis": False}
        ):
            await asyncio.to_thread(self.store.clear_reset, conversation_id)

    # --- staff alerts ------------------------------------------------------------------------
    async def _alert_crisis(self, inbound: Inbound, text: str) -> None:
        """At most one alert per conversation per `alert_every_seconds`: staff need one ping, not a flood."""
        now = time.monotonic()
        last = self._last_alert.get(inbound.conversation_id)
        if last is not None and now - last < self._alert_every:
            return
        self._last_alert[inbound.conversation_id] = now
        await self.notify_staff(
            inbound.desk,
            f"【危机预警】{inbound.desk}服务台\n会话：{inbound.conversation_id}（{inbound.channel}）\n"
            f"内容：{mask(text)[:160]}\n已给出紧急求助电话，请值班人员立即在员工后台接入。",
        )

    async def notify_staff(self, desk: str, text: str) -> int | None:
        """Post an alert to the on-duty staff chat (FRONTDOOR_TELEGRAM_STAFF_CHAT_ID) through the queue.

        The text should already be masked; it is masked again here to be safe. Returns the outbound
        id, or None when no staff chat is configured (then the alert is only logged).
        """
        masked = mask(text)
        if not self._staff_chat_id:
            log.warning("staff alert (no staff chat configured): %s", masked[:200])
            return None
        conversation_id = await asyncio.to_thread(self.store.ensure_conversation, desk, STAFF_CHANNEL, self._staff_chat_id)
        outbound_id = await asyncio.to_thread(self.store.enqueue, conversation_id, masked, "alert")
        self._wake(conversation_id)
        return outbound_id

    # --- queued messages ---------------------------------------------------------------------
    def on_outbound(self, listener: Callable[[str], None]) -> None:
        """`listener(conversation_id)` is called when a message is queued (the outbound worker wakes up)."""
        self._outbound_listeners.append(listener)

    def _wake(self, conversation_id: str) -> None:
        for listener in self._outbound_listeners:
            with contextlib.suppress(Exception):
                listener(conversation_id)

    def enqueue(self, conversation_id: str, text: str, source: str = "followup",
                buttons: list[dict[str, str]] | None = None) -> int:
        """Queue a message for the person (a follow-up, a status change); raises KeyError for an unknown conversation."""
        text = textutil.clean(text)
        if not text:
            raise ValueError("a message needs text")
        outbound_id = self.store.enqueue(conversation_id, text, source, buttons)
        self._wake(conversation_id)
        return outbound_id

    def staff_reply(self, conversation_id: str, text: str, staff_user: str) -> int:
        """Queue a staff member's message for the person; the worker pushes it or the client polls it.

        Returns the outbound id. Raises KeyError for an unknown conversation, ValueError for no text.
        """
        outbound_id = self.enqueue(conversation_id, text, "staff")
        log.info("staff %s replied in %s", mask(staff_user), mask(conversation_id))
        return outbound_id

    def queued_after(self, conversation_id: str, after_id: int) -> list[dict[str, Any]]:
        """Queued messages (staff replies, follow-ups, recovered answers) after `after_id`; the web chat polls this."""
        return self.store.queued_after(conversation_id, after_id)

    def staff_messages_after(self, conversation_id: str, after_id: int) -> list[dict[str, Any]]:
        """Only the staff messages after `after_id` (kept for callers that show staff messages apart)."""
        return self.store.queued_after(conversation_id, after_id, sources=("staff",))

    def conversation(self, conversation_id: str) -> Conversation | None:
        return self.store.conversation(conversation_id)

    def unanswered(self) -> list[InboundMessage]:
        """Messages persisted but never answered (a crash between receiving and replying)."""
        return [inbound for inbound, _ in self.store.unanswered()]
