"""The gateway's database work, kept synchronous (the service runs it in threads).

Each method is one short transaction: the gateway must never hold a database lock across a Rasa call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import language as lang
from bot import privacy_notice
from bot.gateway import check_in
from bot.gateway.models import ALERT_SOURCES, Conversation, InboundMessage, OutboundMessage, as_utc, utcnow
from bot.gateway.outbound import UNDELIVERABLE, for_person
from bot.privacy import mask
from bot.security.payloads import OFFERED_WINDOW

log = logging.getLogger(__name__)


@dataclass
class Reply:
    """One message for the person; `id` is its gw_outbound row (clients use it to drop repeats)."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)
    id: int | None = None
    source: str = "bot"  # bot|gateway: who wrote it (kept in gw_outbound, not sent to clients)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "buttons": self.buttons}


@dataclass
class Turn:
    """What one turn needs to know about its conversation, read while the message is persisted."""

    handoff: bool = False
    handoff_reason: str | None = None
    """Why a human has it ("crisis", "ask_human"...), while `handoff`."""
    bot_reset_pending: bool = False
    history: list[str] = field(default_factory=list)
    last_check_in: datetime | None = None
    """When the conversation last got the check-in line (aware, UTC), if ever."""
    check_in_was_last_turn: bool = False
    """The check-in came with the answer to the previous message: this one may be its answer."""
    language: str = lang.DEFAULT
    """The conversation's language after this message (bot/language.py)."""
    asked_before_check_in: Reply | None = None
    """When it did: the bot's own question of that answer, if it asked one (a form question with its
    buttons). A no to the check-in must not be taken as the answer to it, so it is asked again."""
    pending_matters: dict[str, Any] | None = None
    """Several matters raised together, being taken one by one (bot/gateway/matters.py)."""
    bot_asked: bool = False
    """The bot's last reply to the previous message asked something (a form question, "是吗？"): a
    short message now is most likely its answer."""
    notice_given: bool = False
    """The conversation has had the privacy notice (bot/privacy_notice.py; an outbound row of its source)."""


def conversation_key(desk: str, channel: str, user: str) -> str:
    """Also Rasa's sender id, so the actions can read the desk from it."""
    return f"{desk}:{channel}:{user}"


class ConversationRefused(Exception):
    """A new conversation was not opened (too many from the same source); `retry_after` in seconds."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"new conversation refused; retry in {retry_after:.0f} s")
        self.retry_after = retry_after


class GatewayStore:
    def __init__(self, engine: Engine, instance: str = "local", inbound_lease_seconds: float = 60.0) -> None:
        """`instance` owns the messages this process persists for `inbound_lease_seconds` (leases matter
        only with several instances on PostgreSQL; on SQLite there is one process and it owns them all)."""
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        self.instance = instance
        self.inbound_lease = timedelta(seconds=inbound_lease_seconds)
        self.shared = engine.dialect.name != "sqlite"

    # --- inbound -----------------------------------------------------------------------------
    def persist_inbound(
        self,
        desk: str,
        channel: str,
        user: str,
        message_id: str | None,
        text: str,
        may_open: Callable[[], float] | None = None,
    ) -> tuple[InboundMessage, list[Reply] | None, Turn]:
        """Write the message (first thing, before any answer); a known message id returns its stored replies.

        One transaction that also reads what the turn needs (handoff state, the last few messages), so a
        turn costs two database transactions: this one and `finish`. A sender with no conversation yet
        opens one only if `may_open()` returns 0 (else ConversationRefused, nothing written): the
        lookup that tells a new sender from a known one is the one this transaction makes anyway.
        """
        conversation_id = conversation_key(desk, channel, user)
        with self.sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None and may_open is not None and (wait := may_open()) > 0:
                raise ConversationRefused(wait)
            if conversation is None:
                conversation = Conversation(
                    id=conversation_id,
                    desk=desk,
                    channel=channel,
                    external_user=user,
                    language=lang.conversation_language(None, text),
                )
                session.add(conversation)
            else:
                conversation.last_seen_at = utcnow()
                language = lang.conversation_language(conversation.language, text)
                if language != conversation.language:
                    log.info("conversation %s now in %s", mask(conversation_id), language)
                    conversation.language = language
            recent = self._recent(session, conversation_id)
            record = InboundMessage(
                conversation_id=conversation_id,
                channel_message_id=message_id,
                text=text,
                owner=self.instance,
                lease_until=utcnow() + self.inbound_lease,
            )
            session.add(record)
            try:
                session.commit()
            except IntegrityError:  # a redelivery, or the conversation was created at the same moment
                session.rollback()
                duplicate = self._find(session, conversation_id, message_id)
                if duplicate is None:
                    return self.persist_inbound(desk, channel, user, message_id, text)
                return duplicate, self._stored_replies(session, duplicate), Turn()
            log.info("inbound %s #%s: %s", mask(conversation_id), record.id, mask(text)[:80])
            turn = self._turn(session, conversation, recent)
            return record, None, turn

    @staticmethod
    def _find(session: Session, conversation_id: str, message_id: str | None) -> InboundMessage | None:
        if message_id is None:
            return None
        return session.scalars(
            select(InboundMessage).where(
                InboundMessage.conversation_id == conversation_id, InboundMessage.channel_message_id == message_id
            )
        ).first()

    @staticmethod
    def _stored_replies(session: Session, original: InboundMessage) -> list[Reply]:
        stored = session.scalars(
            select(OutboundMessage).where(OutboundMessage.inbound_id == original.id).order_by(OutboundMessage.id)
        ).all()
        log.info("duplicate delivery of message %s dropped", original.id)
        return [Reply(o.text, o.buttons or [], o.id, o.source) for o in stored]

    @staticmethod
    def _ensure_conversation(session: Session, conversation_id: str, desk: str, channel: str, user: str) -> None:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            session.add(Conversation(id=conversation_id, desk=desk, channel=channel, external_user=user))
        else:
            conversation.last_seen_at = utcnow()
        try:
            session.commit()
        except IntegrityError:  # created at the same moment by another delivery
            session.rollback()

    def ensure_conversation(self, desk: str, channel: str, user: str) -> str:
        conversation_id = conversation_key(desk, channel, user)
        with self.sessions() as session:
            self._ensure_conversation(session, conversation_id, desk, channel, user)
        return conversation_id

    def finish(
        self,
        record: InboundMessage,
        replies: list[Reply],
        queued: bool,
        status: str = "answered",
        safety: dict[str, Any] | None = None,
    ) -> None:
        """Store the replies and close the message in one transaction (a crash leaves it 'received').

        The replies are made readable for the person first (`outbound.for_person`: Traditional for a
        Traditional conversation), so the rows, and the replies returned to the channel, hold what is sent.
        """
        with self.sessions() as session:
            stored = session.get(InboundMessage, record.id, with_for_update=self.shared)
            if stored is not None and stored.status != "received":
                # answered already (by another instance after this one's lease ran out): never twice
                log.warning("message %s was answered already; these replies are dropped", record.id)
                session.rollback()
                return
            conversation = session.get(Conversation, record.conversation_id)
            language = conversation.language if conversation is not None else None
            for reply in replies:
                reply.text, reply.buttons = for_person(reply.text, reply.buttons, language, reply.source)
            rows = [
                OutboundMessage(
                    conversation_id=record.conversation_id,
                    inbound_id=record.id,
                    text=reply.text,
                    buttons=reply.buttons or None,
                    source=reply.source,
                    delivery="queue" if queued else "inline",
                    status="pending" if queued else "sent",
                    sent_at=None if queued else utcnow(),
                )
                for reply in replies
            ]
            session.add_all(rows)
            if stored is not None:
                stored.status = status
                stored.answered_at = utcnow()
                stored.lease_until = None
                if safety is not None:
                    stored.safety = safety
            session.commit()
            for reply, row in zip(replies, rows, strict=True):
                reply.id = row.id

    def history(self, conversation_id: str, before_id: int, limit: int = 5) -> Turn:
        """What a recovered message's turn needs (the normal path gets it from `persist_inbound`)."""
        with self.sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            return self._turn(session, conversation, self._recent(session, conversation_id, before_id, limit))

    @staticmethod
    def _recent(
        session: Session, conversation_id: str, before_id: int | None = None, limit: int = 5
    ) -> list[tuple[int, str]]:
        """(id, text) of the conversation's last `limit` inbound messages (before `before_id`), oldest first."""
        query = select(InboundMessage.id, InboundMessage.text).where(InboundMessage.conversation_id == conversation_id)
        if before_id is not None:
            query = query.where(InboundMessage.id < before_id)
        rows = session.execute(query.order_by(InboundMessage.id.desc()).limit(limit)).all()
        return [(row_id, text) for row_id, text in reversed(rows)]

    @staticmethod
    def _turn(session: Session, conversation: Conversation | None, recent: list[tuple[int, str]]) -> Turn:
        """The Turn of the next message, given the conversation and its `_recent` messages."""
        if conversation is None:
            return Turn(history=[text for _, text in recent])
        last = session.execute(
            select(OutboundMessage.inbound_id, OutboundMessage.created_at)
            .where(OutboundMessage.conversation_id == conversation.id, OutboundMessage.source == check_in.SOURCE)
            .order_by(OutboundMessage.id.desc())
            .limit(1)
        ).first()
        was_last_turn = bool(last is not None and recent and last[0] == recent[-1][0])
        return Turn(
            handoff=conversation.handoff,
            handoff_reason=conversation.handoff_reason,
            bot_reset_pending=conversation.bot_reset_pending,
            pending_matters=conversation.pending_matters or None,
            language=lang.normalise_language(conversation.language),
            history=[text for _, text in recent],
            last_check_in=None if last is None else as_utc(last[1]),
            check_in_was_last_turn=was_last_turn,
            asked_before_check_in=GatewayStore._question_of(session, last[0]) if was_last_turn and last else None,
            bot_asked=bool(recent) and GatewayStore._question_of(session, recent[-1][0]) is not None,
            notice_given=GatewayStore._notice_given(session, conversation.id),
        )

    @staticmethod
    def _notice_given(session: Session, conversation_id: str) -> bool:
        """Has the conversation had the privacy notice? Read from the outbound table: survives restarts."""
        found = session.execute(
            select(OutboundMessage.id)
            .where(OutboundMessage.conversation_id == conversation_id, OutboundMessage.source == privacy_notice.SOURCE)
            .limit(1)
        ).first()
        return found is not None

    @staticmethod
    def _question_of(session: Session, inbound_id: int | None) -> Reply | None:
        """The last reply to that message before its check-in, if it asks something (buttons or "？")."""
        if inbound_id is None:
            return None
        last = session.scalars(
            select(OutboundMessage)
            .where(
                OutboundMessage.inbound_id == inbound_id,
                OutboundMessage.source.not_in((check_in.SOURCE, privacy_notice.SOURCE)),
            )
            .order_by(OutboundMessage.id.desc())
            .limit(1)
        ).first()
        if last is None or not (last.buttons or last.text.rstrip().endswith(("？", "?"))):
            return None
        return Reply(last.text, list(last.buttons or []), source="gateway")

    def _recoverable(self, now: datetime) -> Any:
        """Which 'received' rows this instance may answer as a recovery: on SQLite all of them (one
        process: they were left by its previous life); with several instances only those whose lease
        expired (their instance died) or that this instance's previous life left (same instance id)."""
        if not self.shared:
            return InboundMessage.status == "received"
        return (InboundMessage.status == "received") & (
            InboundMessage.lease_until.is_(None)
            | (InboundMessage.lease_until < now)
            | (InboundMessage.owner == self.instance)
        )

    def unanswered(self, limit: int | None = None) -> list[tuple[InboundMessage, Conversation]]:
        """Messages persisted but never answered (a crash between receiving and replying) that this instance
        may answer (`_recoverable`), oldest first."""
        with self.sessions() as session:
            query = (
                select(InboundMessage, Conversation)
                .join(Conversation, Conversation.id == InboundMessage.conversation_id)
                .where(self._recoverable(utcnow()))
                .order_by(InboundMessage.id)
            )
            rows = session.execute(query if limit is None else query.limit(limit)).all()
            return [(inbound, conversation) for inbound, conversation in rows]

    def claim_inbound(self, inbound_id: int) -> bool:
        """Take a recoverable message for this instance (one conditional UPDATE: of two instances that
        try, one wins); False when it was answered meanwhile or another live instance has it."""
        now = utcnow()
        with self.sessions() as session:
            claimed = session.execute(
                update(InboundMessage)
                .where(InboundMessage.id == inbound_id, self._recoverable(now))
                .values(owner=self.instance, lease_until=now + self.inbound_lease)
            )
            session.commit()
            return bool(getattr(claimed, "rowcount", 0))

    def offered_payloads(self, conversation_id: str, window: int = OFFERED_WINDOW) -> set[str]:
        """The button payloads of the latest `window` messages with buttons sent in this conversation."""
        with self.sessions() as session:
            rows = session.scalars(
                select(OutboundMessage.buttons)
                .where(OutboundMessage.conversation_id == conversation_id, OutboundMessage.buttons.is_not(None))
                .order_by(OutboundMessage.id.desc())
                .limit(window)
            ).all()
        return {str(b.get("payload", "")).strip() for buttons in rows for b in buttons or [] if isinstance(b, dict)}

    # --- conversations -----------------------------------------------------------------------
    def conversation(self, conversation_id: str) -> Conversation | None:
        with self.sessions() as session:
            return session.get(Conversation, conversation_id)

    def set_pending_matters(self, conversation_id: str, pending: dict[str, Any] | None) -> None:
        """Keep (or clear, with None) the matters still to be taken in this conversation."""
        with self.sessions() as session:
            session.execute(
                update(Conversation).where(Conversation.id == conversation_id).values(pending_matters=pending)
            )
            session.commit()

    def pending_matters(self, conversation_id: str) -> dict[str, Any] | None:
        with self.sessions() as session:
            value = session.scalar(select(Conversation.pending_matters).where(Conversation.id == conversation_id))
            return value if isinstance(value, dict) else None

    @staticmethod
    def _latest_decided(what: Any, conversation_id: str, limit: int) -> Any:
        """`select(what)` of the conversation's latest messages that have a decision record, newest first."""
        return (
            select(what)
            .where(InboundMessage.conversation_id == conversation_id, InboundMessage.safety.is_not(None))
            .order_by(InboundMessage.id.desc())
            .limit(limit)
        )

    def _recent_safety(self, conversation_id: str, limit: int) -> list[dict[str, Any] | None]:
        """The decision records (`gw_inbound.safety`) of the latest decided messages, newest first."""
        with self.sessions() as session:
            rows = session.scalars(self._latest_decided(InboundMessage.safety, conversation_id, limit)).all()
        return [safety if isinstance(safety, dict) else None for safety in rows]

    def last_crisis_signals(self, conversation_id: str) -> list[str] | None:
        """The screen's signals for the conversation's latest message that got the crisis route, if any."""
        for safety in self._recent_safety(conversation_id, 50):
            if safety is not None and safety.get("route") == "crisis":
                return [str(s) for s in safety.get("signals") or []]
        return None

    def previous_routes(self, conversation_id: str, limit: int = 3) -> list[str | None]:
        """The routes decided for the person's latest answered messages, newest first (the message being
        answered has no decision stored yet and is not among them)."""
        return [safety.get("decided") if safety else None for safety in self._recent_safety(conversation_id, limit)]

    def referred_channel(self, conversation_id: str) -> str | None:
        """The channel the person's previous message was referred to, if the referral was the bot's
        answer to it (bot/gateway/referrals.py): not a question answered inside a form, where the last
        reply is the form's own question again."""
        from bot.gateway.referrals import FEEDBACK_PAYLOAD, SIGNAL, referred_channel

        with self.sessions() as session:
            inbound = session.scalars(self._latest_decided(InboundMessage, conversation_id, 1)).first()
            if inbound is None:
                return None
            record = inbound.safety if isinstance(inbound.safety, dict) else None
            channel = referred_channel(record)
            question = self._question_of(session, inbound.id) if channel else None
        buttons = question.buttons if question is not None else []
        offered = any(isinstance(b, dict) and b.get("payload") == FEEDBACK_PAYLOAD for b in buttons)
        restated = record is not None and SIGNAL in (record.get("signals") or [])  # asked around it again
        return channel if offered or restated else None

    def last_reply_text(self, conversation_id: str) -> str | None:
        """The text of the bot's latest answer to the person (not the check-in line, the privacy
        notice or a staff alert), if any: bot/gateway/supplement.py reads the ticket number in it."""
        with self.sessions() as session:
            return session.scalar(
                select(OutboundMessage.text)
                .where(
                    OutboundMessage.conversation_id == conversation_id,
                    OutboundMessage.source.not_in((check_in.SOURCE, privacy_notice.SOURCE, *ALERT_SOURCES)),
                )
                .order_by(OutboundMessage.id.desc())
                .limit(1)
            )

    def language(self, conversation_id: str) -> str:
        """The conversation's language (the default for an unknown conversation)."""
        with self.sessions() as session:
            value = session.scalar(select(Conversation.language).where(Conversation.id == conversation_id))
            return lang.normalise_language(value)

    def set_handoff(self, conversation_id: str, on: bool, reason: str | None = None) -> bool:
        """Give the conversation to a human (on) or back to the bot (off); True when that changed anything."""
        with self.sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or (conversation.handoff == on and (not on or conversation.handoff_reason)):
                return False
            if not on:
                conversation.bot_reset_pending = True  # Rasa still believes a human has it: reset its slots
                conversation.watch_since = conversation.watch_due_at = None  # nobody waits for staff any more
            conversation.handoff = on
            conversation.handoff_reason = reason if on else None
            session.commit()
            return True

    def take_over(self, conversation_id: str) -> bool:
        """A staff member takes the conversation over (reason "staff", nothing left to watch); True when
        it was not theirs already (the person is then told that someone has joined)."""
        with self.sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or (conversation.handoff and conversation.handoff_reason == "staff"):
                return False
            conversation.handoff, conversation.handoff_reason = True, "staff"
            conversation.watch_since = conversation.watch_due_at = None
            session.commit()
            return True

    # --- who is coming (bot/gateway/handoff_watch.py) ------------------------------------------
    def watch_handoff(self, conversation_id: str, since: datetime, due: datetime, crisis: bool = False) -> None:
        """Watch a handoff begun at `since`: follow up at `due` unless staff acknowledge it first. A watch
        already running keeps its start and moves its due time earlier only; a crisis during a 转人工
        makes it a crisis handoff. Nothing to watch once a staff member has taken the conversation over."""
        with self.sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or not conversation.handoff or conversation.handoff_reason == "staff":
                return
            if crisis:
                conversation.handoff_reason = "crisis"
            if conversation.watch_due_at is None:
                conversation.watch_since, conversation.watch_due_at = since, due
            elif due < as_utc(conversation.watch_due_at):
                conversation.watch_due_at = due
            session.commit()

    def due_watches(self, now: datetime, limit: int = 100) -> list[Conversation]:
        """Conversations whose watch is due, oldest first."""
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(Conversation)
                    .where(Conversation.watch_due_at.is_not(None), Conversation.watch_due_at <= now)
                    .order_by(Conversation.watch_due_at)
                    .limit(limit)
                )
            )

    def claim_watch(self, conversation_id: str, due: datetime) -> bool:
        """End the watch seen due at `due`, on the condition nobody (another instance) ended it first."""
        with self.sessions() as session:
            result = session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.watch_due_at == due)
                .values(watch_due_at=None)
            )
            session.commit()
            return bool(getattr(result, "rowcount", 0))

    def rearm_watch(self, conversation_id: str, due: datetime) -> None:
        """The follow-up could not be queued: due again (tried on the next run)."""
        with self.sessions() as session:
            session.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.watch_due_at.is_(None))
                .values(watch_due_at=due)
            )
            session.commit()

    def staff_wrote_since(self, conversation_id: str, since: datetime) -> bool:
        """Has a staff member written to the person since `since` (a console reply)?"""
        with self.sessions() as session:
            found = session.scalar(
                select(OutboundMessage.id)
                .where(
                    OutboundMessage.conversation_id == conversation_id,
                    OutboundMessage.source == "staff",
                    OutboundMessage.created_at >= since,
                )
                .limit(1)
            )
            return found is not None

    def clear_reset(self, conversation_id: str) -> None:
        with self.sessions() as session:
            session.execute(
                update(Conversation).where(Conversation.id == conversation_id).values(bot_reset_pending=False)
            )
            session.commit()

    # --- queued messages ---------------------------------------------------------------------
    def enqueue(self, conversation_id: str, text: str, source: str, buttons: list[dict[str, str]] | None = None) -> int:
        """A message for the person outside a request/response turn; the worker or a polling client delivers it."""
        with self.sessions() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None:
                raise KeyError(conversation_id)
            text, sent_buttons = for_person(text, buttons or [], conversation.language, source)
            row = OutboundMessage(
                conversation_id=conversation_id,
                text=text,
                buttons=sent_buttons or None,
                source=source,
                delivery="queue",
                status="pending",
            )
            session.add(row)
            session.commit()
            return row.id

    def undeliverable(self, conversation_id: str) -> list[dict[str, Any]]:
        """Messages a channel refused for good because the person cannot be reached that way now, oldest
        first and masked: the console shows them so staff call back instead of waiting."""
        with self.sessions() as session:
            rows = session.scalars(
                select(OutboundMessage)
                .where(
                    OutboundMessage.conversation_id == conversation_id,
                    OutboundMessage.status == "failed",
                    OutboundMessage.last_error.startswith(UNDELIVERABLE),
                )
                .order_by(OutboundMessage.id)
                .limit(50)
            ).all()
            return [
                {
                    "text": mask(row.text),
                    "source": row.source,
                    "reason": (row.last_error or "").removeprefix(UNDELIVERABLE).strip(),
                    "at": row.created_at,
                }
                for row in rows
            ]

    def queued_after(
        self, conversation_id: str, after_id: int, sources: tuple[str, ...] | None = None
    ) -> list[dict[str, Any]]:
        """Queued messages of one conversation newer than `after_id`, for polling clients; marks them sent.

        At least once: a client that lost the answer asks again with the same `after` and gets them again
        (the web chat drops ids it has already shown).
        """
        with self.sessions() as session:
            query = select(OutboundMessage).where(
                OutboundMessage.conversation_id == conversation_id,
                OutboundMessage.delivery == "queue",
                OutboundMessage.id > after_id,
            )
            if sources is not None:
                query = query.where(OutboundMessage.source.in_(sources))
            rows = session.scalars(query.order_by(OutboundMessage.id).limit(100)).all()
            for row in rows:
                if row.status != "sent":
                    row.status, row.sent_at = "sent", utcnow()
            session.commit()
            return [
                {
                    "id": row.id,
                    "text": row.text,
                    "buttons": row.buttons or [],
                    "from": _speaker(row.source),
                    "at": row.created_at.isoformat(),
                }
                for row in rows
            ]


def _speaker(source: str) -> str:
    """Who the person sees as the author: staff messages look different from the bot's."""
    return "staff" if source == "staff" else "bot"
