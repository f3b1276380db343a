"""Read-only views the ticket store hands out instead of rows.

A transcript line, a contact without its value, a missed deadline: shapes that are not tables, shown
to staff or listed by the on-duty alert. They are frozen dataclasses so that nobody mistakes them for
something that writes back to the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.tickets.models import Ticket


@dataclass(frozen=True)
class TranscriptLine:
    """A message as shown to staff or exported: masked unless asked otherwise."""

    seq: int
    sender: str
    text: str
    created_at: datetime
    staff_user: str | None


@dataclass(frozen=True)
class ContactView:
    """A contact as listed without revealing it (listing needs no audit)."""

    id: int
    ticket_id: int
    kind: str
    masked_value: str
    consent_at: datetime


@dataclass(frozen=True)
class Overdue:
    """One missed SLA deadline of an open ticket."""

    ticket: Ticket
    deadline: Literal["first_response", "resolution"]
    due_at: datetime
    overdue_by: timedelta
