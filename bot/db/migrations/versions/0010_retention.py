"""Retention and erasure: personal text out of the append-only events; anonymised tickets; a purge lease.

Revision ID: 0010_retention
Revises: 0009_console_security
Create Date: 2026-12-07

Models: bot/tickets/models.py `EventText`, `Ticket.anonymised_at`, `RetentionLease`.

* `ticket_event_texts`: the free text of an event (a staff note's text, a reason typed by staff)
  lives here, one row per (event, field), deletable; the event row keeps only structure (kind,
  actor, time, ids), so `ticket_events` stays append-only and its chain intact when a person's
  data is erased. Existing events have their `text` / `reason` moved here: on SQLite and
  PostgreSQL the append-only trigger on `ticket_events` is dropped for the move and put back.
* `tickets.anonymised_at`: when retention or an erasure request emptied the ticket's personal
  fields; the row itself stays (events, ratings and the staff audit log refer to it).
* `retention_leases`: one row per job name; whoever holds an unexpired lease runs the purge, so a
  cluster of app processes purges once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0010_retention"
down_revision: str | None = "0009_console_security"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PERSONAL_KEYS = ("text", "reason")
"""Keys of an event's details that hold free text (copied from bot/tickets/base.py: a migration is a snapshot)."""

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_events = sa.table(
    "ticket_events", sa.column("id", sa.Integer()), sa.column("ticket_id", sa.Integer()), sa.column("details", _JSON)
)
_texts = sa.table(
    "ticket_event_texts",
    sa.column("event_id", sa.Integer()),
    sa.column("ticket_id", sa.Integer()),
    sa.column("field", sa.String()),
    sa.column("text", sa.Text()),
)


def upgrade() -> None:
    op.create_table(
        "ticket_event_texts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_event_texts"),
        sa.ForeignKeyConstraint(
            ["event_id"], ["ticket_events.id"], name="fk_ticket_event_texts_event_id_ticket_events"
        ),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_ticket_event_texts_ticket_id_tickets"),
        sa.UniqueConstraint("event_id", "field", name="uq_ticket_event_texts_event_id_field"),
    )
    op.create_index("ix_ticket_event_texts_ticket_id", "ticket_event_texts", ["ticket_id"])
    op.add_column("tickets", sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "retention_leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("holder", sa.String(120), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_retention_leases"),
    )
    with _events_writable():
        _move_texts_out()


def downgrade() -> None:
    with _events_writable():
        _move_texts_back()
    op.drop_table("retention_leases")
    op.drop_column("tickets", "anonymised_at")  # native on SQLite >= 3.35: no table rebuild under the events' FKs
    op.drop_index("ix_ticket_event_texts_ticket_id", table_name="ticket_event_texts")
    op.drop_table("ticket_event_texts")


def _move_texts_out() -> None:
    bind = op.get_bind()
    for event_id, ticket_id, details in bind.execute(sa.select(_events.c.id, _events.c.ticket_id, _events.c.details)):
        details = dict(details or {})
        moved = {k: details.pop(k) for k in PERSONAL_KEYS if isinstance(details.get(k), str)}
        if not moved:
            continue
        for field, text in moved.items():
            bind.execute(sa.insert(_texts).values(event_id=event_id, ticket_id=ticket_id, field=field, text=text))
        bind.execute(sa.update(_events).where(_events.c.id == event_id).values(details=details))


def _move_texts_back() -> None:
    bind = op.get_bind()
    moved: dict[int, dict[str, Any]] = {}
    for event_id, field, text in bind.execute(sa.select(_texts.c.event_id, _texts.c.field, _texts.c.text)):
        moved.setdefault(event_id, {})[field] = text
    for event_id, texts in moved.items():
        details = bind.execute(sa.select(_events.c.details).where(_events.c.id == event_id)).scalar_one()
        bind.execute(sa.update(_events).where(_events.c.id == event_id).values(details={**(details or {}), **texts}))


class _events_writable:
    """Lift the append-only trigger on ticket_events for the duration of the block, then restore it."""

    def __enter__(self) -> None:
        dialect = op.get_bind().dialect.name
        if dialect == "sqlite":
            op.execute("DROP TRIGGER IF EXISTS ticket_events_no_update")
        elif dialect == "postgresql":
            op.execute("DROP TRIGGER IF EXISTS ticket_events_append_only ON ticket_events")

    def __exit__(self, *_: object) -> None:
        dialect = op.get_bind().dialect.name
        if dialect == "sqlite":
            op.execute(
                "CREATE TRIGGER ticket_events_no_update BEFORE UPDATE ON ticket_events "
                "BEGIN SELECT RAISE(ABORT, 'ticket_events is append-only: UPDATE rejected'); END"
            )
        elif dialect == "postgresql":
            op.execute(
                "CREATE TRIGGER ticket_events_append_only BEFORE UPDATE OR DELETE ON ticket_events "
                "FOR EACH ROW EXECUTE FUNCTION frontdoor_reject_change()"
            )
