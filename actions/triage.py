"""action_triage_request: hands a request to the triage engine and acts on its route.

* ticket: sets `route: ticket` and pre-fills the ticket form (what, and since when if the message
  says so); the rules then start `ticket_form`.
* faq / refer / decline / emergency: the answer, buttons where they help, and a closed record in
  the ticket store (analytics counts it as answered; declines keep their reason code).
* crisis: the crisis answer, an urgent ticket and the handoff (see actions/safety.py).
* "/describe_problem" (the "我还是想反映" button after an FAQ answer or a referral) starts the form
  with an empty description.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    clear_form_events,
    concern_signal,
    desk_of,
    gateway_decision,
    is_payload,
    language_of,
    latest_text,
    message_origin,
    record_decision,
    ticket_store,
)
from actions.safety import (
    crisis_payload,
    open_crisis_ticket,
    record_emergency,
    respond_to_crisis,
    respond_to_emergency,
)
from bot.language import is_english
from bot.voice import is_youth

if TYPE_CHECKING:
    from bot.tickets.repository import TicketStore
    from bot.triage.decision import Decision

logger = logging.getLogger(__name__)

REPLY_ROUTES = ("refer", "decline", "clarify")
"""Routes whose answer is the engine's own reply text (from the desk catalogue)."""
RECORDED_ROUTES = ("refer", "decline", "faq")
"""Routes answered at the first gate that are recorded as closed records."""
INSIST_AFTER = ("faq", "refer")
"""After these answers, "我还是想反映" (/describe_problem) opens the ticket form."""


class ActionTriageRequest(Action):
    """describe_problem, inform outside a form, nlu_fallback: acts on the gateway's decision."""

    def __init__(self, store: TicketStore | None = None) -> None:
        """`store` replaces the ticket store in tests."""
        self._store = store

    def name(self) -> str:
        """Name used in rules and stories."""
        return "action_triage_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Never raises: without a decision the person gets an apology and the way to a human."""
        text = latest_text(tracker)
        if not text.strip() or is_payload(text):
            return self._button(dispatcher, tracker)

        decision = gateway_decision(tracker)
        if decision is None:
            logger.error(
                "no triage decision with the message (desk %s): not sent through the gateway?", desk_of(tracker)
            )
            dispatcher.utter_message(response="utter_triage_error")
            return [SlotSet("route", None)]
        events = self.act_on(decision, text, dispatcher, tracker)
        await self._record(decision, text, dispatcher, tracker, events)
        return events

    @staticmethod
    def _button(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """A button such as "我还是想反映" (/describe_problem): there is nothing to triage yet."""
        if tracker.get_slot("route") in INSIST_AFTER:
            dispatcher.utter_message(response="utter_ticket_intro_plain")
            return [
                *clear_form_events(tracker),
                SlotSet("route", "ticket"),
                SlotSet("category", None),
                SlotSet("category_l1", None),
                SlotSet("faq_id", None),
                SlotSet("ticket_origin", message_origin(tracker)),
            ]
        dispatcher.utter_message(response="utter_ask_details")
        return [SlotSet("route", None), SlotSet("faq_id", None)]

    @staticmethod
    def act_on(decision: Decision, text: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """Sends the reply the route calls for and records the decision in slots."""
        route = decision.route.value
        reply = decision.reply
        if route == "crisis":
            return respond_to_crisis(dispatcher, tracker)
        if route == "emergency":
            events = respond_to_emergency(dispatcher, tracker, decision.channel)
            return [*events, *_decision_slots(decision, skip=("route", "channel"))]

        if route == "faq":
            if reply:
                dispatcher.utter_message(text=reply)
                dispatcher.utter_message(response="utter_faq_helpful")
            else:  # an FAQ entry without an answer is a catalogue bug: do not pretend
                logger.error("FAQ decision without an answer (faq_id %s)", decision.faq_id)
                dispatcher.utter_message(response="utter_ask_details")
                return [*_decision_slots(decision), SlotSet("route", None)]
        elif route == "ticket":
            return start_ticket(decision, text, dispatcher, tracker)
        elif route == "smalltalk":
            if reply:
                dispatcher.utter_message(text=reply)
            else:
                dispatcher.utter_message(response="utter_invite_request")
        elif route in REPLY_ROUTES and reply:
            dispatcher.utter_message(text=reply)
            if route == "refer":
                dispatcher.utter_message(response="utter_refer_helpful")
            elif route == "decline":
                dispatcher.utter_message(response="utter_decline_next")
        else:
            if route not in REPLY_ROUTES:
                logger.error("Unknown triage route %r; asking the person to say more", route)
            dispatcher.utter_message(response="utter_ask_rephrase")
        return _decision_slots(decision)

    async def _record(
        self,
        decision: Decision,
        text: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        events: list[EventType],
    ) -> None:
        """Writes what the route asks for to the ticket store; a failure never reaches the person."""
        route = decision.route.value
        if route not in (*RECORDED_ROUTES, "emergency", "crisis"):
            return
        if route == "faq" and not decision.reply:
            return
        try:
            store = await ticket_store(self._store)
        except Exception:
            logger.exception("ticket store unavailable; %s answer not recorded", route)
            if route == "crisis":
                dispatcher.utter_message(json_message=crisis_payload(None))
            return
        signals = decision.signals
        if route == "crisis":
            if tracker.get_slot("in_crisis") is True:
                dispatcher.utter_message(json_message=crisis_payload(None))
                return
            number = await asyncio.to_thread(
                open_crisis_ticket, tracker, store, {"source": "triage", "signals": list(signals)[:20]}
            )
            dispatcher.utter_message(json_message=crisis_payload(number))
            if number:
                events.append(SlotSet("last_ticket", number))
            return
        if route == "emergency":
            await asyncio.to_thread(record_emergency, tracker, store, decision.channel, signals)
            return
        try:
            await asyncio.to_thread(record_decision, store, tracker, decision, text, route)
        except Exception:
            logger.exception("could not record the %s answer", route)


def start_ticket(decision: Decision, text: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
    """Route ticket: a short intro; the rules start ticket_form, which asks only what is missing."""
    from bot.intake.fields import (
        category_info,
        guess_since,
        guess_youth_who,
        lost_money_to_fraud,
    )

    name = decision.category_name or decision.category_l1
    if not name:
        category = decision.category or ""
        name = category if category and not category.isascii() else None  # ids are not for people
    if name and is_english(language_of(tracker)) and not name.isascii():
        name = None  # no English name in the catalogue yet: the intro without one reads better than Chinese
    if name:
        dispatcher.utter_message(response="utter_ticket_intro", category_name=name)
    else:
        dispatcher.utter_message(response="utter_ticket_intro_plain")
    if decision.reply:
        dispatcher.utter_message(text=decision.reply)
    if lost_money_to_fraud(text):
        dispatcher.utter_message(response="utter_fraud_report_first")
    prefilled = [SlotSet("problem_since", guess_since(text))]
    desk = desk_of(tracker)
    # a young person's message often names the people ("班上几个男生…"); the place is still asked:
    # "学校" read from the message does not tell staff which school
    if is_youth(desk) and "problem_who" in category_info(desk, decision.category).slots:
        prefilled.append(SlotSet("problem_who", guess_youth_who(text)))
    return [
        *clear_form_events(tracker),
        *_decision_slots(decision),
        SlotSet("category_l1", decision.category_l1),
        SlotSet("problem_what", text),
        *prefilled,
        SlotSet("ticket_origin", message_origin(tracker)),
        SlotSet("ticket_concern", concern_signal(decision)),
    ]


def _decision_slots(decision: Decision, skip: tuple[str, ...] = ()) -> list[EventType]:
    values = {
        "route": decision.route.value,
        "channel": decision.channel,
        "category": decision.category,
        "faq_id": decision.faq_id,
    }
    return [SlotSet(name, value) for name, value in values.items() if name not in skip]
