"""action_triage_request: hands a request to the triage engine and acts on its route."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    desk_of,
    is_payload,
    latest_text,
    load_triage_engine,
    previous_user_texts,
    route_name,
)
from actions.safety import respond_to_crisis, respond_to_emergency

logger = logging.getLogger(__name__)

REPLY_ROUTES = ("refer", "decline", "clarify")
"""Routes whose answer is the engine's own reply text (from the desk catalogue)."""


class ActionTriageRequest(Action):
    """describe_problem, inform outside a form, nlu_fallback: the engine decides what happens."""

    def __init__(self, engine: Any = None) -> None:
        """`engine` replaces the triage engine in tests; in production it is loaded on first use."""
        self._engine = engine

    def name(self) -> str:
        """Name used in rules and stories."""
        return "action_triage_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        """Never raises: on an engine error the person gets an apology and the way to a human."""
        text = latest_text(tracker)
        if not text.strip() or is_payload(text):
            # a button such as "我还是想反映" (/describe_problem): there is nothing to triage yet
            dispatcher.utter_message(response="utter_ask_details")
            return [SlotSet("faq_id", None)]

        desk = desk_of(tracker)
        try:
            engine = self._engine or await asyncio.to_thread(load_triage_engine)
            decision = await asyncio.to_thread(engine.decide, text, desk, history=previous_user_texts(tracker))
        except Exception:
            logger.exception("Triage engine failed (desk %s)", desk)
            dispatcher.utter_message(response="utter_triage_error")
            return []
        return self.act_on(decision, text, dispatcher, tracker)

    @staticmethod
    def act_on(decision: Any, text: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[EventType]:
        """Sends the reply the route calls for and records the decision in slots."""
        route = route_name(decision.route)
        reply = getattr(decision, "reply", None)
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
        elif route == "ticket":
            _say_ticket_noted(dispatcher, decision, reply)
            # TODO(ticket form): start the form here instead (what/where/since, contact with consent)
            return [*_decision_slots(decision), SlotSet("problem_what", text)]
        elif route == "smalltalk":
            if reply:
                dispatcher.utter_message(text=reply)
            else:
                dispatcher.utter_message(response="utter_invite_request")
        elif route in REPLY_ROUTES and reply:
            dispatcher.utter_message(text=reply)
        else:
            if route not in REPLY_ROUTES:
                logger.error("Unknown triage route %r; asking the person to say more", route)
            dispatcher.utter_message(response="utter_ask_rephrase")
        return _decision_slots(decision)


def _say_ticket_noted(dispatcher: CollectingDispatcher, decision: Any, reply: str | None) -> None:
    """Honest for now: the matter and its category are noted in this conversation; staff follow up."""
    name = getattr(decision, "category_name", None) or getattr(decision, "category_l1", None)
    if not name:
        category = getattr(decision, "category", None) or ""
        name = category if category and not category.isascii() else None  # ids are not for people
    if name:
        dispatcher.utter_message(response="utter_ticket_noted", category_name=name)
    else:
        dispatcher.utter_message(response="utter_ticket_noted_plain")
    if reply:
        dispatcher.utter_message(text=reply)


def _decision_slots(decision: Any, skip: tuple[str, ...] = ()) -> list[EventType]:
    values = {
        "route": route_name(decision.route),
        "channel": decision.channel,
        "category": decision.category,
        "faq_id": decision.faq_id,
    }
    return [SlotSet(name, value) for name, value in values.items() if name not in skip]
