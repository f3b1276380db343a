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
