"""The gateway tables come from the Alembic chain, and the chain matches the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from bot.db.engine import make_engine
from bot.db.migrate import alembic_config, migrate
from bot.gateway.models import GatewayBase


def test_the_migration_chain_has_one_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_migrated_gateway_tables_match_the_models(db: Engine) -> None:
    with db.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, GatewayBase.metadata)
    ours = [d for d in diff if "gw_" in repr(d)]
    assert ours == []


def test_tables_made_by_the_old_create_all_are_upgraded_in_place(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with engine.begin() as connection:  # the gateway's schema before the Alembic revision
        connection.execute(
            text(
                "CREATE TABLE gw_conversations (id VARCHAR(200) PRIMARY KEY, desk VARCHAR(20) NOT NULL,"
                " channel VARCHAR(20) NOT NULL, external_user VARCHAR(160) NOT NULL,"
                " handoff BOOLEAN NOT NULL, handoff_reason VARCHAR(40), created_at DATETIME NOT NULL,"
                " last_seen_at DATETIME NOT NULL)"
            )
        )
        connection.execute(
            text(
                "INSERT INTO gw_conversations VALUES ('12345:web:a', '12345', 'web', 'a', 0, NULL,"
                " '2026-01-01', '2026-01-01')"
            )
        )
    migrate(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("gw_conversations")}
    assert "bot_reset_pending" in columns and "gw_telegram_updates" in inspect(engine).get_table_names()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT bot_reset_pending FROM gw_conversations")).scalar() == 0
    engine.dispose()
