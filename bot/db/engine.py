"""Engines and sessions of Front Door's database.

One URL decides the backend: SQLite for a single machine (the default under var/), PostgreSQL
through psycopg 3 for a real deployment. Every part (tickets, console, gateway) opens its engine
here, so that all of them get the same SQLite locking and PostgreSQL driver settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from bot.db.wal import use_wal

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Execution option marking a read-only transaction: on SQLite it begins DEFERRED and takes no write lock.
READ_ONLY = "frontdoor_read_only"


def normalize_url(url: str | URL) -> URL:
    """Use psycopg 3 for plain postgresql:// URLs (SQLAlchemy would otherwise pick psycopg2)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """Create an engine with the settings the store relies on.

    SQLite: WAL (readers never block the writer), foreign keys on (off by default in SQLite), a busy
    timeout, and every transaction opened with BEGIN IMMEDIATE, so that a read-then-write transaction
    waits for the write lock up front instead of failing with "database is locked" halfway through.
    Transactions run with the execution option `READ_ONLY` begin deferred (readers never queue).
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **kwargs)

    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or "mode=memory" in str(parsed)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    connect_args.setdefault("check_same_thread", False)
    if in_memory:
        kwargs.setdefault("poolclass", StaticPool)  # one shared connection, or each would see its own empty DB
    elif not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, connect_args=connect_args, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" hook emit BEGIN itself
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            if not in_memory:
                use_wal(cursor.execute)  # the gateway and the action server may create the file at once
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (the store hands out detached snapshots)."""
    return sessionmaker(bind=engine, expire_on_commit=False)
