"""Messages NLU takes out of the ticket form's hands: a cancel, a goodbye, a greeting, thanks, small talk.

NLU's guess is not the last word on what the person meant (bot/intake/cancel.py):

* `action_cancel_ticket_form` ("取消", "算了，不办了"): only an explicit giving-up stops the form.
  Anything else NLU called a cancel ("先说电梯吧", "no wait, it's Tuesday") is heard as the answer
  to the question asked; talk about the talk alone ("不是这个意思", "算了，先说另一件事") gets the
  same question once more, once. A bare "算了" / "不用了" at an optional question (contact, callback
  time, what to change) is a no to that question, not to the ticket.
* `action_form_aside` (greet, thanks, chitchat in the form): a real pleasantry gets its short reply
  and the question again; an answer NLU mistook for one ("Chaoyang district, Jianguo Road 88") is
  taken as the answer.
* `action_cancel_request` (a cancel outside the form): after a ticket was filed, the truth: the ticket
  stays filed; the wish is noted on it for staff, and "转人工" is how to withdraw it now.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import FORM_NAME, clear_form_events, gateway_decision, latest_intent, person_text, ticket_store
from actions.ticket_form import NOT_GIVEN, ValidateTicketForm, now_utc
from bot.triage.vocabulary import Route

if TYPE_CHECKING:
    from bot.tickets.repository import TicketStore

logger = logging.getLogger(__name__)

OPTIONAL_QUESTIONS = (
    "sensitive_consent",
    "person_age",
    "contact_consent",
    "contact_value",
    "callback_time",
    "ticket_edit",
)
"""Questions a bare "算了" / "不用了" answers with a no (the person keeps the ticket)."""
SOFT_NO: dict[str, dict[str, Any]] = {
    "sensitive_consent": {"sensitive_consent": False},  # "算了" to recording it: nothing is filed
    "person_age": {"person_age": "未说明"},
    "contact_consent": {"contact_consent": False},
    "contact_value": {"contact_value": None, "contact_consent": False},
    "callback_time": {"callback_time": "未说明"},
    "ticket_edit": {"ticket_edit": None, "ticket_editing": False},
}
GOODBYE_AT: dict[str, dict[str, Any]] = {
    "contact_consent": SOFT_NO["contact_consent"],
    "contact_value": SOFT_NO["contact_value"],
    "callback_time": SOFT_NO["callback_time"],
    "ticket_confirmed": {"ticket_confirmed": True},
}
"""A goodbye at the last steps of a report ("多謝晒，拜拜" at the contact question or the summary):
the person said what happened and leaves content. No contact, the summary as shown: the report is
filed, not thrown away (a cancel's own words still cancel)."""
REASKED = "ticket_reasked"
"""Slot: the question already asked once more after a redirect ("不是这个意思"): not a third time."""
RECENT_TICKET = timedelta(hours=24)
"""A cancel this soon after the conversation's ticket was filed is about that ticket."""


async def hear_as_answer(
    validator: ValidateTicketForm,
    text: str,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
) -> list[EventType]:
    """The message is the answer to the form's current question: validate it as the form would, then
    let the form carry on (FollowupAction last: the form must not validate these slots again)."""
    from bot.intake.cancel import is_redirect_only

    slot = tracker.get_slot("requested_slot")
    events: list[EventType] = []
    if slot and text:
        if slot != "ticket_confirmed" and is_redirect_only(text):
            if tracker.get_slot(REASKED) != slot:
                dispatcher.utter_message(response="utter_form_go_on")
                return [SlotSet(REASKED, slot), FollowupAction(FORM_NAME)]
            result: dict[str, Any] = {slot: NOT_GIVEN[slot]} if slot in NOT_GIVEN else {}
        else:
            result = await _validate(validator, slot, text, dispatcher, tracker, domain)
        events = [SlotSet(name, value) for name, value in result.items()]
    if tracker.get_slot(REASKED) is not None:
        events.append(SlotSet(REASKED, None))
    return [*events, FollowupAction(FORM_NAME)]


async def _validate(
    validator: ValidateTicketForm,
    slot: str,
    text: str,
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: dict[str, Any],
) -> dict[str, Any]:
    method = getattr(validator, f"validate_{slot}", None)
    if method is None:
        return {slot: text}
    result = method(text, dispatcher, tracker, domain)
    if inspect.isawaitable(result):
        result = await result
    return dict(result or {})


class ActionCancelTicketForm(Action):
    """ "取消" / "算了，不办了" in the form: stop politely, nothing is submitted. What NLU only took for
    a cancel is heard as an answer (see the module docstring)."""

    def __init__(self, store: TicketStore | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._clock = clock or now_utc

    def name(self) -> str:
        return "action_cancel_ticket_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        from bot.intake.cancel import cancel_kind, looks_like_answer

        text = person_text(tracker).strip()
        slot = tracker.get_slot("requested_slot")
        if text:  # a button's "/cancel" has no words: it is a cancel
            if latest_intent(tracker) == "goodbye":
                keep = looks_like_answer(slot, text)
                if not keep and slot in GOODBYE_AT and cancel_kind(text) is None:
                    done = [SlotSet(k, v) for k, v in GOODBYE_AT[slot].items()]
                    return [ActiveLoop(FORM_NAME), *done, FollowupAction(FORM_NAME)]
            else:
                kind = cancel_kind(text)
                if kind == "soft" and slot in SOFT_NO:
                    no = [SlotSet(k, v) for k, v in SOFT_NO[slot].items()]
                    return [ActiveLoop(FORM_NAME), *no, FollowupAction(FORM_NAME)]
                keep = kind is None
            if keep and tracker.active_loop_name == FORM_NAME:
                # Rasa wants this action to set the loop in every rule: it keeps the form on
                validator = ValidateTicketForm(store=self._store, clock=self._clock)
                return [ActiveLoop(FORM_NAME), *await hear_as_answer(validator, text, dispatcher, tracker, domain)]
        dispatcher.utter_message(response="utter_ticket_cancelled")
        return [ActiveLoop(None), *clear_form_events(tracker), SlotSet("route", None)]


class ActionFormAside(Action):
    """A greeting, thanks or small talk in the middle of the form: a short reply and the question
    again, unless it carries the answer NLU did not see ("Chaoyang district, Jianguo Road 88")."""

    def __init__(self, store: TicketStore | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._clock = clock or now_utc

    def name(self) -> str:
        return "action_form_aside"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        from bot.intake.cancel import is_question, looks_like_answer

        text = person_text(tracker).strip()
        slot = tracker.get_slot("requested_slot")
        at_summary = slot == "ticket_confirmed" and is_question(text)
        if tracker.active_loop_name == FORM_NAME and (at_summary or looks_like_answer(slot, text)):
            validator = ValidateTicketForm(store=self._store, clock=self._clock)
            return await hear_as_answer(validator, text, dispatcher, tracker, domain)
        decision = gateway_decision(tracker)
        if (
            is_question(text)
            and decision is not None
            and decision.route in (Route.FAQ, Route.REFER)
            and decision.reply
            and tracker.get_slot(REASKED) != slot
        ):  # "你们晚上有人吗" read as small talk: the engine's answer, then the same question once more
            dispatcher.utter_message(text=decision.reply)
            dispatcher.utter_message(response="utter_form_continue")
            return [SlotSet(REASKED, slot)] if slot else []
        dispatcher.utter_message(
            response="utter_chitchat" if latest_intent(tracker) == "chitchat" else "utter_form_continue"
        )
        return []


class ActionCancelRequest(Action):
    """A cancel outside the form. Right after a ticket was filed it cannot be undone by a word: say
    so, with its number; note the wish on the ticket for staff; "转人工" is the way to withdraw it."""

    def __init__(self, store: TicketStore | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._clock = clock or now_utc

    def name(self) -> str:
        return "action_cancel_request"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        number = tracker.get_slot("last_ticket")
        if number:
            try:
                noted = await self._note_on_ticket(str(number), tracker)
            except Exception:
                logger.exception("could not look up the ticket a cancel may be about")
                noted = None
            if noted is not None:
                response = "utter_cancel_after_ticket_noted" if noted else "utter_cancel_after_ticket"
                dispatcher.utter_message(response=response, ticket_no=str(number))
                return []
        dispatcher.utter_message(response="utter_cancelled")
        return []

    async def _note_on_ticket(self, number: str, tracker: Tracker) -> bool | None:
        """None: no open ticket of this conversation filed recently. Else whether the wish to
        withdraw it is now on the ticket (a person's message staff see in its transcript)."""
        from bot.tickets.rules import OPEN_STATUSES

        store = await ticket_store(self._store)
        ticket = await asyncio.to_thread(store.get_by_number, number, tracker.sender_id)
        if ticket is None or ticket.status not in OPEN_STATUSES:
            return None
        created = (
            ticket.created_at if ticket.created_at.tzinfo else ticket.created_at.replace(tzinfo=self._clock().tzinfo)
        )
        if self._clock() - created > RECENT_TICKET:
            return None
        words = person_text(tracker).strip() or "（取消）"
        try:
            await asyncio.to_thread(store.add_message, ticket.id, "person", f"群众表示想撤销本工单：{words}")
        except Exception:
            logger.exception("could not note the wish to withdraw on ticket %s", number)
            return False
        return True


__all__ = ["ActionCancelRequest", "ActionCancelTicketForm", "ActionFormAside", "hear_as_answer"]
