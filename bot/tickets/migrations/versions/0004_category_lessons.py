"""Category lessons: a supervisor's decision on each category correction (teach the classifier, or not).

Revision ID: 0004_category_lessons
Revises: 0003_gateway_tables
Create Date: 2026-12-06

Model: bot/console/models.py `CategoryLesson`. The vocabulary in the CHECK constraint is copied on
purpose (a migration is a snapshot).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_category_lessons"
down_revision: str | None = "0003_gateway_tables"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "category_lessons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("desk", sa.String(16), nullable=False),
        sa.Column("category", sa.String(80), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("catalogue_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_category_lessons"),
        sa.UniqueConstraint("event_id", name="uq_category_lessons_event_id"),
        sa.ForeignKeyConstraint(["event_id"], ["ticket_events.id"], name="fk_category_lessons_event_id_ticket_events"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_category_lessons_ticket_id_tickets"),
        sa.CheckConstraint("decision IN ('taught', 'dismissed')", name="ck_category_lessons_decision"),
    )
    op.create_index("ix_category_lessons_ticket_id", "category_lessons", ["ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_category_lessons_ticket_id", table_name="category_lessons")
    op.drop_table("category_lessons")
