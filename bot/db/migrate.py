"""Migrations of Front Door's database: the Alembic chain in `migrations/` and how to run it.

The schema is only ever created by Alembic (`migrate`), never by `create_all`, so that a test
database and a production one are built the same way. One history covers every table (ticket store,
staff console, gateway); its version table keeps the name it had when the history belonged to the
ticket store, so existing databases go on migrating from where they are.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text
from sqlalchemy.engine import URL

from bot.db.engine import make_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Own version table: another application's Alembic history may share the database.
VERSION_TABLE = "tickets_alembic_version"
# Arbitrary constant key of the PostgreSQL advisory lock that serialises concurrent `migrate` calls.
_MIGRATE_LOCK_KEY = 0x12345_12355


def alembic_config() -> Config:
    """Alembic configuration without an .ini file: the scripts ship inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("version_table", VERSION_TABLE)
    return config


def migrate(url: str | URL | Engine, revision: str = "head") -> None:
    """Upgrade the schema of every table (tickets, console, gateway) to `revision` (default: the newest).

    Safe to call from several processes at start-up: PostgreSQL serialises them with an advisory lock,
    SQLite with BEGIN IMMEDIATE; the second caller then finds nothing left to do.
    """
    engine = url if isinstance(url, Engine) else make_engine(url)
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATE_LOCK_KEY})
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        if engine is not url:
            engine.dispose()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None before the first migration)."""
    from alembic.migration import MigrationContext

    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()
