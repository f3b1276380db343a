"""A real SQLite database migrated to head in a throw-away data folder, with its own cache folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.settings import Settings


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    (tmp_path / "data").mkdir()
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FRONTDOOR_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("FRONTDOOR_DATABASE_URL", raising=False)
    return Settings()


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    migrate(settings.database_url)
    db = make_engine(settings.database_url)
    yield db
    db.dispose()
