"""Schema: migrations build exactly the models, audit tables are append-only in the database itself."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, MetaData, inspect, select, text
from sqlalchemy.exc import DBAPIError

from bot.db.engine import make_engine, normalize_url
from bot.db.migrate import VERSION_TABLE, alembic_config, current_revision, migrate
from bot.tickets import __main__ as cli
from bot.tickets.models import Base, Event, Ticket
from bot.tickets.repository import TicketStore


def script_head() -> str:
    """The newest revision among the migration scripts (exactly one head: the chain never forks)."""
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"the migration chain forked: {heads}"
    return str(heads[0])


def test_migrations_reach_head_and_are_idempotent(db_url: str, engine: Engine) -> None:
    migrate(db_url)  # a second run (the fixture ran the first) finds nothing to do
    assert current_revision(engine) == script_head()
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "tickets_alembic_version" in tables


def alembic_target_metadata(engine: Engine) -> list[MetaData]:
    """The `target_metadata` that the migration environment (env.py) gives Alembic, as Alembic receives it."""
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    seen: list[MetaData] = []

    def look(_revision: object, context: MigrationContext) -> list[object]:
        target = context.opts["target_metadata"]
        seen.extend(target if isinstance(target, Sequence) else [target])
        return []  # no migration step: only look

    with engine.begin() as connection:
        config.attributes["connection"] = connection
        with EnvironmentContext(config, script, fn=look):
            script.run_env()
    return seen


def test_alembic_target_metadata_has_every_migrated_table(engine: Engine) -> None:
    """The migrations build the tickets', the console's and the gateway's tables; Alembic must know them all.

    Autogenerate and `alembic check` look only at the tables of the target metadata: a table missing
    from it would silently never be compared with its model.
    """
    known = {name for metadata in alembic_target_metadata(engine) for name in metadata.tables}
    migrated = set(inspect(engine).get_table_names()) - {VERSION_TABLE}
    assert sorted(migrated - known) == []
    assert sorted(known - migrated) == []


def test_migrations_match_the_whole_target_metadata(engine: Engine) -> None:
    """What `alembic check` would say: the chain builds exactly the tickets', console's and gateway's models."""
    [metadata] = alembic_target_metadata(engine)
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _: kind != "table" or name in metadata.tables,
            },
        )
        assert compare_metadata(context, metadata) == []


def test_constraint_names_are_those_of_existing_databases(engine: Engine) -> None:
    """The migration scripts name CHECK constraints through the target metadata's naming convention.

    Existing databases have these names (0004 drops one by name): whatever the target metadata is made
    of, the names must not change.
    """
    inspector = inspect(engine)
    names = {c["name"] for table in ("tickets", "catalogue_versions") for c in inspector.get_check_constraints(table)}
    assert {"ck_tickets_ck_tickets_status", "ck_catalogue_versions_ck_catalogue_versions_kind"} <= names


def test_models_match_migrations(engine: Engine) -> None:
    """The migration is written by hand: it must build exactly what models.py declares."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _: kind != "table" or name in Base.metadata.tables,
            },
        )
        assert compare_metadata(context, Base.metadata) == []


def _catalogue_version(kind: str, version: int) -> str:
    return (
        "INSERT INTO catalogue_versions (desk, kind, version, content, sha256, author, created_at, details) "
        f"VALUES ('all', '{kind}', {version}, 'crisis: {{}}', 'x', 'admin', '2026-12-06 08:00:00+00:00', '{{}}')"
    )


def test_safety_file_versions_are_allowed_and_the_change_is_undone_cleanly(db_url: str, engine: Engine) -> None:
    """0004 widens the CHECK of catalogue_versions.kind (SQLite rebuilds the table, PostgreSQL alters it)."""
    with engine.begin() as connection:
        connection.execute(text(_catalogue_version("safety", 1)))
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text(_catalogue_version("secrets", 2)))
    config = alembic_config()
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "0003_gateway_tables")
        with engine.connect() as connection:
            assert connection.execute(text("SELECT count(*) FROM catalogue_versions")).scalar() == 0
        with pytest.raises(DBAPIError), engine.begin() as connection:
            connection.execute(text(_catalogue_version("safety", 3)))
        assert "lessons" not in inspect(engine).get_table_names()
    finally:
        migrate(db_url)  # back to head (the PostgreSQL database is shared by the session)
    with engine.begin() as connection:
        connection.execute(text(_catalogue_version("safety", 4)))
    assert "lessons" in inspect(engine).get_table_names()


@pytest.mark.parametrize("statement", ["UPDATE ticket_events SET actor = 'mallory'", "DELETE FROM ticket_events"])
def test_events_are_append_only_in_the_database(
    engine: Engine, new_ticket: Callable[..., Ticket], statement: str
) -> None:
    new_ticket()
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    with engine.connect() as connection:
        assert connection.execute(select(Event.actor)).scalars().all() == ["bot"]


@pytest.mark.parametrize("statement", ["UPDATE staff_audit_log SET reason = 'x'", "DELETE FROM staff_audit_log"])
def test_staff_audit_log_is_append_only(engine: Engine, store: TicketStore, statement: str) -> None:
    store.log_staff_action(staff_user="alice", action="export", reason="monthly report")
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as connection:
        connection.execute(text(statement))
    assert len(store.staff_audit_log()) == 1


def test_events_are_append_only_in_code() -> None:
    """No store method may change or remove events (the trigger is the second line of defence)."""
    public = [name for name in dir(TicketStore) if not name.startswith("_")]
    assert not [name for name in public if "event" in name and name != "events"]
    assert not [name for name in public if name.startswith(("delete", "remove", "update", "purge"))]


def test_tickets_with_events_cannot_be_deleted(engine: Engine, new_ticket: Callable[..., Ticket]) -> None:
    """Foreign keys are enforced (SQLite needs PRAGMA foreign_keys): the record outlives any cleanup."""
    ticket = new_ticket()
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(text("DELETE FROM tickets WHERE id = :id"), {"id": ticket.id})


def test_times_come_back_aware_utc(store: TicketStore, new_ticket: Callable[..., Ticket]) -> None:
    ticket = store.get(new_ticket().id)
    assert ticket.created_at.tzinfo is not None
    assert ticket.created_at.utcoffset() == timedelta(0)


def test_naive_times_are_refused(store: TicketStore) -> None:
    with pytest.raises(ValueError, match="aware"):
        store.due_follow_ups(datetime(2026, 11, 23, 12, 0))


def test_sqlite_connection_settings(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'sub' / 'x.db'}")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert (connection.exec_driver_sql("PRAGMA busy_timeout").scalar() or 0) >= 1000
    finally:
        engine.dispose()


def test_plain_postgres_urls_use_psycopg3() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"


def test_cli_migrate(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert cli.main(["--url", url, "migrate"]) == 0
    assert cli.main(["--url", url, "current"]) == 0
    assert capsys.readouterr().out.strip().endswith(script_head())


def test_sqlite_reads_do_not_wait_for_a_writer(tmp_path) -> None:
    """Writers begin IMMEDIATE (no mid-transaction "database is locked"); lookups must not queue behind them."""
    url = f"sqlite:///{tmp_path / 'locks.db'}"
    migrate(url)
    engine = make_engine(url)
    store = TicketStore(engine)
    try:
        with engine.begin() as writer:  # holds the write lock until the block ends
            writer.execute(text("INSERT INTO ticket_number_counters (desk, day, last_seq) VALUES ('x', '1', 1)"))
            started = time.perf_counter()
            assert store.tickets_for_conversation("web:alice") == []
            assert time.perf_counter() - started < 2
    finally:
        engine.dispose()
