"""Fixtures of the ticket store tests: every store test runs on SQLite and on PostgreSQL.

PostgreSQL comes from `scripts/postgres.sh` (a throwaway cluster started once per session), or from
FRONTDOOR_TEST_POSTGRES_URL when set (a server you run yourself; the user must be allowed to create
databases). The PostgreSQL schema is migrated once per session and emptied before each test (a database per
test costs about a second each on a busy machine). When no cluster can start, the PostgreSQL half of the
tests is skipped with the reason locally, and fails under CI=true (where .ci/run installs PostgreSQL).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, make_url, text

from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.tickets.models import Base, Ticket
from bot.tickets.repository import TicketStore
from tests.support.ci import unavailable
from tests.support.clock import FakeClock

REPO = Path(__file__).resolve().parents[2]
POSTGRES_SCRIPT = REPO / "scripts" / "postgres.sh"
TEST_DB = "tickets_test"


def _admin_engine(url: str) -> Engine:
    return create_engine(make_url(url), isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """URL of a PostgreSQL server database for the session (started here unless given)."""
    given = os.environ.get("FRONTDOOR_TEST_POSTGRES_URL")
    if given:
        yield given
        return
    data_dir = tempfile.mkdtemp(prefix="frontdoor-pg-test-")
    try:
        result = subprocess.run(
            ["bash", str(POSTGRES_SCRIPT), "start", data_dir], capture_output=True, text=True, timeout=600
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "stop", data_dir], capture_output=True, check=False)
        unavailable(f"PostgreSQL tests not run: scripts/postgres.sh could not run ({exc})")
    if result.returncode != 0 or not result.stdout.strip():
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "stop", data_dir], capture_output=True, check=False)
        tail = "\n".join(result.stderr.strip().splitlines()[-8:])
        unavailable(f"PostgreSQL tests not run: scripts/postgres.sh failed to start a cluster:\n{tail}")
    url = result.stdout.strip().splitlines()[-1]
    try:
        _trade_durability_for_speed(url)
        yield url
    finally:
        subprocess.run(["bash", str(POSTGRES_SCRIPT), "stop", data_dir], capture_output=True, check=False)


def _trade_durability_for_speed(url: str) -> None:
    """Our own throwaway cluster needs no fsync: the tests commit thousands of tiny transactions.

    (The script itself keeps the durable defaults, so `make bench` measures real commit costs.)
    """
    admin = _admin_engine(url)
    try:
        with admin.connect() as connection:
            connection.execute(text("ALTER SYSTEM SET fsync = off"))
            connection.execute(text("ALTER SYSTEM SET synchronous_commit = off"))
            connection.execute(text("ALTER SYSTEM SET full_page_writes = off"))
            connection.execute(text("SELECT pg_reload_conf()"))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_database(postgres_server: str) -> str:
    """A database migrated once for the session; each test starts from emptied tables."""
    admin = _admin_engine(postgres_server)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{TEST_DB}"'))
    finally:
        admin.dispose()
    url = make_url(postgres_server).set(database=TEST_DB).render_as_string(hide_password=False)
    migrate(url)
    return url


def _empty_postgres(url: str) -> None:
    """Empty every ticket table. The append-only triggers would refuse, so they are bypassed for this one
    superuser session (session_replication_role = replica): a test reset, not an application path.
    """
    tables = ", ".join(f'"{name}"' for name in Base.metadata.tables)
    engine = create_engine(make_url(url))
    try:
        with engine.begin() as connection:
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty ticket database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tickets.db'}"
        migrate(url)
        return url
    url = request.getfixturevalue("postgres_database")
    _empty_postgres(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(engine: Engine, clock: FakeClock) -> TicketStore:
    return TicketStore(engine, clock=clock, follow_up_after_hours=24)


@pytest.fixture
def new_ticket(store: TicketStore) -> Callable[..., Ticket]:
    """Create a ticket with sensible defaults; keyword arguments override them."""
    counter = iter(range(1, 1_000_000))

    def create(**overrides: Any) -> Ticket:
        n = next(counter)
        values: dict[str, Any] = {
            "desk": "12345",
            "route": "ticket",
            "conversation_id": "web:alice",
            "channel": "web",
            "idempotency_key": f"test-{n}",
            "summary": "小区路灯坏了一周",
            "category": "urban_management",
            "category_l1": "城乡建设",
            "sla_first_response_hours": 4,
            "sla_resolution_hours": 72,
        }
        values.update(overrides)
        return store.create_ticket(**values)

    return create
