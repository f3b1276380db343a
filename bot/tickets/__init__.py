"""Ticket store of Front Door: tickets, transcripts, audit events, follow-ups, ratings and contacts.

Use `TicketStore.from_url(get_settings().database_url)`; the schema comes from the Alembic migrations
in `bot/db/migrations/` (`python -m bot.tickets migrate`).
"""

from bot.db.engine import make_engine, session_factory
from bot.db.migrate import migrate
from bot.tickets.errors import (
    ConsentRequired,
    FollowUpError,
    IdempotencyConflict,
    InvalidTransition,
    RatingError,
    TicketError,
    TicketNotFound,
)
from bot.tickets.models import (
    Channel,
    ContactKind,
    EventKind,
    FollowUpOutcome,
    FollowUpStatus,
    Priority,
    Route,
    Sender,
    Status,
)
from bot.tickets.repository import TicketStore
from bot.tickets.views import ContactView, Overdue, TranscriptLine

__all__ = [
    "Channel",
    "ConsentRequired",
    "ContactKind",
    "ContactView",
    "EventKind",
    "FollowUpError",
    "FollowUpOutcome",
    "FollowUpStatus",
    "IdempotencyConflict",
    "InvalidTransition",
    "Overdue",
    "Priority",
    "RatingError",
    "Route",
    "Sender",
    "Status",
    "TicketError",
    "TicketNotFound",
    "TicketStore",
    "TranscriptLine",
    "make_engine",
    "migrate",
    "session_factory",
]
