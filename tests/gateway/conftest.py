"""A migrated SQLite database per test: the gateway's schema comes from the Alembic chain, as in production."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.db.engine import make_engine
from bot.db.migrate import migrate


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gw.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(autouse=True)
def staffed_around_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the gateway says about who is coming depends on the hour (out of hours it promises no
    person): these tests pin both desks to 24 h unless a test sets other hours itself."""
    monkeypatch.setenv("FRONTDOOR_STAFF_HOURS", "12345=24h,12355=24h")
