"""A ticket's transcript, read from the gateway's record of the conversation.

The gateway keeps every message in and out (`gw_inbound`, `gw_outbound`): its own answers, the
check-in question and a no to it, staff replies and return visits included, and the person's own
words where Rasa only saw "/crisis". That full record, not Rasa's tracker, is what staff read on a
ticket. Rasa's events remain the fallback for a conversation that never went through the gateway.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from bot.gateway.models import ALERT_SOURCES, InboundMessage, OutboundMessage, as_utc

if TYPE_CHECKING:
    from bot.tickets.repository import TicketStore

MAX_TRANSCRIPT_LINES = 200
MAX_LINE_CHARS = 2000
NOT_FOR_THE_PERSON = ALERT_SOURCES
"""Outbound sources that are not part of the conversation (staff alerts go to the staff chat)."""


def gateway_transcript(
    store: TicketStore, conversation_id: str, limit: int = MAX_TRANSCRIPT_LINES
) -> list[tuple[str, str]]:
    """The last `limit` lines of the conversation as (person | bot | staff, text), oldest first."""
    with store.reading() as session:
        inbound = session.execute(
            select(InboundMessage.id, InboundMessage.received_at, InboundMessage.text)
            .where(InboundMessage.conversation_id == conversation_id)
            .order_by(InboundMessage.id.desc())
            .limit(limit)
        ).all()
        outbound = session.execute(
            select(OutboundMessage.id, OutboundMessage.created_at, OutboundMessage.text, OutboundMessage.source)
            .where(
                OutboundMessage.conversation_id == conversation_id,
                OutboundMessage.source.not_in(NOT_FOR_THE_PERSON),
            )
            .order_by(OutboundMessage.id.desc())
            .limit(limit)
        ).all()
    lines: list[tuple[datetime, int, int, str, str]] = [
        (as_utc(at), 0, row_id, "person", text) for row_id, at, text in inbound if not _payload(text)
    ]
    lines += [
        (as_utc(at), 1, row_id, "staff" if source == "staff" else "bot", text) for row_id, at, text, source in outbound
    ]
    lines.sort()
    return [(sender, text[:MAX_LINE_CHARS]) for *_, sender, text in lines if text.strip()][-limit:]


def events_transcript(events: Iterable[Mapping[str, Any]]) -> list[tuple[str, str]]:
    """The conversation as Rasa saw it (person and bot lines); button payloads ("/affirm") are left
    out, and a "/crisis" the gateway sent stands for the words it kept in the metadata."""
    lines: list[tuple[str, str]] = []
    for event in events:
        kind = event.get("event")
        text = str(event.get("text") or "").strip()
        if kind == "user" and _payload(text):
            metadata = event.get("metadata") or {}
            original = metadata.get("text") if isinstance(metadata, Mapping) else None
            text = original.strip() if isinstance(original, str) and not _payload(original) else ""
        if text and kind in ("user", "bot"):
            lines.append(("person" if kind == "user" else "bot", text[:MAX_LINE_CHARS]))
    return lines[-MAX_TRANSCRIPT_LINES:]


def transcript_for(
    store: TicketStore, conversation_id: str, events: Iterable[Mapping[str, Any]]
) -> list[tuple[str, str]]:
    """The gateway's record of the conversation, or Rasa's events when the gateway has none."""
    return gateway_transcript(store, conversation_id) or events_transcript(events)


def _payload(text: str) -> bool:
    return text.lstrip().startswith("/")
