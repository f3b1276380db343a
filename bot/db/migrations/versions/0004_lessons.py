"""Lessons: decisions on staff corrections (teach the bot, or not); the safety screen as a versioned file.

Revision ID: 0004_lessons
Revises: 0003_gateway_tables
Create Date: 2026-12-06

Models: bot/console/models.py `Lesson`, and `CatalogueVersion.kind`, which now also allows
`lessons` (a desk's staff-taught category examples) and `safety` (the safety screen's). The vocabulary in the CHECK
constraints is copied on purpose (a migration is a snapshot).

SQLite cannot alter a CHECK constraint, so there `catalogue_versions` is rebuilt (rows copied
as they are); PostgreSQL drops and adds the constraint.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_lessons"
down_revision: str | None = "0003_gateway_tables"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHECK_NAME = "ck_catalogue_versions_ck_catalogue_versions_kind"
"""The name 0002 gave the CHECK in the database (the naming convention prefixed the name it was given)."""
KINDS_BEFORE = "kind IN ('desk', 'faq')"
KINDS_AFTER = "kind IN ('desk', 'faq', 'lessons', 'safety')"
COLUMNS = "id, desk, kind, version, content, sha256, author, comment, created_at, details"


def _catalogue_versions(name: str, kinds: str) -> None:
    """The table as 0002 made it, with `kinds` as its CHECK and the constraint names 0002's have in the database."""
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("desk", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("author", sa.String(120), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("details", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_versions")),
        sa.UniqueConstraint("desk", "kind", "version", name=op.f("uq_catalogue_versions_desk_kind_version")),
        sa.CheckConstraint(kinds, name=op.f(CHECK_NAME)),
    )


def _set_catalogue_kinds(kinds: str) -> None:
    if op.get_bind().dialect.name == "sqlite":
        _catalogue_versions("_catalogue_versions_new", kinds)
        op.execute(f"INSERT INTO _catalogue_versions_new ({COLUMNS}) SELECT {COLUMNS} FROM catalogue_versions")
        op.drop_table("catalogue_versions")
        op.rename_table("_catalogue_versions_new", "catalogue_versions")
    else:
        op.drop_constraint(op.f(CHECK_NAME), "catalogue_versions", type_="check")
        op.create_check_constraint(op.f(CHECK_NAME), "catalogue_versions", kinds)


def upgrade() -> None:
    op.create_table(
        "lessons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("desk", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("target", sa.String(80), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("catalogue_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_lessons"),
        sa.UniqueConstraint("event_id", name="uq_lessons_event_id"),
        sa.ForeignKeyConstraint(["event_id"], ["ticket_events.id"], name="fk_lessons_event_id_ticket_events"),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name="fk_lessons_ticket_id_tickets"),
        sa.CheckConstraint("decision IN ('taught', 'dismissed')", name="ck_lessons_decision"),
        sa.CheckConstraint("kind IN ('category', 'safety')", name="ck_lessons_kind"),
    )
    op.create_index("ix_lessons_ticket_id", "lessons", ["ticket_id"])
    _set_catalogue_kinds(KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM catalogue_versions WHERE kind IN ('lessons', 'safety')")  # the old CHECK refuses them
    _set_catalogue_kinds(KINDS_BEFORE)
    op.drop_index("ix_lessons_ticket_id", table_name="lessons")
    op.drop_table("lessons")
