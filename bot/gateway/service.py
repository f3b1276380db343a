"""The gateway: the one path from every channel to Rasa.

Order of work for each inbound message, and why:
1. clean and size-limit the text, then persist it (before acknowledging: a crash loses nothing);
2. drop duplicates by the channel's message id (Telegram and webhooks redeliver);
3. take the conversation's lock so one person's messages are handled in order;
4. run the safety screen first: a crisis gets the emergency numbers even when Rasa is down;
5. while a human owns the conversation, hand the message to staff instead of Rasa;
6. call Rasa; an empty or failed answer becomes a clear apology with what to do next.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import text as textutil
from bot.gateway import messages
from bot.gateway.models import Conversation, GatewayBase, InboundMessage, OutboundMessage, utcnow
from bot.gateway.rasa_client import BotReply, RasaClient, RasaUnavailable
from bot.privacy import mask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Inbound:
    """A message as a channel hands it over."""

    desk: str
    channel: str  # telegram | web | rest | terminal
    user: str  # the channel's user or chat id
    text: str | None
    message_id: str | None = None  # the channel's id, used to drop redeliveries

    @property
    def conversation_id(self) -> str:
        return f"{self.desk}:{self.channel}:{self.user}"


@dataclass
class Reply:
    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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
    return SafetyVerdict(route=result.route, channel=result.channel, signals=tuple(result.signals), reply=result.reply)


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
    ) -> None:
        GatewayBase.metadata.create_all(engine)
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self._rasa = rasa
        self._screen = safety_screen
        self._rate = rate_limiter or RateLimiter()
        self._max_chars = max_chars
        self._locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def handle(self, inbound: Inbound) -> list[Reply]:
        """Answer one inbound message; always returns at least one reply unless staff own the conversation."""
        text, truncated = textutil.truncate(textutil.clean(inbound.text), self._max_chars)
        async with self._locks[inbound.conversation_id]:
            record, duplicate = await asyncio.to_thread(self._persist_inbound, inbound, text)
            if duplicate is not None:
                return duplicate
            if not self._rate.allow(inbound.conversation_id):
                return await self._finish(record, [Reply(messages.rate_limited())], "gateway")
            replies = await self._answer(inbound, record, text)
            if truncated:
                replies.insert(0, Reply(messages.too_long(self._max_chars)))
            return await self._finish(record, replies, None)

    async def _answer(self, inbound: Inbound, record: InboundMessage, text: str) -> list[Reply]:
        if not text:
            return [Reply(messages.empty_message())]
        history = await asyncio.to_thread(self._recent_texts, inbound.conversation_id, record.id)
        verdict = await self._safe_screen(text, inbound.desk, history)
        await asyncio.to_thread(self._save_safety, record.id, verdict)
        conversation = await asyncio.to_thread(self._conversation, inbound.conversation_id)
        if conversation.handoff:
            await asyncio.to_thread(self._mark, record.id, "to_staff")
            if verdict.route == "crisis":
                return [Reply(messages.handoff_crisis_reminder(inbound.desk))]
            return [Reply(messages.handed_to_staff())]

        rasa_text = text
        if verdict.route == "crisis":
            rasa_text = "/crisis"
        elif verdict.route == "emergency" and verdict.channel:
            rasa_text = "/emergency" + json.dumps({"channel": verdict.channel})
        metadata: dict[str, Any] = {"desk": inbound.desk, "channel": inbound.channel, "text": text}
        if verdict.route:
            metadata["safety"] = {"route": verdict.route, "channel": verdict.channel, "signals": list(verdict.signals)}
        try:
            bot_replies = await self._rasa.send(inbound.conversation_id, rasa_text, metadata)
        except RasaUnavailable:
            return self._fallback(inbound, verdict)
        return await self._apply_custom(inbound, bot_replies)

    async def _apply_custom(self, inbound: Inbound, bot_replies: list[BotReply]) -> list[Reply]:
        replies: list[Reply] = []
        for item in bot_replies:
            if item.custom and item.custom.get("handoff"):
                await asyncio.to_thread(self.set_handoff, inbound.conversation_id, True, item.custom.get("reason"))
            if item.text:
                replies.append(Reply(item.text, item.buttons))
        return replies

    def _fallback(self, inbound: Inbound, verdict: SafetyVerdict) -> list[Reply]:
        if verdict.route == "crisis":
            self.set_handoff(inbound.conversation_id, True, "crisis")
            return [Reply(verdict.reply or messages.crisis_fallback(inbound.desk))]
        if verdict.route == "emergency" and verdict.channel:
            return [Reply(messages.emergency_fallback(verdict.channel))]
        return [Reply(messages.backend_down(inbound.desk))]

    async def _safe_screen(self, text: str, desk: str, history: Sequence[str]) -> SafetyVerdict:
        try:
            return await asyncio.to_thread(self._screen, text, desk, history)
        except Exception:  # the screen must never take the conversation down with it
            log.exception("safety screen failed; continuing with Rasa's own crisis detection")
            return SafetyVerdict(route=None, signals=("screen_error",))

    # --- persistence -------------------------------------------------------------------------
    def _persist_inbound(self, inbound: Inbound, text: str) -> tuple[InboundMessage, list[Reply] | None]:
        with self._sessions() as session:
            self._ensure_conversation(session, inbound)
            record = InboundMessage(
                conversation_id=inbound.conversation_id, channel_message_id=inbound.message_id, text=text
            )
            session.add(record)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return self._duplicate(session, inbound)
            log.info("inbound %s #%s: %s", mask(inbound.conversation_id), record.id, mask(text)[:80])
            return record, None

    def _duplicate(self, session: Session, inbound: Inbound) -> tuple[InboundMessage, list[Reply]]:
        original = session.scalars(
            select(InboundMessage).where(
                InboundMessage.conversation_id == inbound.conversation_id,
                InboundMessage.channel_message_id == inbound.message_id,
            )
        ).one()
        stored = session.scalars(
            select(OutboundMessage).where(OutboundMessage.inbound_id == original.id).order_by(OutboundMessage.id)
        ).all()
        log.info("duplicate delivery of message %s dropped", original.id)
        return original, [Reply(o.text, o.buttons or []) for o in stored]

    @staticmethod
    def _ensure_conversation(session: Session, inbound: Inbound) -> None:
        conversation = session.get(Conversation, inbound.conversation_id)
        if conversation is None:
            session.add(
                Conversation(
                    id=inbound.conversation_id, desk=inbound.desk, channel=inbound.channel, external_user=inbound.user
                )
            )
        else:
            conversation.last_seen_at = utcnow()
        try:
            session.commit()
        except IntegrityError:  # created at the same moment by another delivery
            session.rollback()

    def _conversation(self, conversation_id: str) -> Conversation:
        with self._sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            assert conversation is not None
            return conversation

    def _recent_texts(self, conversation_id: str, before_id: int, limit: int = 5) -> list[str]:
        with self._sessions() as session:
            rows = session.scalars(
                select(InboundMessage.text)
                .where(InboundMessage.conversation_id == conversation_id, InboundMessage.id < before_id)
                .order_by(InboundMessage.id.desc())
                .limit(limit)
            ).all()
            return list(reversed(rows))

    def _save_safety(self, inbound_id: int, verdict: SafetyVerdict) -> None:
        if verdict.route is None and not verdict.signals:
            return
        with self._sessions() as session:
            record = session.get(InboundMessage, inbound_id)
            if record is not None:
                record.safety = {"route": verdict.route, "channel": verdict.channel, "signals": list(verdict.signals)}
                session.commit()

    def _mark(self, inbound_id: int, status: str) -> None:
        with self._sessions() as session:
            record = session.get(InboundMessage, inbound_id)
            if record is not None:
                record.status = status
                session.commit()

    async def _finish(self, record: InboundMessage, replies: list[Reply], source: str | None) -> list[Reply]:
        def write() -> None:
            with self._sessions() as session:
                for reply in replies:
                    session.add(
                        OutboundMessage(
                            conversation_id=record.conversation_id,
                            inbound_id=record.id,
                            text=reply.text,
                            buttons=reply.buttons or None,
                            source=source or "bot",
                            status="sent",
                            sent_at=utcnow(),
                        )
                    )
                stored = session.get(InboundMessage, record.id)
                if stored is not None and stored.status == "received":
                    stored.status = "answered"
                    stored.answered_at = utcnow()
                session.commit()

        await asyncio.to_thread(write)
        return replies

    # --- handoff -----------------------------------------------------------------------------
    def set_handoff(self, conversation_id: str, on: bool, reason: str | None = None) -> None:
        """Give the conversation to a human (on) or back to the bot (off)."""
        with self._sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                return
            conversation.handoff = on
            conversation.handoff_reason = reason if on else None
            session.commit()

    def staff_reply(self, conversation_id: str, text: str, staff_user: str) -> int:
        """Store a staff member's message for the person; channels deliver it (push or poll).

        Returns the outbound id. Raises KeyError for an unknown conversation.
        """
        text = textutil.clean(text)
        if not text:
            raise ValueError("a staff reply needs text")
        with self._sessions() as session:
            if session.get(Conversation, conversation_id) is None:
                raise KeyError(conversation_id)
            outbound = OutboundMessage(conversation_id=conversation_id, text=text, source="staff", status="pending")
            session.add(outbound)
            session.commit()
            log.info("staff %s replied in %s", staff_user, mask(conversation_id))
            return outbound.id

    def staff_messages_after(self, conversation_id: str, after_id: int) -> list[dict[str, Any]]:
        """Staff messages of one conversation newer than `after_id` (the web chat polls this); marks them sent."""
        with self._sessions() as session:
            rows = session.scalars(
                select(OutboundMessage)
                .where(
                    OutboundMessage.conversation_id == conversation_id,
                    OutboundMessage.source == "staff",
                    OutboundMessage.id > after_id,
                )
                .order_by(OutboundMessage.id)
            ).all()
            for row in rows:
                if row.status != "sent":
                    row.status, row.sent_at = "sent", utcnow()
            session.commit()
            return [{"id": row.id, "text": row.text, "at": row.created_at.isoformat()} for row in rows]

    def conversation(self, conversation_id: str) -> Conversation | None:
        with self._sessions() as session:
            return session.get(Conversation, conversation_id)

    def unanswered(self) -> list[InboundMessage]:
        """Messages persisted but never answered (a crash between receiving and replying)."""
        with self._sessions() as session:
            return list(session.scalars(select(InboundMessage).where(InboundMessage.status == "received")).all())
