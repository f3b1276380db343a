"""Imported history as a versioned catalogue file: `catalogue_versions.kind` also allows `history`.

Revision ID: 0014_history_kind
Revises: 0013_handoff_watch
Create Date: 2026-12-08

Model: bot/console/models.py `CatalogueVersion.kind` (`CatalogueKind.HISTORY`: a desk's imported past
tickets, `history/<desk>.yml`, written by `python -m bot.triage.history`). The vocabulary in the CHECK
constraint and 0004's helpers are copied on purpose (a migration is a snapshot): the table is rebuilt
on SQLite (rows copied as they are) and the constraint replaced on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0014_history_kind"
down_revision: str | None = "0013_handoff_watch"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS_BEFORE = "kind IN ('desk', 'faq', 'lessons', 'safety')"
KINDS_AFTER = "kind IN ('desk', 'faq', 'lessons', 'safety', 'history')"
CHECK_NAME = "ck_catalogue_versions_ck_catalogue_versions_kind"
"""The name 0002 gave the CHECK in the database (the naming convention prefixed the name it was given)."""
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
    _set_catalogue_kinds(KINDS_AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM catalogue_versions WHERE kind = 'history'")  # the old CHECK refuses them
    _set_catalogue_kinds(KINDS_BEFORE)
