"""The gateway: the one path from every channel to Rasa, and the one place that decides.

Order of work for each inbound message, and why:
0. limits first, nothing stored when they refuse (`Limited`): messages per conversation, and new
   conversations per source (bot/security: the HTTP routes are limited before they get here);
1. clean and size-limit the text, then persist it (before acknowledging: a crash loses nothing);
2. drop duplicates by the channel's message id (Telegram and webhooks redeliver);
3. take the conversation's lock so one person's messages are handled in order;
4. decide, once: the triage decision (safety screen first, then the route) from the gateway's own
   record of the conversation. A crisis gets the emergency numbers even when Rasa is down, and
   on-duty staff get an alert in their Telegram chat;
5. while a human owns the conversation, hand the message to staff instead of Rasa;
6. call Rasa with the decision in the message's metadata (the actions act on it; nothing decides
   again); an empty or failed answer becomes a clear apology with what to do next.

Replies go back in the channel's own response, or (push channels, staff replies, follow-ups, and
answers to messages recovered after a crash) into the outbound queue that `OutboundWorker`
delivers with retries and polling clients fetch with `queued_after`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from bot import language as lang
from bot import privacy_notice
from bot import text as textutil
from bot.gateway import check_in, crisis_watch, declines, handoff_watch, matters, messages, referrals, supplement
from bot.gateway.alerts import BULK_SIGNAL, STAFF_CHANNEL, StaffAlerts
from bot.gateway.health import ActionServerHealth
from bot.gateway.locks import ConversationLocks
from bot.gateway.models import Conversation, InboundMessage, utcnow
from bot.gateway.rasa_client import BotReply, RasaClient, RasaUnavailable
from bot.gateway.store import ConversationRefused, GatewayStore, Reply, Turn, conversation_key
from bot.intake.cancel import cancel_kind
from bot.intake.hours import back_on_duty
from bot.privacy import mask
from bot.security import payloads
from bot.security.limits import BucketLimiter, Rate
from bot.shared_state.limiters import Limiter
from bot.text import length_units
from bot.triage.decision import METADATA_KEY, Decision
from bot.triage.replies import crisis_reply
from bot.triage.vocabulary import CRISIS_CHANNEL, Route

log = logging.getLogger(__name__)

__all__ = ["STAFF_CHANNEL", "Decide", "Gateway", "Inbound", "Limited", "Reply", "triage_decide"]


@dataclass(frozen=True)
class Inbound:
    """A message as a channel hands it over."""

    desk: str
    channel: str  # telegram | web | rest | terminal | wechat
    user: str  # the channel's user or chat id
    text: str | None
    message_id: str | None = None  # the channel's id, used to drop redeliveries
    queue_replies: bool = False  # push channels: replies go to the outbound queue, not the return value
    source: str | None = None  # who sent it over HTTP: "ip:<address>" or "key:<key_id>" (bot/security/abuse.py)
    notice: bool = False  # show the privacy notice even if the conversation has had it (Telegram /start)

    @property
    def conversation_id(self) -> str:
        return conversation_key(self.desk, self.channel, self.user)


Decide = Callable[[str, str, Sequence[str], str], Decision]
"""decide(text, desk, history, language) -> the triage decision; history = the person's earlier messages,
language = the conversation's (bot/language.py: the decision's reply is written in it)."""


class Limited(Exception):
    """A message refused by a limit before anything was stored; `replies` carry the numbers to call."""

    def __init__(self, replies: list[Reply], retry_after: float) -> None:
        super().__init__(f"limited; retry in {retry_after:.0f} s")
        self.replies = replies
        self.retry_after = retry_after


@dataclass
class ActionSignals:
    """What the actions asked the gateway for in one turn (their custom payloads)."""

    handoff: str | None = None  # the reason, when an action handed the conversation to staff
    tickets: list[str] = field(default_factory=list)  # urgent ticket numbers to alert staff about
    filed: list[str] = field(default_factory=list)  # numbers of tickets the form filed this turn


@dataclass
class Outcome:
    """The answer to one message and how to close it (`to_staff` while a human owns the conversation)."""

    replies: list[Reply]
    status: str = "answered"
    safety: dict[str, Any] | None = None
    urgent: bool = False
    """A crisis or emergency answer: it goes out alone, with no privacy notice before it."""


_RESERVED_PAYLOAD = re.compile(r"^\s*/(?=(crisis|emergency)\b)")
"""Only the gateway sends the safety intents to Rasa (after its own decision); a person typing them
("/crisis", '/emergency{"channel":"110"}') must not open urgent tickets or alerts by syntax."""


def _back_at(desk: str, language: str) -> str | None:
    """When the desk's staff are back ("明天09:00"), or None while they are on duty: what the gateway's
    messages say about who is coming."""
    return back_on_duty(desk, language, at=utcnow())


def triage_decide(text: str, desk: str, history: Sequence[str], language: str = lang.DEFAULT) -> Decision:
    """The triage engine's decision (safety screen, then the route), made in this process only."""
    from bot.triage.engine import get_engine

    return get_engine().decide(text, desk, history, language)


def _safety_record(decision: Decision | None) -> dict[str, Any] | None:
    """What the inbound row keeps of the decision: the safety route (crisis/emergency), the signals and
    the route decided (the conversation harness and analytics read it)."""
    if decision is None:
        return {"route": None, "channel": None, "signals": ["screen_error"]}
    route = decision.route.value if decision.is_safety else None
    record: dict[str, Any] = {
        "route": route,
        "channel": decision.channel if route else None,
        "signals": list(decision.signals),
        "decided": decision.route.value,  # the route of the message itself, whatever answered it
    }
    if decision.route is Route.REFER and decision.channel:
        record["referred"] = decision.channel  # a follow-up question may need it (bot/gateway/referrals.py)
    return record


class Gateway:
    def __init__(
        self,
        engine: Engine,
        rasa: RasaClient,
        decide: Decide = triage_decide,
        rate_limiter: Limiter | None = None,
        max_chars: int = textutil.MAX_MESSAGE_CHARS,
        staff_chat_id: str | None = None,
        alert_every_seconds: float = 600.0,
        action_server_url: str | None = None,
        new_conversations: Limiter | None = None,
        alerts: dict[str, Any] | None = None,
        instance_id: str = "local",
        inbound_lease_seconds: float = 60.0,
        oncall_chat_id: str | None = None,
        crisis_ack_minutes: float = 5.0,
        handoff_ack_minutes: float = 10.0,
    ) -> None:
        """The schema comes from the Alembic chain, not from here.

        With `action_server_url` (the webhook URL Rasa calls) every turn also checks the action
        server's health: when it is down Rasa still answers, but with whatever needs no action.
        `rate_limiter` counts messages per conversation, `new_conversations` new conversations per
        client address (messages with an "ip:" source); `alerts` are StaffAlerts' load settings.
        `instance_id` and `inbound_lease_seconds`: this instance's claim on the messages it is answering
        (several instances on one PostgreSQL database; README "Several instances").
        `oncall_chat_id`: the on-call roster's chat (out-of-hours crisis alerts, escalations);
        `crisis_ack_minutes`, `handoff_ack_minutes`: how long a handoff in staff hours may wait for a staff
        member before the person is told nobody has joined yet (bot/gateway/handoff_watch.py).
        """
        self.store = GatewayStore(engine, instance_id, inbound_lease_seconds)
        self._engine = engine
        self.inbound_lease_seconds = inbound_lease_seconds
        self._rasa = rasa
        self._decide = decide
        self._rate: Limiter = rate_limiter if rate_limiter is not None else BucketLimiter(Rate(20, 30))
        self._new_conversations = new_conversations
        self._max_chars = max_chars
        self._locks = ConversationLocks(engine)
        self._outbound_listeners: list[Callable[[str], None]] = []
        self._health = ActionServerHealth(action_server_url)
        self.alerts = StaffAlerts(
            self.store,
            staff_chat_id,
            alert_every_seconds,
            self._wake,
            oncall_chat_id=oncall_chat_id,
            on_duty=lambda desk: _back_at(desk, lang.DEFAULT) is None,
            **(alerts or {}),
        )
        self.ack_minutes = {"crisis": crisis_ack_minutes, "handoff": handoff_ack_minutes}

    async def aclose(self) -> None:
        self.alerts.close()
        await self._health.aclose()
        self._locks.close()

    # --- the turn ----------------------------------------------------------------------------
    async def handle(self, inbound: Inbound, persisted: asyncio.Event | None = None) -> list[Reply]:
        """Answer one inbound message; always returns at least one reply (empty only for a duplicate).

        With `inbound.queue_replies` the replies are also queued for the outbound worker; a
        duplicate then queues nothing, so a redelivered update is answered once. `persisted` is set
        once the message is written (or found to be a duplicate, or refused by a limit): a channel that
        must acknowledge before the answer is ready (WeChat's 5 s) acknowledges only then, so a crash
        loses nothing.

        A message over a limit is not stored and costs no model time: `Limited` is raised (the HTTP
        channels answer 429 with its replies); a push channel's person gets the reply queued instead.
        """
        text, truncated = textutil.truncate(textutil.clean(inbound.text), self._max_chars)
        cid = inbound.conversation_id
        wait = await self._rate.acquire(cid)
        if wait > 0:
            if persisted is not None:
                persisted.set()
            return await self._limited(inbound, text, wait, known=True)
        async with self._locks.hold(cid):
            try:
                record, duplicate, turn = await asyncio.to_thread(
                    self.store.persist_inbound,
                    inbound.desk,
                    inbound.channel,
                    inbound.user,
                    inbound.message_id,
                    text,
                    self._may_open(inbound),
                )
            except ConversationRefused as refused:
                await self._rate.release(cid)
                if persisted is not None:
                    persisted.set()
                return await self._limited(inbound, text, refused.retry_after, known=False)
            if persisted is not None:
                persisted.set()
            if duplicate is not None:
                return duplicate
            outcome = await self._answer(inbound, text, turn)
            self._add_notice(inbound, turn, outcome)
            if truncated:
                too_long = messages.too_long(inbound.desk, self._max_chars, turn.language)
                outcome.replies.insert(0, Reply(too_long, source="gateway"))
            return await self._finish(inbound, record, outcome)

    def _may_open(self, inbound: Inbound) -> Callable[[], float] | None:
        """The new-conversation check for this message's client address (none for other sources)."""
        limiter, source = self._new_conversations, inbound.source
        if limiter is None or source is None or not source.startswith("ip:"):
            return None
        if isinstance(limiter, BucketLimiter):
            return lambda: limiter.take(source)
        # called in the database thread: the shared (Redis) limiter runs on this event loop
        loop = asyncio.get_running_loop()
        return lambda: asyncio.run_coroutine_threadsafe(limiter.acquire(source), loop).result(timeout=5)

    async def _limited(self, inbound: Inbound, text: str, wait: float, known: bool) -> list[Reply]:
        """The limit's reply (with the numbers to call); raises Limited unless the channel pushes replies."""
        language = lang.conversation_language(None, text)
        replies = [Reply(messages.rate_limited(inbound.desk, language), source="gateway")]
        log.info("message in %s limited (retry in %.0f s); not stored", mask(inbound.conversation_id), wait)
        if not inbound.queue_replies:
            raise Limited(replies, wait)
        if known:  # a push channel: the person still hears it (the conversation exists: it sent the others)
            with contextlib.suppress(KeyError):
                await asyncio.to_thread(self.enqueue, inbound.conversation_id, replies[0].text, "gateway")
        return replies

    async def _answer(self, inbound: Inbound, text: str, turn: Turn) -> Outcome:
        language = turn.language
        text = _RESERVED_PAYLOAD.sub("", text)  # a typed "/crisis" is words, never Rasa's crisis intent
        if payloads.looks_like_payload(text):  # any other "/..." only if the bot offered it as a button here
            offered = await asyncio.to_thread(self.store.offered_payloads, inbound.conversation_id)
            text = payloads.as_person_text(text, offered)
        if not text:
            return Outcome([Reply(messages.empty_message(inbound.desk, language), source="gateway")])
        cid = inbound.conversation_id
        decision, actions_up = await asyncio.gather(
            self._safe_decide(text, inbound.desk, turn.history, language), self._health.up()
        )
        if (
            decision is not None
            and decision.route is Route.CRISIS
            and turn.bot_asked
            and check_in.joint_reading_only(decision.signals)
        ):  # an answer to the bot's question, crisis only when read with earlier (non-crisis) words
            decision = await self._safe_decide(text, inbound.desk, (), language)
        may_ask = check_in.check_in_due(turn.last_check_in, utcnow())
        decision = check_in.weighed(decision, text, turn.bot_asked, language, may_ask)
        if (
            decision is not None
            and decision.is_safety
            and check_in.only_context(decision.signals)
            and check_in.answer_due(turn.last_check_in, turn.check_in_was_last_turn, utcnow())
            and check_in.read_answer(text) is check_in.Answer.NO
        ):  # "没有" to the check-in: the person's answer, not the earlier words read with it, decides
            decision = await self._safe_decide(text, inbound.desk, (), language)
        decision = self._hear_check_in_answer(text, turn, decision)
        safety = _safety_record(decision)
        route = decision.route if decision is not None and decision.is_safety else None
        if turn.handoff:
            back = _back_at(inbound.desk, language)
            if route is None and text.strip() in (handoff_watch.LEAVE_TICKET, handoff_watch.KEEP_WAITING):
                return await self._after_unanswered(inbound, text.strip(), language, safety)
            if route is Route.CRISIS:
                await self.alerts.crisis(inbound.desk, cid, source=inbound.source)
                if back is None and turn.handoff_reason != "staff":  # on duty: somebody must answer it
                    await self._watch(cid, "crisis")
                if crisis_watch.cannot_call(text):  # "不敢打电话 他会听到": the police without a call
                    reminder = crisis_watch.silent_help(inbound.desk, language)
                else:
                    reminder = messages.handoff_crisis_reminder(inbound.desk, language, back)
                return Outcome([Reply(reminder, source="gateway")], "to_staff", safety, urgent=True)
            if back is not None and turn.handoff_reason == "crisis":
                return await self._crisis_watch(inbound, text, back, language, safety)
            waiting = messages.handed_to_staff(inbound.desk, language, back)
            return Outcome([Reply(waiting, source="gateway")], "to_staff", safety)
        if route is None and self._heard_no(text, turn):
            # the no answers the check-in, not the question that came before it (a form question): thank
            # the person and ask that one again; Rasa never sees the no, so its form still waits for it
            asked = turn.asked_before_check_in
            replies = [
                Reply(
                    messages.check_in_no(inbound.desk, resuming=asked is not None, language=language), source="gateway"
                )
            ]
            return Outcome([*replies, asked] if asked is not None else replies, safety=safety)
        if turn.bot_reset_pending:
            await self._reset_rasa_slots(cid)

        if route is None:
            supplemented = await self._supplement(inbound, text, turn, decision)
            if isinstance(supplemented, Outcome):
                supplemented.safety = safety
                return supplemented
            if supplemented is not None:  # "another matter": the words just added are a request of their own
                text, decision = supplemented
            elif declines.unsure_ticket(decision):
                previous = await asyncio.to_thread(self.store.previous_routes, cid, declines.WINDOW)
                if declines.stands(decision, previous):  # "你们不是为人民服务吗" after a decline
                    stood = _safety_record(declines.as_decline(decision))
                    return Outcome([Reply(declines.restated(inbound.desk, language), source="gateway")], safety=stood)
            if referrals.may_follow(decision, text):
                referred = await asyncio.to_thread(self.store.referred_channel, cid)
                if referred is not None and decision is not None:  # "那我该找哪里？" right after a referral
                    kept = replace(
                        decision, route=Route.REFER, channel=referred, signals=(*decision.signals, referrals.SIGNAL)
                    )
                    reply = Reply(referrals.restated(inbound.desk, referred, language), source="gateway")
                    return Outcome([reply], safety=_safety_record(kept))
        rasa_text = words = text
        if route is None:
            taken = await self._take_matters(inbound, text, turn, decision)
            if isinstance(taken, Outcome):
                taken.safety = safety
                return taken
            if taken is not None:
                rasa_text, decision = taken
                words = rasa_text
                if decision is not None and decision.is_safety:  # the chosen matter has a safety word of its own
                    route, safety = decision.route, _safety_record(decision)
            elif turn.bot_asked and cancel_kind(text) == "cancel":
                # "算了 不弄了，同学说…": explicit giving-up, whatever NLU makes of the reasons around it;
                # the cancel action reads the words from the metadata
                rasa_text = "/cancel"
        if route is Route.CRISIS:
            rasa_text = "/crisis"
            if decision is not None and await self.alerts.is_bulk(inbound.source):  # the ticket says so to staff
                decision = replace(decision, signals=(*decision.signals, BULK_SIGNAL))
        elif route is Route.EMERGENCY and decision is not None and decision.channel:
            rasa_text = "/emergency" + json.dumps({"channel": decision.channel})
        metadata: dict[str, Any] = {
            "desk": inbound.desk,
            "channel": inbound.channel,
            "text": words,
            lang.METADATA_KEY: language,
        }
        if decision is not None:
            metadata[METADATA_KEY] = decision.to_dict()
        try:
            if not actions_up:  # Rasa would answer without its actions ("didn't understand"): apologise instead
                raise RasaUnavailable("the action server is down")
            bot_replies = await self._rasa.send(cid, rasa_text, metadata)
        except RasaUnavailable:
            if route is Route.CRISIS:
                await self.alerts.crisis(inbound.desk, cid, source=inbound.source)
            return Outcome(await self._fallback(inbound, decision, language), safety=safety, urgent=route is not None)
        replies, signals = self._apply_custom(bot_replies)
        crisis = route is Route.CRISIS or signals.handoff == "crisis"
        if crisis:
            await self._begin_handoff(cid, "crisis", inbound.desk)
            await self.alerts.crisis(inbound.desk, cid, signals.tickets[:1], source=inbound.source)
        elif signals.handoff:
            await self._begin_handoff(cid, signals.handoff, inbound.desk)
        for number in signals.tickets[1 if crisis else 0 :]:
            await self.alerts.ticket(inbound.desk, number)
        if not signals.handoff and self._check_in_due(text, turn, decision):
            back = _back_at(inbound.desk, language)
            replies.append(Reply(messages.check_in(inbound.desk, language, back_at=back), source=check_in.SOURCE))
        elif signals.filed and not signals.handoff:
            replies += await self._offer_next_matter(inbound, language)
        return Outcome(replies, safety=safety, urgent=crisis or route is not None)

    @staticmethod
    def _add_notice(inbound: Inbound, turn: Turn, outcome: Outcome) -> None:
        """The privacy notice goes first in the first answer of a conversation (and again on Telegram's
        /start), on every channel and desk; never with a crisis or emergency answer, which goes out
        alone (the notice then comes with the next ordinary answer), nor while staff have the
        conversation (they speak for themselves)."""
        if outcome.urgent or outcome.status != "answered" or not outcome.replies:
            return
        if turn.notice_given and not inbound.notice:
            return
        text = privacy_notice.notice(inbound.desk, turn.language)
        outcome.replies.insert(0, Reply(text, source=privacy_notice.SOURCE))

    async def _crisis_watch(
        self, inbound: Inbound, text: str, back: str, language: str, safety: dict[str, Any] | None
    ) -> Outcome:
        """A crisis waits for staff who are off duty (bot/gateway/crisis_watch.py): company, or the bot
        stands down when the person takes back what only the learned score read as a crisis."""
        cid, desk = inbound.conversation_id, inbound.desk
        if crisis_watch.cannot_call(text):
            return Outcome([Reply(crisis_watch.silent_help(desk, language), source="gateway")], "to_staff", safety)
        if crisis_watch.retracts(text):
            signals = await asyncio.to_thread(self.store.last_crisis_signals, cid)
            if signals is not None and crisis_watch.learned_only(signals):
                await asyncio.to_thread(self.store.set_handoff, cid, False)
                reply = crisis_watch.stood_down(desk, language, back)
                return Outcome([Reply(reply, source="gateway")], "answered", safety)
            reply = crisis_watch.company(desk, language, back, retracted=True)
            return Outcome([Reply(reply, source="gateway")], "to_staff", safety)
        return Outcome([Reply(crisis_watch.company(desk, language, back), source="gateway")], "to_staff", safety)

    async def _supplement(
        self, inbound: Inbound, text: str, turn: Turn, decision: Decision | None
    ) -> Outcome | tuple[str, Decision | None] | None:
        """More about the matter just filed goes onto its ticket (bot/gateway/supplement.py). Only right
        after the filing reply or a supplement reply (no form is waiting for an answer then); "another
        matter" after a supplement returns the added words and their decision, to be filed alone."""
        cid, pending = inbound.conversation_id, turn.pending_matters or {}
        if pending.get("stage") == supplement.STAGE:
            await asyncio.to_thread(self.store.set_pending_matters, cid, None)
            added = [str(m) for m in pending.get("matters") or []]
            if added and supplement.says_another_matter(text):
                return added[0], await self._safe_decide(added[0], inbound.desk, turn.history, turn.language)
        elif pending:
            return None  # several matters being taken one by one: bot/gateway/matters.py
        if not supplement.may_add(text, decision):
            return None  # most messages: no ticket lookup on the way
        ticket = await asyncio.to_thread(supplement.recent_ticket, self._engine, cid, utcnow())
        if ticket is None or not supplement.adds_to(ticket, text, decision):
            return None
        last = await asyncio.to_thread(self.store.last_reply_text, cid)
        if not last or ticket.number not in last:
            return None  # the bot has said something else since (a form of a new matter may be asking)
        await asyncio.to_thread(supplement.add, self._engine, ticket, text)
        await asyncio.to_thread(self.store.set_pending_matters, cid, {"stage": supplement.STAGE, "matters": [text]})
        reply, buttons = supplement.added(inbound.desk, ticket.number, turn.language)
        return Outcome([Reply(reply, buttons, source=supplement.SOURCE)])

    async def _take_matters(
        self, inbound: Inbound, text: str, turn: Turn, decision: Decision | None
    ) -> Outcome | tuple[str, Decision | None] | None:
        """Several matters in one message (bot/gateway/matters.py): ask which first, send the chosen
        one to Rasa, offer the next after its ticket. Returns the gateway's own answer (an Outcome),
        the text and decision Rasa gets instead of the message, or None (nothing to do with matters)."""
        cid, desk, language = inbound.conversation_id, inbound.desk, turn.language
        pending = turn.pending_matters or {}
        queued = [str(m) for m in pending.get("matters") or []]
        stage = pending.get("stage")
        if stage in ("choose", "offer"):
            await asyncio.to_thread(self.store.set_pending_matters, cid, None)
            if stage == "choose" and turn.bot_asked and queued:
                index = matters.read_choice(text, queued)
                if (
                    index is None
                    and length_units(text) <= check_in.SHORT_ANSWER_UNITS
                    and matters.read_yes_no(text) is not False
                ):
                    index = 0  # "嗯", "ok": start with the first
                if index is not None:
                    return await self._start_matter(cid, desk, turn, queued, index)
            if stage == "offer" and turn.bot_asked and queued:
                answer = matters.read_yes_no(text, queued[0])
                if answer is True:
                    return await self._start_matter(cid, desk, turn, queued, 0)
                if answer is False:
                    return Outcome([Reply(matters.declined(desk, language), source="gateway")])
            return None
        if decision is None or turn.bot_asked:
            return None
        if decision.route is not Route.TICKET and not (decision.route is Route.CLARIFY and matters.says_several(text)):
            return None  # "我想问两个事情…" can be too mixed to place as a whole: its parts are decided alone
        parts = matters.split(text)
        if len(parts) < 2:
            return None
        decided = await asyncio.gather(*(self._safe_decide(p, desk, turn.history, language) for p in parts))
        # a part read alone can look like something else ("我八十多了…下不了楼" alone nears the crisis bar);
        # when the person said there are several matters, such a part keeps the whole message's category
        fallback = decision.category if matters.says_several(text) else None
        categories = [d.category if d is not None and d.route is Route.TICKET else fallback for d in decided]
        if not matters.several(parts, categories, text):
            return None
        chosen = {
            "stage": "choose",
            "matters": parts,
            "decisions": [d.to_dict() if d else None for d in decided],
            "whole": decision.to_dict(),
        }
        await asyncio.to_thread(self.store.set_pending_matters, cid, chosen)
        question, buttons = matters.ask_which(desk, parts, language)
        return Outcome([Reply(question, buttons, source=matters.SOURCE_CHOICE)])

    async def _start_matter(
        self, cid: str, desk: str, turn: Turn, queued: list[str], index: int
    ) -> tuple[str, Decision | None]:
        """Rasa hears the chosen matter as if it had been written alone; the rest wait for their offer."""
        chosen, rest = queued[index], [m for i, m in enumerate(queued) if i != index]
        if rest:
            await asyncio.to_thread(self.store.set_pending_matters, cid, {"stage": "queued", "matters": rest})
        decision = await self._safe_decide(chosen, desk, turn.history, turn.language)
        if decision is not None and decision.is_safety:
            # the whole message passed the safety screen; a part of it alone can read like an emergency
            # ("电梯坏了…我妈82了天天在家出不去" -> 119 at 0.76): file it as the category it got when the
            # message was split, or as the whole message's, unless the part has a safety word of its own
            pending = turn.pending_matters or {}
            first = pending.get("decisions") or []
            stored = first[index] if index < len(first) else None
            whole = pending.get("whole")
            if isinstance(stored, dict) and stored.get("route") == Route.TICKET.value:
                decision = Decision.from_dict(stored)
            elif (
                isinstance(whole, dict)
                and whole.get("route") == Route.TICKET.value
                and not check_in.has_own_evidence(decision.signals)
            ):
                decision = Decision.from_dict(whole)
        return chosen, decision

    async def _offer_next_matter(self, inbound: Inbound, language: str) -> list[Reply]:
        """A ticket was filed: offer the next matter the person raised with it, if any."""
        cid = inbound.conversation_id
        pending = await asyncio.to_thread(self.store.pending_matters, cid)
        queued = [str(m) for m in (pending or {}).get("matters") or []]
        if not pending or pending.get("stage") != "queued" or not queued:
            return []
        await asyncio.to_thread(self.store.set_pending_matters, cid, {"stage": "offer", "matters": queued})
        text, buttons = matters.offer_next(inbound.desk, queued[0], language)
        return [Reply(text, buttons, source=matters.SOURCE_OFFER)]

    @staticmethod
    def _check_in_due(text: str, turn: Turn, decision: Decision | None) -> bool:
        """A message just under the crisis bar gets the check-in question, at most once an hour per
        conversation (when it was last asked is read from the outbound table: survives restarts).
        Never on a short answer to the bot's own question; the engine already keeps the signal only
        where a counsellor would ask (not on practical matters: wages, theft, noise)."""
        if decision is None or decision.is_safety or decision.check_in_signal is None:
            return False
        if check_in.short_answer(text, turn.bot_asked) and check_in.DOWNGRADED not in decision.signals:
            return False
        if check_in.inside_citizen_questions(decision, turn.bot_asked):
            return False
        if check_in.reassures(text):  # "我唔係想點，只係想搵人講吓": asking would ask what was just answered
            return False
        return check_in.check_in_due(turn.last_check_in, utcnow())

    @staticmethod
    def _heard_no(text: str, turn: Turn) -> bool:
        """Is this message a no to the check-in question asked with the previous answer?"""
        due = check_in.answer_due(turn.last_check_in, turn.check_in_was_last_turn, utcnow())
        return due and check_in.read_answer(text) is check_in.Answer.NO

    @staticmethod
    def _hear_check_in_answer(text: str, turn: Turn, decision: Decision | None) -> Decision | None:
        """The message right after the check-in question is its answer: a yes, or a second message
        close to the crisis bar, is a crisis (the person said so, or said it twice); see `check_in`.
        The crisis decision replaces the engine's, so Rasa and the actions act on the same one. When
        the screen already made it a crisis (e.g. read with the earlier message), a yes is still
        recorded among its signals: staff should know the person said so, whatever the score was."""
        if decision is None:
            return decision
        if not check_in.answer_due(turn.last_check_in, turn.check_in_was_last_turn, utcnow()):
            return decision
        answer = check_in.read_answer(text)
        if decision.is_safety:
            if answer is check_in.Answer.YES and decision.route is Route.CRISIS:
                return replace(decision, signals=(*decision.signals, f"{check_in.ANSWER_SIGNAL}:yes"))
            return decision
        if answer is check_in.Answer.YES:
            reason = f"{check_in.ANSWER_SIGNAL}:yes"
        elif answer is None and check_in.close_again(decision.signals):
            reason = f"{check_in.ANSWER_SIGNAL}:close-again"
        else:
            return decision
        return Decision(
            Route.CRISIS,
            decision.desk,
            channel=CRISIS_CHANNEL,
            confidence=decision.confidence,
            reply=crisis_reply(decision.desk, turn.language),
            signals=(*decision.signals, reason),
            priority="urgent",
        )

    @staticmethod
    def _apply_custom(bot_replies: list[BotReply]) -> tuple[list[Reply], ActionSignals]:
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
            if custom.get("ticket_filed"):
                signals.filed.append(str(custom["ticket_filed"])[:40])
            if item.text:
                replies.append(Reply(item.text, item.buttons))
        return replies, signals

    async def _fallback(self, inbound: Inbound, decision: Decision | None, language: str) -> list[Reply]:
        if decision is not None and decision.route is Route.CRISIS:
            await self._begin_handoff(inbound.conversation_id, "crisis", inbound.desk)
            back = _back_at(inbound.desk, language)
            if back is not None:  # the engine's crisis reply promises a person: say who is (not) there
                return [Reply(messages.crisis_fallback(inbound.desk, language, back), source="gateway")]
            return [Reply(decision.reply or messages.crisis_fallback(inbound.desk, language), source="gateway")]
        if decision is not None and decision.route is Route.EMERGENCY and decision.channel:
            return [Reply(messages.emergency_fallback(decision.channel, language), source="gateway")]
        return [Reply(messages.backend_down(inbound.desk, language), source="gateway")]

    async def _safe_decide(self, text: str, desk: str, history: Sequence[str], language: str) -> Decision | None:
        """The decision, or None when triage failed: the person still gets Rasa's answer (whose own
        safety override still sees crisis words), and the actions apologise instead of guessing."""
        try:
            return await asyncio.to_thread(self._decide, text, desk, history, language)
        except Exception as exc:  # the screen must never take the conversation down with it
            log.error("triage failed (%s); continuing with Rasa's own crisis detection", type(exc).__name__)
            return None

    async def _finish(self, inbound: Inbound, record: InboundMessage, outcome: Outcome) -> list[Reply]:
        await asyncio.to_thread(
            self.store.finish, record, outcome.replies, inbound.queue_replies, outcome.status, outcome.safety
        )
        if inbound.queue_replies:
            self._wake(record.conversation_id)
        return outcome.replies

    # --- restart recovery --------------------------------------------------------------------
    async def start_recovery(self, wait_for_rasa: float = 30.0) -> asyncio.Task[Any] | None:
        """Answer, exactly once, the messages a killed process had received but not answered.

        Call at start-up before serving. On SQLite (one process) the affected conversations are locked
        at once, so a new message from the same person waits behind the recovered one; the work itself
        runs in the background (waiting up to `wait_for_rasa` seconds for Rasa) and its replies are queued.

        With several instances on PostgreSQL a sweeper runs instead, for the life of the process: every
        quarter of the inbound lease it answers the messages whose lease expired (their instance died
        mid-turn), each under its conversation's advisory lock and after a conditional claim, so two
        live instances never answer one message and a dead one's messages wait at most about a lease.
        """
        if self._locks.shared:
            return asyncio.create_task(self._sweep_forever(wait_for_rasa), name="gateway-recovery-sweeper")
        rows = await asyncio.to_thread(self.store.unanswered)
        if not rows:
            return None
        by_conversation: dict[str, list[tuple[InboundMessage, Conversation]]] = defaultdict(list)
        for inbound, conversation in rows:
            by_conversation[conversation.id].append((inbound, conversation))
        for conversation_id in by_conversation:
            await self._locks.acquire(conversation_id)
        log.warning("recovering %d unanswered message(s) in %d conversation(s)", len(rows), len(by_conversation))
        return asyncio.create_task(self._recover(by_conversation, wait_for_rasa), name="gateway-recovery")

    async def _wait_for_rasa(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not await self._rasa.is_up():
            await asyncio.sleep(0.5)

    async def _recover(self, work: dict[str, list[tuple[InboundMessage, Conversation]]], wait_for_rasa: float) -> int:
        await self._wait_for_rasa(wait_for_rasa)
        done = 0
        for conversation_id, items in work.items():
            try:
                done += await self._answer_recovered(items)
            finally:
                await self._locks.release(conversation_id)
        log.warning("recovered %d message(s)", done)
        return done

    async def _sweep_forever(self, wait_for_rasa: float) -> None:
        interval = min(15.0, max(0.5, self.inbound_lease_seconds / 4))
        first = True
        while True:
            try:
                if first and len(await asyncio.to_thread(self.store.unanswered, 1)) > 0:
                    await self._wait_for_rasa(wait_for_rasa)
                first = False
                await self.sweep_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup must not end the sweeps for good
                log.error("recovery sweep failed: %s", type(exc).__name__)
            await asyncio.sleep(interval)

    async def sweep_once(self, limit: int = 200) -> int:
        """Answer the recoverable messages of every conversation nobody is answering now; how many."""
        rows = await asyncio.to_thread(self.store.unanswered, limit)
        by_conversation: dict[str, list[tuple[InboundMessage, Conversation]]] = defaultdict(list)
        for inbound, conversation in rows:
            by_conversation[conversation.id].append((inbound, conversation))
        done = 0
        for conversation_id, items in by_conversation.items():
            if not await self._locks.try_acquire(conversation_id):
                continue  # a live turn (here or on another instance) has it; it is looked at again next time
            try:
                done += await self._answer_recovered(items)
            finally:
                await self._locks.release(conversation_id)
        if done:
            log.warning("recovered %d message(s) left unanswered by a stopped instance", done)
        return done

    async def _answer_recovered(self, items: list[tuple[InboundMessage, Conversation]]) -> int:
        """Answer one conversation's recovered messages in order (its lock held); each is claimed first."""
        done = 0
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
                if not await asyncio.to_thread(self.store.claim_inbound, record.id):
                    continue  # answered meanwhile, or another live instance has it
                turn = await asyncio.to_thread(self.store.history, conversation.id, record.id)
                outcome = await self._answer(inbound, record.text, turn)
                self._add_notice(inbound, turn, outcome)
                await self._finish(inbound, record, outcome)
                done += 1
            except Exception as exc:  # one bad message must not block the others
                log.error("recovery of message %s failed: %s", record.id, type(exc).__name__)
        return done

    # --- handoff -----------------------------------------------------------------------------
    def set_handoff(self, conversation_id: str, on: bool, reason: str | None = None) -> None:
        """Give the conversation to a human (on) or back to the bot (off). A staff member taking it over
        (reason "staff", the console) is announced to the person: "工作人员已接入对话"."""
        if not (on and reason == "staff"):
            self.store.set_handoff(conversation_id, on, reason)
            return
        if self.store.take_over(conversation_id):
            desk = self.store.conversation(conversation_id)
            language = self.store.language(conversation_id)
            if desk is not None:
                text = handoff_watch.staff_joined(desk.desk, language)
                self.enqueue(conversation_id, text, handoff_watch.JOINED_SOURCE)

    async def _begin_handoff(self, conversation_id: str, reason: str, desk: str) -> None:
        if await asyncio.to_thread(self.store.set_handoff, conversation_id, True, reason):
            log.info("conversation %s handed to staff (%s)", mask(conversation_id), reason)
            if _back_at(desk, lang.DEFAULT) is None:  # staff on duty were promised: watch that one comes
                await self._watch(conversation_id, "crisis" if reason == "crisis" else "handoff")

    async def _watch(self, conversation_id: str, kind: str) -> None:
        now = utcnow()
        due = now + timedelta(minutes=self.ack_minutes[kind])
        await asyncio.to_thread(self.store.watch_handoff, conversation_id, now, due, kind == "crisis")

    async def _after_unanswered(
        self, inbound: Inbound, payload: str, language: str, safety: dict[str, Any] | None
    ) -> Outcome:
        """The buttons offered after an unanswered 转人工 (bot/gateway/handoff_watch.py): leave the matter
        as a ticket (the bot takes the conversation back and takes it down) or keep waiting for staff."""
        cid, desk = inbound.conversation_id, inbound.desk
        if payload == handoff_watch.LEAVE_TICKET:
            await asyncio.to_thread(self.store.set_handoff, cid, False)
            await self._reset_rasa_slots(cid)
            reply = Reply(handoff_watch.leave_ticket_prompt(desk, language), source="gateway")
            return Outcome([reply], "answered", safety)
        return Outcome([Reply(handoff_watch.keep_waiting(desk, language), source="gateway")], "to_staff", safety)

    async def _reset_rasa_slots(self, conversation_id: str) -> None:
        """After staff hand back: Rasa's handoff/in_crisis slots would otherwise hand it over again."""
        if not self._rasa.can_set_slots or await self._rasa.set_slots(
            conversation_id, {"handoff": False, "in_crisis": False}
        ):
            await asyncio.to_thread(self.store.clear_reset, conversation_id)

    # --- staff alerts ------------------------------------------------------------------------
    async def notify_staff(self, desk: str, text: str) -> int | None:
        """Post an alert to the on-duty staff chat; see `StaffAlerts.notify`."""
        return await self.alerts.notify(desk, text)

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

    def conversation(self, conversation_id: str) -> Conversation | None:
        return self.store.conversation(conversation_id)

    def language(self, conversation_id: str) -> str:
        """The conversation's language (bot/language.py); the default for an unknown conversation."""
        return self.store.language(conversation_id)
