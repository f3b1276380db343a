"""The end of the ticket form: open the ticket (with what the person agreed to). Cancelling it is
`action_cancel_ticket_form` (actions/form_turns.py, imported here for the callers that know it here)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    clear_form_events,
    concern_signals,
    desk_of,
    language_of,
    message_origin,
    response_variation,
    ticket_store,
    transcript,
)
from actions.form_turns import ActionCancelTicketForm
from actions.ticket_form import now_utc
from bot.language import DEFAULT, is_english, slot_value

if TYPE_CHECKING:
    from bot.tickets.repository import TicketStore

logger = logging.getLogger(__name__)


def consent_text(domain: dict[str, Any], desk: str, language: str = DEFAULT) -> str:
    """What the person agreed to, verbatim: the desk's contact question with its privacy note, in the
    language it was asked in (the Chinese one for a Traditional reader: that is what Rasa chose)."""
    chosen = response_variation(domain, "utter_ask_contact_consent", {"desk": desk, "language": slot_value(language)})
    if is_english(language):
        text = str((chosen or {}).get("text") or "I agree to leave my contact details, used only for this matter.")
        return f"{text} (Answer: yes)"
    text = str((chosen or {}).get("text") or "同意留下联系方式，仅用于办理本事项。")
    return f"{text}（回答：同意）"


def sensitive_consent_text(domain: dict[str, Any], desk: str, language: str = DEFAULT) -> str:
    """The separate consent to record a sensitive matter, verbatim as it was asked, with the answer."""
    chosen = response_variation(domain, "utter_ask_sensitive_consent", {"desk": desk, "language": slot_value(language)})
    text = str((chosen or {}).get("text") or "同意记录本事项中的敏感个人信息。")
    return f"{text} (Answer: yes)" if is_english(language) else f"{text}（回答：同意）"


class ActionSubmitTicket(Action):
    """The form is complete and confirmed: open the ticket, tell its number and when staff answer."""

    def __init__(self, store: TicketStore | None = None, clock: Callable[[], datetime] | None = None) -> None:
        self._store = store
        self._clock = clock or now_utc

    def name(self) -> str:
        return "action_submit_ticket"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list[EventType]:
        if tracker.get_slot("sensitive_consent") is False and not tracker.get_slot("ticket_abort"):
            # the person said no to recording a sensitive matter: nothing is filed; what they can do instead
            dispatcher.utter_message(response="utter_sensitive_not_recorded")
            return [*clear_form_events(tracker), SlotSet("route", None)]
        if tracker.get_slot("ticket_abort") or tracker.get_slot("ticket_confirmed") is not True:
            return [*clear_form_events(tracker), SlotSet("route", None)]
        from bot.intake.age import under_guardian_age
        from bot.intake.fields import format_duration, parse_contact
        from bot.intake.records import Intake, open_ticket

        desk = desk_of(tracker)
        age = tracker.get_slot("person_age")
        consented = tracker.get_slot("sensitive_consent") is True
        contact = None
        if tracker.get_slot("contact_consent") is True and tracker.get_slot("contact_value"):
            contact = parse_contact(str(tracker.get_slot("contact_value")))
        intake = Intake(
            desk=desk,
            conversation_id=tracker.sender_id,
            origin=str(tracker.get_slot("ticket_origin") or message_origin(tracker)),
            what=str(tracker.get_slot("problem_what") or "").strip() or "（未填写）",
            category=tracker.get_slot("category"),
            category_l1=tracker.get_slot("category_l1"),
            where=tracker.get_slot("problem_where"),
            since=tracker.get_slot("problem_since"),
            who=tracker.get_slot("problem_who"),
            contact=contact,
            consent_text=consent_text(domain, desk, language_of(tracker)) if contact else None,
            callback_time=tracker.get_slot("callback_time"),
            signals=concern_signals(tracker),
            age=str(age) if age else None,
            under_14=under_guardian_age(age),
            sensitive_consent_text=sensitive_consent_text(domain, desk, language_of(tracker)) if consented else None,
        )
        try:
            store = await ticket_store(self._store)
            now = self._clock()
            opened = await asyncio.to_thread(lambda: open_ticket(store, intake, transcript(store, tracker), now))
        except Exception:
            logger.exception("could not open the ticket")
            dispatcher.utter_message(response="utter_ticket_error")
            return [SlotSet("ticket_confirmed", None)]  # the details stay: 转人工 opens the ticket from them
        eta = format_duration(opened.sla_hours, language_of(tracker))
        if opened.staffed_now or opened.hours is None:
            dispatcher.utter_message(response="utter_ticket_created", ticket_no=opened.number, eta=eta)
        else:
            dispatcher.utter_message(
                response="utter_ticket_created_off_hours",
                ticket_no=opened.number,
                eta=eta,
                staff_hours=opened.hours.describe(),
            )
        if opened.priority == "urgent":
            dispatcher.utter_message(response="utter_ticket_urgent_note")
            dispatcher.utter_message(json_message={"urgent_ticket": opened.number})
        dispatcher.utter_message(json_message={"ticket_filed": opened.number})  # the gateway offers the next matter
        return [*clear_form_events(tracker), SlotSet("route", None), SlotSet("last_ticket", opened.number)]


__all__ = ["ActionCancelTicketForm", "ActionSubmitTicket", "consent_text", "sensitive_consent_text"]
