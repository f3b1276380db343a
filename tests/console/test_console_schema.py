"""The console's migration builds exactly its models, and can be undone."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect, text

from bot.console.models import CONSOLE_TABLES
from bot.db.engine import make_engine
from bot.db.migrate import alembic_config, migrate
from bot.tickets.models import Base


def test_the_migration_builds_the_console_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    migrate(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "compare_type": True,
                    "include_name": lambda name, kind, _: kind != "table" or name in CONSOLE_TABLES,
                    "include_object": lambda obj, name, kind, *_: kind != "table" or name in CONSOLE_TABLES,
                },
            )
            console_only = MetaData(naming_convention=Base.metadata.naming_convention)
            for table in Base.metadata.sorted_tables:  # the ticket tables too: category_lessons refers to them
                table.to_metadata(console_only)
            assert compare_metadata(context, console_only) == []
        assert set(CONSOLE_TABLES) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_the_console_migration_downgrades_cleanly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'down.db'}"
    migrate(url)
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0001_initial")
        assert not set(CONSOLE_TABLES) & set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    migrate(url)  # and up again


def test_0009_keeps_accounts_and_ends_the_sessions_begun_before_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'upgrade.db'}"
    engine = make_engine(url)
    try:
        with engine.begin() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, "0008_wechat")
            connection.execute(
                text(
                    "INSERT INTO staff_users (id, username, display_name, password_hash, role, desks, active,"
                    " created_at, updated_at, password_changed_at) VALUES (1, 'wang', 'wang', 'x', 'admin',"
                    " '[\"12345\"]', 1, '2026-12-01 00:00:00', '2026-12-01 00:00:00', '2026-12-01 00:00:00')"
                )
            )
            connection.execute(
                text(
                    "INSERT INTO staff_sessions (id, user_id, created_at, last_seen_at, ip)"
                    " VALUES ('s1', 1, '2026-12-01 00:00:00', '2026-12-01 00:00:00', '127.0.0.1')"
                )
            )
        migrate(url)
        with engine.connect() as connection:
            user = connection.execute(
                text("SELECT must_change_password, mfa_secret, mfa_enabled_at FROM staff_users")
            ).one()
            ended = connection.execute(text("SELECT ended_at FROM staff_sessions")).scalar()
        assert tuple(user) == (0, None, None)
        assert ended is not None
        with engine.begin() as connection:  # and back, with the rows in place
            config = alembic_config()
            config.attributes["connection"] = connection
            command.downgrade(config, "0008_wechat")
            assert connection.execute(text("SELECT username FROM staff_users")).scalar() == "wang"
    finally:
        engine.dispose()
