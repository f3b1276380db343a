"""Crisis and emergency: answered first, warmly, with the numbers to call; a person is brought in.

A crisis also opens an URGENT ticket (first response within 15 minutes) and tells the gateway, in
custom payloads, to hand the conversation to on-duty staff ({"handoff": true, "reason": "crisis"})
and to alert them ({"urgent_ticket": "<number>"}). An emergency is recorded as a closed record
(analytics counts it as answered). Neither ever waits for the database: if the store fails, the
numbers still go out.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    EMERGENCY_CHANNEL_NAMES,
    EMERGENCY_CHANNEL_NAMES_EN,
    clear_form_events,
    desk_of,
    gateway_decision,
    language_of,
    message_origin,
    person_text,
    ticket_store,
    transcript,
)
from bot.crisis_words import CHECK_IN_QUESTION
from bot.intake.hours import back_on_duty
from bot.language import is_english
from bot.triage.decision import CHECK_IN_ANSWER_SIGNAL
from bot.triage.vocabulary import CRISIS_CHANNEL, Route

if TYPE_CHECKING:
    from bot.tickets.repository import TicketStore

logger = logging.getLogger(__name__)


def utter_crisis_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, already: bool = False, now: datetime | None = None
) -> None:
    """The crisis answer (`already`: the short one of every later message), true about who is coming:
    in staff hours a person has been asked to join; out of them staff are offline until `back_at`,
    and the 24-hour line comes first (the alert and the urgent ticket go out either way)."""
    back_at = back_on_duty(desk_of(tracker), language_of(tracker), now)
    if back_at is None:
        dispatcher.utter_message(response="utter_crisis_stay" if already else "utter_crisis")
    else:
        response = "utter_crisis_stay_off_hours" if already else "utter_crisis_off_hours"
        dispatcher.utter_message(response=response, back_at=back_at)


def respond_to_crisis(
    dispatcher: CollectingDispatcher, tracker: Tracker, now: datetime | None = None
) -> list[EventType]:
    """Answers a crisis message and returns the events that keep the person with a human.

    The first time: the full answer (12356, 110/120, 12355 on the youth desk) from `utter_crisis`.
    Afterwards (in_crisis already set): a short message that stays with the person and repeats
    the numbers. Out of the desk's staff hours both say that staff are offline and when they are
    back, and put the 24-hour line first: the product never promises a person nobody can send. Never a goodbye. Sets `handoff` (the gateway brings in on-duty staff) and
    deactivates any active form and empties its slots.
    """
    already = tracker.get_slot("in_crisis") is True
    utter_crisis_answer(dispatcher, tracker, already, now)
    events: list[EventType] = [ActiveLoop(None)] if tracker.active_loop_name else []
    events.extend(clear_form_events(tracker))  # a half-filled form does not come back after a crisis
    wanted = {"in_crisis": True, "handoff": True, "route": "crisis", "channel": CRISIS_CHANNEL}
    events.extend(SlotSet(name, value) for name, value in wanted.items() if tracker.get_slot(name) != value)
    return events


def crisis_fallback_text(tracker: Tracker) -> str:
    """The plain-text crisis answer when the response itself failed: the numbers, in the person's language."""
    if is_english(language_of(tracker)):
        return (
            "I'm here with you. Please call 12356, the psychological assistance hotline, now; if your life is in "
            "danger, call 110 (police) or 120 (ambulance) immediately. A member of staff will join very soon."
        )
    return "我在这里陪着你。请马上拨打 12356 心理援助热线；有生命危险请立即拨打 110 或 120。工作人员很快会接入。"


def screen_signals(tracker: Tracker) -> list[str]:
    """Why the gateway's decision flagged the message (its signals), for the ticket."""
    decision = gateway_decision(tracker)
    return [s[:80] for s in decision.signals[:20]] if decision is not None else []


def open_crisis_ticket(tracker: Tracker, store: TicketStore, signals: dict[str, Any] | None = None) -> str | None:
    """Opens the urgent ticket of a crisis (once per triggering message); its number, or None on failure."""
    from bot.intake.records import open_crisis_ticket as open_ticket

    try:
        text = person_text(tracker)
        earlier = tracker.get_slot("problem_what")
        if text and earlier and earlier != text:
            summary = f"{text}\n（此前在登记：{earlier}）"
        else:
            summary = text or earlier or "（危机对话）"
        if any(str(s).startswith(CHECK_IN_ANSWER_SIGNAL) for s in (signals or {}).get("screen", [])):
            summary = f"{summary}\n（回答前台的关怀询问：{CHECK_IN_QUESTION}）"  # what the yes answered
        ticket = open_ticket(
            store,
            desk=desk_of(tracker),
            conversation_id=tracker.sender_id,
            origin=message_origin(tracker),
            text=summary,
            transcript=transcript(store, tracker),
            signals=signals,
        )
        return str(ticket.number)
    except Exception:
        logger.exception("could not open the crisis ticket; staff are still alerted through the handoff")
        return None


def crisis_payload(number: str | None) -> dict[str, Any]:
    """What the gateway acts on: hand the conversation to staff now, alert them with the ticket."""
    payload: dict[str, Any] = {"handoff": True, "reason": "crisis"}
    if number:
        payload["urgent_ticket"] = number
    return payload


def respond_to_emergency(dispatcher: CollectingDispatcher, tracker: Tracker, channel: str | None) -> list[EventType]:
    """Tells the person to call `channel` now, in one short sentence first, and records the route."""
    if channel in EMERGENCY_CHANNEL_NAMES:
        names = EMERGENCY_CHANNEL_NAMES_EN if is_english(language_of(tracker)) else EMERGENCY_CHANNEL_NAMES
        dispatcher.utter_message(response="utter_emergency_call", channel=channel, channel_name=names[channel])
    else:
        channel = None
        dispatcher.utter_message(response="utter_emergency_unknown")
    dispatcher.utter_message(response="utter_emergency_after")
    events: list[EventType] = [ActiveLoop(None)] if tracker.active_loop_name else []
    events.extend(clear_form_events(tracker))
    events.extend([SlotSet("route", "emergency"), SlotSet("channel", channel)])
    return events


def record_emergency(tracker: Tracker, store: TicketStore, channel: str | None, signals: tuple[str, ...] = ()) -> None:
    """A closed `emergency` record (counts as answered); failures are logged, never shown."""
    from bot.intake.records import record_answer

    try:
        record_answer(
            store,
            route="emergency",
            desk=desk_of(tracker),
            conversation_id=tracker.sender_id,
            origin=message_origin(tracker),
            text=person_text(tracker),
            channel=channel,
            signals=signals,
        )
    except Exception:
        logger.exception("could not record the emergency")


class ActionHandleCrisis(Action):
    """Intent `crisis` (NLU or the safety override), and every message while in_crisis."""

    def __init__(self, store: TicketStore | None = None) -> None:
        """`store` replaces the ticket store in tests; in production it is opened on first use."""
        self._store = store

    def name(self) -> str:
        """Name used in rules and stories."""
        return "action_handle_crisis"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Never fails: if anything goes wrong the numbers are still sent as plain text."""
        first = tracker.get_slot("in_crisis") is not True
        try:
            events = respond_to_crisis(dispatcher, tracker)
        except Exception:
            logger.exception("action_handle_crisis failed; sending the fallback text")
            dispatcher.utter_message(text=crisis_fallback_text(tracker))
            events = [SlotSet("in_crisis", True), SlotSet("handoff", True)]
        number = None
        if first:
            try:
                store = await ticket_store(self._store)
                signals = {"source": "crisis_intent", "screen": screen_signals(tracker)}
                number = await asyncio.to_thread(open_crisis_ticket, tracker, store, signals)
            except Exception:
                logger.exception("ticket store unavailable for the crisis ticket")
        dispatcher.utter_message(json_message=crisis_payload(number))
        if number:
            events.append(SlotSet("last_ticket", number))
        return events


class ActionHandleEmergency(Action):
    """Intent `emergency`: "call 110/119/120/122 now" first."""

    def __init__(self, store: TicketStore | None = None) -> None:
        """`store` replaces the ticket store in tests."""
        self._store = store

    def name(self) -> str:
        """Name used in rules and stories."""
        return "action_handle_emergency"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """The channel comes from the safety override's `channel` entity, else from the gateway's decision."""
        channel = next(tracker.get_latest_entity_values("channel"), None)
        if channel not in EMERGENCY_CHANNEL_NAMES:
            channel = _channel_from_decision(tracker)
        events = respond_to_emergency(dispatcher, tracker, channel)
        try:
            store = await ticket_store(self._store)
            await asyncio.to_thread(record_emergency, tracker, store, channel, ("emergency_intent",))
        except Exception:
            logger.exception("ticket store unavailable for the emergency record")
        return events


def _channel_from_decision(tracker: Tracker) -> str | None:
    """The emergency channel of the gateway's decision, when it decided on an emergency."""
    decision = gateway_decision(tracker)
    if decision is not None and decision.route is Route.EMERGENCY and decision.channel in EMERGENCY_CHANNEL_NAMES:
        return decision.channel
    return None
