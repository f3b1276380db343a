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
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine

from bot import text as textutil
from bot.gateway import check_in, messages
from bot.gateway.models import Conversation, InboundMessage, utcnow
from bot.gateway.rasa_client import BotReply, RasaClient, RasaUnavailable
from bot.gateway.store import GatewayStore, Reply, Turn, conversation_key
from bot.privacy import mask
from bot.triage.safety import CHECK_IN_SIGNAL

HEALTH_RECHECK_SECONDS = 3.0  # a full /health of the action server at most this often

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


@dataclass
class ActionSignals:
    """What the actions asked the gateway for in one turn (their custom payloads)."""

    handoff: str | None = None  # the reason, when an action handed the conversation to staff
    tickets: list[str] = field(default_factory=list)  # urgent ticket numbers to alert staff about


@dataclass
class Outcome:
    """The answer to one message and how to close it (`to_staff` while a human owns the conversation)."""

    replies: list[Reply]
    status: str = "answered"
    safety: dict[str, Any] | None = None


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
        action_server_url: str | None = None,
    ) -> None:
        """The schema comes from the Alembic chain (`bot.tickets.db.migrate`), not from here.

        With `action_server_url` (the webhook URL Rasa calls) every turn also checks the action
        server's health: when it is down Rasa still answers, but with whatever needs no action.
        """
        self.store = GatewayStore(engine)
        self._rasa = rasa
        self._screen = safety_screen
        self._rate = rate_limiter or RateLimiter()
        self._max_chars = max_chars
        self._locks: dict[str, asyncio.Lock] = {}
        self._lock_users: dict[str, int] = defaultdict(int)  # locks of idle conversations are forgotten
        self._staff_chat_id = staff_chat_id
        self._alert_every = alert_every_seconds
        self._last_alert: dict[str, float] = {}
        self._outbound_listeners: list[Callable[[str], None]] = []
        self._action_health_url = (
            action_server_url.rstrip("/").removesuffix("/webhook") + "/health" if action_server_url else None
        )
        self._health_client = httpx.AsyncClient(timeout=httpx.Timeout(1.0, connect=0.5))
        self._health_checked_at = float("-inf")  # monotonic time of the last /health that answered 200

    async def aclose(self) -> None:
        await self._health_client.aclose()

    # --- the turn ----------------------------------------------------------------------------
    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Answer one inbound message; always returns at least one reply (empty only for a duplicate).

        With `inbound.queue_replies` the replies are also queued for the outbound worker; a
        duplicate then queues nothing, so a redelivered update is answered once.
        """
        text, truncated = textutil.truncate(textutil.clean(inbound.text), self._max_chars)
        async with self._conversation_lock(inbound.conversation_id):
            record, duplicate, turn = await asyncio.to_thread(
                self.store.persist_inbound, inbound.desk, inbound.channel, inbound.user, inbound.message_id, text
            )
            if duplicate is not None:
                return duplicate
            if not self._rate.allow(inbound.conversation_id):
                return await self._finish(
                    inbound, record, Outcome([Reply(messages.rate_limited(inbound.desk), source="gateway")])
                )
            outcome = await self._answer(inbound, text, turn)
            if truncated:
                outcome.replies.insert(0, Reply(messages.too_long(inbound.desk, self._max_chars), source="gateway"))
            return await self._finish(inbound, record, outcome)

    @contextlib.asynccontextmanager
    async def _conversation_lock(self, conversation_id: str) -> AsyncIterator[None]:
        """One person's messages are handled one at a time, in the order they arrived."""
        await self._acquire(conversation_id)
        try:
            yield
        finally:
            self._release(conversation_id)

    async def _acquire(self, conversation_id: str) -> None:
        self._lock_users[conversation_id] += 1
        lock = self._locks.setdefault(conversation_id, asyncio.Lock())
        try:
            await lock.acquire()
        except BaseException:
            self._forget(conversation_id)
            raise

    def _release(self, conversation_id: str) -> None:
        self._locks[conversation_id].release()
        self._forget(conversation_id)

    def _forget(self, conversation_id: str) -> None:
        self._lock_users[conversation_id] -= 1
        if self._lock_users[conversation_id] <= 0:
            del self._lock_users[conversation_id]
            self._locks.pop(conversation_id, None)

    async def _answer(self, inbound: Inbound, text: str, turn: Turn) -> Outcome:
        if not text:
            return Outcome([Reply(messages.empty_message(inbound.desk), source="gateway")])
        cid = inbound.conversation_id
        verdict, actions_up = await asyncio.gather(
            self._safe_screen(text, inbound.desk, turn.history), self._actions_up()
        )
        verdict = self._hear_check_in_answer(text, turn, verdict)
        safety = None
        if verdict.route is not None or verdict.signals:
            safety = {"route": verdict.route, "channel": verdict.channel, "signals": list(verdict.signals)}
        if turn.handoff:
            if verdict.route == "crisis":
                await self._alert_crisis(inbound, text)
                return Outcome(
                    [Reply(messages.handoff_crisis_reminder(inbound.desk), source="gateway")], "to_staff", safety
                )
            return Outcome([Reply(messages.handed_to_staff(inbound.desk), source="gateway")], "to_staff", safety)
        if verdict.route is None and self._heard_no(text, turn):
            # the no answers the check-in, not the question that came before it (a form question): thank
            # the person and ask that one again; Rasa never sees the no, so its form still waits for it
            asked = turn.asked_before_check_in
            replies = [Reply(messages.check_in_no(resuming=asked is not None), source="gateway")]
            return Outcome([*replies, asked] if asked is not None else replies, safety=safety)
        if turn.bot_reset_pending:
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
            if not actions_up:  # Rasa would answer without its actions ("didn't understand"): apologise instead
                raise RasaUnavailable("the action server is down")
            bot_replies = await self._rasa.send(cid, rasa_text, metadata)
        except RasaUnavailable:
            if verdict.route == "crisis":
                await self._alert_crisis(inbound, text)
            return Outcome(await self._fallback(inbound, verdict), safety=safety)
        replies, signals = await self._apply_custom(inbound, bot_replies)
        crisis = verdict.route == "crisis" or signals.handoff == "crisis"
        if crisis:
            await self._begin_handoff(cid, "crisis")
            await self._alert_crisis(inbound, text, signals.tickets[:1])
        elif signals.handoff:
            await self._begin_handoff(cid, signals.handoff)
        for number in signals.tickets[1 if crisis else 0 :]:
            await self._alert_ticket(inbound, text, number)
        if not signals.handoff and self._check_in_due(turn, verdict):
            replies.append(Reply(messages.check_in(inbound.desk), source=check_in.SOURCE))
        return Outcome(replies, safety=safety)

    @staticmethod
    def _check_in_due(turn: Turn, verdict: SafetyVerdict) -> bool:
        """A message just under the crisis bar gets the check-in question, at most once an hour per
        conversation (when it was last asked is read from the outbound table: survives restarts)."""
        if verdict.route is not None or not any(s.startswith(CHECK_IN_SIGNAL) for s in verdict.signals):
            return False
        return check_in.check_in_due(turn.last_check_in, utcnow())

    @staticmethod
    def _heard_no(text: str, turn: Turn) -> bool:
        """Is this message a no to the check-in question asked with the previous answer?"""
        due = check_in.answer_due(turn.last_check_in, turn.check_in_was_last_turn, utcnow())
        return due and check_in.read_answer(text) is check_in.Answer.NO

    @staticmethod
    def _hear_check_in_answer(text: str, turn: Turn, verdict: SafetyVerdict) -> SafetyVerdict:
        """The message right after the check-in question is its answer: a yes, or a second message
        close to the crisis bar, is a crisis (the person said so, or said it twice); see `check_in`."""
        if verdict.route is not None or not check_in.answer_due(
            turn.last_check_in, turn.check_in_was_last_turn, utcnow()
        ):
            return verdict
        answer = check_in.read_answer(text)
        if answer is check_in.Answer.YES:
            reason = f"{check_in.ANSWER_SIGNAL}:yes"
        elif answer is None and check_in.close_again(verdict.signals):
            reason = f"{check_in.ANSWER_SIGNAL}:close-again"
        else:
            return verdict
        return SafetyVerdict(route="crisis", channel="12356", signals=(*verdict.signals, reason))

    @staticmethod
    async def _apply_custom(inbound: Inbound, bot_replies: list[BotReply]) -> tuple[list[Reply], ActionSignals]:
        """Machine data from actions: {"handoff": true, "reason": ...} and {"urgent_ticket": "<number>"}."""
        replies: list[Reply] = []
        signals = ActionSignals()
        for item in bot_replies:
            custom = item.custom or {}
            if custom.get("handoff"):
                reason = str(custom.get("reason") or "asked")[:40]
                signals.handoff = "crisis" if "crisis" in (reason, signals.handoff) else reason
            if custom.get("urgent_ticket"):
                signals.tickets.append(str(custom["urgent_ticket"])[:40])
            if item.text:
                replies.append(Reply(item.text, item.buttons))
        return replies, signals

    async def _fallback(self, inbound: Inbound, verdict: SafetyVerdict) -> list[Reply]:
        if verdict.route == "crisis":
            await self._begin_handoff(inbound.conversation_id, "crisis")
            return [Reply(verdict.reply or messages.crisis_fallback(inbound.desk), source="gateway")]
        if verdict.route == "emergency" and verdict.channel:
            return [Reply(messages.emergency_fallback(verdict.channel), source="gateway")]
        return [Reply(messages.backend_down(inbound.desk), source="gateway")]

    async def _actions_up(self) -> bool:
        """Is the action server there? Checked beside the safety screen, so it adds no wait.

        A full GET of /health at most every HEALTH_RECHECK_SECONDS; in between only a TCP connect to
        its port, which still notices a stopped or killed server at once. Under load the GET on
        every message cost a fifth of the app's CPU (py-spy), the connect costs almost nothing.
        """
        if self._action_health_url is None:
            return True
        if time.monotonic() - self._health_checked_at < HEALTH_RECHECK_SECONDS:
            if await self._port_open(self._action_health_url):
                return True
            self._health_checked_at = float("-inf")
        try:
            response = await self._health_client.get(self._action_health_url)
        except httpx.HTTPError:
            log.warning("the action server does not answer its health check")
            return False
        if response.status_code != 200:
            return False
        self._health_checked_at = time.monotonic()
        return True

    @staticmethod
    async def _port_open(url: str) -> bool:
        parsed = httpx.URL(url)
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(parsed.host, parsed.port or 80), 0.5)
        except (OSError, asyncio.TimeoutError):
            return False
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return True

    async def _safe_screen(self, text: str, desk: str, history: Sequence[str]) -> SafetyVerdict:
        try:
            return await asyncio.to_thread(self._screen, text, desk, history)
        except Exception as exc:  # the screen must never take the conversation down with it
            log.error("safety screen failed (%s); continuing with Rasa's own crisis detection", type(exc).__name__)
            return SafetyVerdict(route=None, signals=("screen_error",))

    async def _finish(self, inbound: Inbound, record: InboundMessage, outcome: Outcome) -> list[Reply]:
        await asyncio.to_thread(
            self.store.finish, record, outcome.replies, inbound.queue_replies, outcome.status, outcome.safety
        )
        if inbound.queue_replies:
            self._wake(record.conversation_id)
        return outcome.replies

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
            await self._acquire(conversation_id)
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
                        desk=conversation.desk,
                        channel=conversation.channel,
                        user=conversation.external_user,
                        text=record.text,
                        message_id=record.channel_message_id,
                        queue_replies=True,
                    )
                    try:
                        turn = await asyncio.to_thread(self.store.history, conversation_id, record.id)
                        await self._finish(inbound, record, await self._answer(inbound, record.text, turn))
                        done += 1
                    except Exception as exc:  # one bad message must not block the others
                        log.error("recovery of message %s failed: %s", record.id, type(exc).__name__)
            finally:
                self._release(conversation_id)
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
        if not self._rasa.can_set_slots or await self._rasa.set_slots(
            conversation_id, {"handoff": False, "in_crisis": False}
        ):
            await asyncio.to_thread(self.store.clear_reset, conversation_id)

    # --- staff alerts ------------------------------------------------------------------------
    async def _alert_crisis(self, inbound: Inbound, text: str, tickets: list[str] | None = None) -> None:
        """At most one alert per conversation per `alert_every_seconds`: staff need one ping, not a flood."""
        now = time.monotonic()
        last = self._last_alert.get(inbound.conversation_id)
        if last is not None and now - last < self._alert_every:
            for number in tickets or []:  # a new ticket is still worth a line
                await self._alert_ticket(inbound, text, number)
            return
        self._last_alert[inbound.conversation_id] = now
        ticket = f" 工单 {tickets[0]}" if tickets else ""
        await self.notify_staff(
            inbound.desk,
            f"【危机预警】{inbound.desk}服务台{ticket}\n会话：{inbound.conversation_id}（{inbound.channel}）\n"
            f"内容：{mask(text)[:160]}\n已给出紧急求助电话，请值班人员立即在员工后台接入。",
        )

    async def _alert_ticket(self, inbound: Inbound, text: str, number: str) -> None:
        await self.notify_staff(
            inbound.desk,
            f"【紧急工单】{inbound.desk}服务台 工单 {number}\n会话：{inbound.conversation_id}\n"
            f"内容：{mask(text)[:160]}\n请值班人员尽快在员工后台处理。",
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
        conversation_id = await asyncio.to_thread(
            self.store.ensure_conversation, desk, STAFF_CHANNEL, self._staff_chat_id
        )
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

    def enqueue(
        self, conversation_id: str, text: str, source: str = "followup", buttons: list[dict[str, str]] | None = None
    ) -> int:
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
