"""Initial ticket store: tickets, transcript, append-only events, follow-ups, ratings, contacts, audit.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-23

The vocabulary in the CHECK constraints is copied here on purpose (a migration is a snapshot; later
changes to the enums in models.py need a new migration).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("ticket_events", "staff_audit_log")


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _json(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False)


def _one_of(column: str, *values: str) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("desk", sa.String(16), nullable=False),
        sa.Column("route", sa.String(16), nullable=False),
        sa.Column("category", sa.String(80), nullable=True),
        sa.Column("category_l1", sa.String(80), nullable=True),
        sa.Column("priority", sa.String(8), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("summary_redacted", sa.Text(), nullable=False),
        _json("triage_signals"),
        _ts("sla_first_response_due", nullable=True),
        _ts("sla_resolution_due", nullable=True),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("first_response_at", nullable=True),
        _ts("resolved_at", nullable=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("conversation_id", sa.String(200), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("assignee", sa.String(120), nullable=True),
        sa.Column("department", sa.String(120), nullable=True),
        sa.Column("first_handler", sa.String(120), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_tickets"),
        sa.UniqueConstraint("number", name="uq_tickets_number"),
        sa.UniqueConstraint("idempotency_key", name="uq_tickets_idempotency_key"),
        sa.CheckConstraint(
            _one_of("route", "ticket", "crisis", "refer", "decline", "emergency", "faq"), name="ck_tickets_route"
        ),
        sa.CheckConstraint(
            _one_of("status", "new", "in_progress", "waiting_for_person", "resolved", "closed", "declined", "referred"),
            name="ck_tickets_status",
        ),
        sa.CheckConstraint(_one_of("priority", "urgent", "high", "normal"), name="ck_tickets_priority"),
        sa.CheckConstraint(_one_of("channel", "telegram", "web", "rest", "terminal"), name="ck_tickets_channel"),
    )
    op.create_index("ix_tickets_conversation_id", "tickets", ["conversation_id"])
    op.create_index("ix_tickets_status_priority", "tickets", ["status", "priority"])
    op.create_index("ix_tickets_desk_created_at", "tickets", ["desk", "created_at"])

    op.create_table(
        "ticket_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("sender", sa.String(8), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.Column("staff_user", sa.String(120), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_messages"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_ticket_messages_ticket_id_tickets"),
        sa.UniqueConstraint("ticket_id", "seq", name="uq_ticket_messages_ticket_id_seq"),
        sa.CheckConstraint(_one_of("sender", "person", "bot", "staff"), name="ck_ticket_messages_sender"),
    )

    op.create_table(
        "ticket_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        _ts("at"),
        _json("details"),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_events"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_ticket_events_ticket_id_tickets"),
    )
    op.create_index("ix_ticket_events_ticket_id", "ticket_events", ["ticket_id"])

    op.create_table(
        "ticket_follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        _ts("due_at"),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("last_attempt_at", nullable=True),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_follow_ups"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_ticket_follow_ups_ticket_id_tickets"),
        sa.CheckConstraint(_one_of("status", "pending", "done", "cancelled"), name="ck_ticket_follow_ups_status"),
        sa.CheckConstraint(
            f"outcome IS NULL OR {_one_of('outcome', 'solved', 'not_solved', 'no_answer')}",
            name="ck_ticket_follow_ups_outcome",
        ),
        sa.CheckConstraint("attempts >= 0", name="ck_ticket_follow_ups_attempts"),
    )
    op.create_index("ix_ticket_follow_ups_ticket_id", "ticket_follow_ups", ["ticket_id"])
    op.create_index("ix_ticket_follow_ups_status_due_at", "ticket_follow_ups", ["status", "due_at"])

    op.create_table(
        "ticket_ratings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("solved", sa.Boolean(), nullable=False),
        sa.Column("service_score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_ratings"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_ticket_ratings_ticket_id_tickets"),
        sa.UniqueConstraint("ticket_id", name="uq_ticket_ratings_ticket_id"),
        sa.CheckConstraint("service_score BETWEEN 1 AND 5", name="ck_ticket_ratings_service_score"),
    )

    op.create_table(
        "ticket_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value", sa.String(200), nullable=False),
        _ts("consent_at"),
        sa.Column("consent_text", sa.Text(), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name="pk_ticket_contacts"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_ticket_contacts_ticket_id_tickets"),
        sa.CheckConstraint(_one_of("kind", "phone", "wechat", "email"), name="ck_ticket_contacts_kind"),
    )
    op.create_index("ix_ticket_contacts_ticket_id", "ticket_contacts", ["ticket_id"])

    op.create_table(
        "staff_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user", sa.String(120), nullable=False),
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        _ts("at"),
        _json("details"),
        sa.PrimaryKeyConstraint("id", name="pk_staff_audit_log"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_staff_audit_log_ticket_id_tickets"),
    )
    op.create_index("ix_staff_audit_log_staff_user", "staff_audit_log", ["staff_user"])
    op.create_index("ix_staff_audit_log_ticket_id", "staff_audit_log", ["ticket_id"])

    op.create_table(
        "ticket_number_counters",
        sa.Column("desk", sa.String(16), nullable=False),
        sa.Column("day", sa.String(8), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("desk", "day", name="pk_ticket_number_counters"),
    )

    _create_append_only_triggers()


def _create_append_only_triggers() -> None:
    """Reject UPDATE and DELETE on the audit tables in the database itself, not only in the code."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            """
            CREATE FUNCTION frontdoor_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION '% is append-only: % rejected', TG_TABLE_NAME, TG_OP
                    USING ERRCODE = 'restrict_violation';
            END;
            $$
            """
        )
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION frontdoor_reject_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION frontdoor_reject_change()"
            )
    elif dialect == "sqlite":
        for table in APPEND_ONLY:
            for operation in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} rejected'); END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in APPEND_ONLY:
        if dialect == "postgresql":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
        elif dialect == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS frontdoor_reject_change()")
    for table in (
        "ticket_number_counters",
        "staff_audit_log",
        "ticket_contacts",
        "ticket_ratings",
        "ticket_follow_ups",
        "ticket_events",
        "ticket_messages",
        "tickets",
    ):
        op.drop_table(table)
