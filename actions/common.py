"""What several actions need: the desk of a conversation, the user's texts, the triage engine."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from rasa_sdk import Tracker

from bot.desks import shipped_desks

if TYPE_CHECKING:
    from bot.tickets.repository import TicketStore
    from bot.triage.decision import Decision

logger = logging.getLogger(__name__)

DEFAULT_DESK = "12345"
"""The desk of a conversation whose sender id names none (the government hotline)."""

EMERGENCY_CHANNEL_NAMES: dict[str, str] = {
    "110": "公安报警",
    "119": "消防救援",
    "120": "医疗急救",
    "122": "交通事故报警",
}
EMERGENCY_CHANNEL_NAMES_EN: dict[str, str] = {
    "110": "police",
    "119": "fire and rescue",
    "120": "ambulance",
    "122": "traffic police",
}


def configured_desks() -> tuple[str, ...]:
    """The desks this deployment serves (FRONTDOOR_DESKS), or the shipped ones."""
    try:
        from bot.settings import get_settings  # light: reads the environment only

        desks = tuple(d.strip() for d in get_settings().desks if d.strip())
        return desks or shipped_desks()
    except Exception:  # settings must never stop a conversation
        logger.exception("Could not read the configured desks; using the shipped ones")
        return shipped_desks()


def desk_from_sender(sender_id: str | None) -> str:
    """The desk named by a sender id like "12355:telegram:42", else the default desk."""
    prefix = (sender_id or "").split(":", 1)[0]
    return prefix if prefix in configured_desks() else DEFAULT_DESK


def desk_of(tracker: Tracker) -> str:
    """The conversation's desk: the `desk` slot, else the sender id prefix."""
    desk = tracker.get_slot("desk")
    if isinstance(desk, str) and desk in configured_desks():
        return desk
    return desk_from_sender(tracker.sender_id)


def is_payload(text: str | None) -> bool:
    """True for button payloads such as "/describe_problem" (an intent, not words the user typed)."""
    return bool(text and text.lstrip().startswith("/"))


def latest_text(tracker: Tracker) -> str:
    """The text of the latest user message ("" when there is none)."""
    return (tracker.latest_message or {}).get("text") or ""


def person_text(tracker: Tracker) -> str:
    """What the person actually wrote: the gateway turns a crisis into "/crisis" for Rasa and keeps
    the original words in the message metadata {"text": ...}; button payloads give ""."""
    text = latest_text(tracker)
    if not is_payload(text):
        return text
    metadata = (tracker.latest_message or {}).get("metadata") or {}
    original = metadata.get("text") if isinstance(metadata, dict) else None
    return original if isinstance(original, str) and not is_payload(original) else ""


def latest_intent(tracker: Tracker) -> str | None:
    """The intent name of the latest user message."""
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def previous_user_texts(tracker: Tracker, limit: int = 5) -> list[str]:
    """What the user typed earlier in this session (oldest first), without the latest message.

    Button payloads are left out: they are not words of the user.
    """
    texts: list[str] = []
    for event in tracker.events:
        if event.get("event") == "session_started":
            texts = []
        elif event.get("event") == "user":
            texts.append(event.get("text") or "")
    earlier = texts[:-1] if texts else []
    return [t for t in earlier if t.strip() and not is_payload(t)][-limit:]


def gateway_decision(tracker: Tracker) -> Decision | None:
    """The gateway's triage decision for the latest message (its metadata), or None.

    The gateway decides once per message, from its own full record of the conversation; the actions
    only act on that decision. None when the message did not come through the gateway (or the
    gateway's triage failed): the caller then apologises instead of guessing.
    """
    from bot.triage.decision import METADATA_KEY, Decision

    metadata = (tracker.latest_message or {}).get("metadata") or {}
    raw = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    if raw is None:
        return None
    try:
        return Decision.from_dict(raw)
    except (TypeError, ValueError) as exc:
        logger.error("the gateway's decision in the message metadata is unreadable: %s", exc)
        return None


def metadata_language(tracker: Tracker) -> str | None:
    """The conversation's language the gateway sent with the latest message (bot/language.py), or None."""
    from bot.language import LANGUAGES, METADATA_KEY

    metadata = (tracker.latest_message or {}).get("metadata") or {}
    value = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    return value if isinstance(value, str) and value in LANGUAGES else None


def language_of(tracker: Tracker) -> str:
    """The conversation's language for texts the actions write: the gateway's metadata, else the
    `language` slot ("en" -> English), else Simplified Chinese (the gateway converts it for a
    Traditional reader on the way out)."""
    from bot.language import DEFAULT, ENGLISH

    language = metadata_language(tracker)
    if language is not None:
        return language
    return ENGLISH if tracker.get_slot("language") == "en" else DEFAULT


def response_variation(domain: dict[str, Any], name: str, slots: dict[str, Any]) -> dict[str, Any] | None:
    """The variation of response `name` Rasa would choose for these slot values (the first of the
    matching ones: Rasa picks at random among them, and the domain keeps that to one but for
    deliberate alternatives). Rasa 3.6's rule: conditional variations whose every condition matches,
    else the ones without a condition."""
    variations = (domain.get("responses") or {}).get(name) or []

    def matches(variation: dict[str, Any]) -> bool:
        for condition in variation.get("condition") or []:
            have, want = slots.get(condition.get("name")), condition.get("value")
            if isinstance(have, str) and isinstance(want, str):
                if have.casefold() != want.casefold():
                    return False
            elif have != want:
                return False
        return True

    conditional = [v for v in variations if v.get("condition") and matches(v)]
    chosen = conditional or [v for v in variations if not v.get("condition")]
    return chosen[0] if chosen else None


def route_name(value: Any) -> str | None:
    """The contract word of a route (the engine may hand over a `Route` enum or a plain string)."""
    if value is None:
        return None
    return str(getattr(value, "value", value))


# -- the ticket store ---------------------------------------------------------------------------

FORM_NAME = "ticket_form"
FORM_SLOTS: tuple[str, ...] = (
    "problem_what",
    "problem_where",
    "problem_since",
    "problem_who",
    "sensitive_consent",
    "person_age",
    "contact_consent",
    "contact_value",
    "callback_time",
    "ticket_edit",
    "ticket_confirmed",
    "ticket_editing",
    "ticket_abort",
    "ticket_reasked",
    "ticket_origin",
    "ticket_concern",
)
"""Slots of one pass through the ticket form: cleared when it ends, so the next one starts empty."""


def load_ticket_store() -> TicketStore:
    """The ticket store on FRONTDOOR_DATABASE_URL, opened on first use (never at import time)."""
    from bot.intake.records import get_store

    return get_store()


async def ticket_store(given: TicketStore | None = None) -> TicketStore:
    """`given` (tests pass their own), else the process's store, opened in a thread on first use."""
    if given is not None:
        return given
    return await asyncio.to_thread(load_ticket_store)


def message_origin(tracker: Tracker) -> str:
    """Id of the person's latest message: with the conversation id, the idempotency key of a record."""
    from bot.intake.records import message_origin as origin

    return origin(tracker.events)


def concern_signal(decision: Decision) -> str | None:
    """The decision's check-in signal ("check-in:0.32"): close to the crisis bar, not over it."""
    return decision.check_in_signal


def concern_signals(tracker: Tracker) -> dict[str, Any]:
    """Intake signals from the form's `ticket_concern` slot (empty when the request was not close)."""
    from bot.intake.records import CONCERN

    concern = tracker.get_slot("ticket_concern")
    return {CONCERN: str(concern)} if concern else {}


def record_decision(store: TicketStore, tracker: Tracker, decision: Decision, text: str, route: str) -> None:
    """The closed record of an answer given at the first gate from a triage decision (faq, refer,
    decline...), idempotent per message. Blocking: call it in a thread."""
    from bot.intake.records import record_answer

    record_answer(
        store,
        route=route,
        desk=desk_of(tracker),
        conversation_id=tracker.sender_id,
        origin=message_origin(tracker),
        text=text,
        entry_id=decision.entry_id or decision.faq_id,
        channel=decision.channel,
        confidence=decision.confidence,
        signals=decision.signals,
        reply=decision.reply,
    )


def transcript(store: TicketStore, tracker: Tracker) -> list[tuple[str, str]]:
    """The conversation so far for a ticket: the gateway's full record of it (Rasa's events only
    for a conversation that did not come through the gateway). Blocking: call it in a thread."""
    from bot.intake.transcripts import transcript_for

    return transcript_for(store, tracker.sender_id, tracker.events)


def clear_form_events(tracker: Tracker, *, keep: tuple[str, ...] = ()) -> list[Any]:
    """SlotSet events that empty the ticket form (only slots that hold something)."""
    from rasa_sdk.events import SlotSet

    defaults = {"ticket_editing": False}
    events: list[Any] = []
    for name in FORM_SLOTS:
        if name in keep:
            continue
        value = defaults.get(name)
        if tracker.get_slot(name) != value:
            events.append(SlotSet(name, value))
    if tracker.get_slot("requested_slot") is not None:
        events.append(SlotSet("requested_slot", None))
    return events
