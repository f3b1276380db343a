"""Catalogue versions saved on another instance are written to this instance's override folder
(bot/console/catalogue_sync.py); the cross-process test is tests/cluster/test_catalogue.py."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from bot.console import overrides
from bot.console.catalogue_sync import CatalogueSync
from bot.console.models import CatalogueVersion
from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.settings import Settings


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    db = make_engine(f"sqlite:///{tmp_path / 'sync.db'}")
    migrate(db)
    yield db
    db.dispose()


def add_version(engine: Engine, version: int, content: str) -> None:
    with Session(engine) as session:
        session.add(
            CatalogueVersion(
                desk="12355",
                kind="faq",
                version=version,
                content=content,
                sha256=hashlib.sha256(content.encode()).hexdigest(),
                author="root.admin",
                comment=None,
                created_at=datetime.now(UTC),
                details={},
            )
        )
        session.commit()


def test_the_newest_version_of_each_file_is_written_once(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path / "other-host"))
    settings = Settings()
    sync = CatalogueSync(engine, settings)
    path = overrides.override_path(settings, "faq", "12355")
    assert sync.sync_once() == 0 and not path.exists()  # nothing edited: the bundled file stays the default

    bundled = overrides.bundled_path("faq", "12355").read_text(encoding="utf-8")
    add_version(engine, 1, bundled.replace("faqs:", "faqs:\n  - id: v1\n    question: 一？\n    answer: 一。", 1))
    add_version(engine, 2, bundled + "\n# 第二版\n")
    assert sync.sync_once() == 1
    assert path.read_text(encoding="utf-8") == bundled + "\n# 第二版\n"  # the newest, not the first
    assert overrides.read_effective(settings, "faq", "12355").endswith("# 第二版\n")

    path.write_text("changed by hand\n", encoding="utf-8")
    assert sync.sync_once() == 0  # no new version: one cheap look, nothing written
    add_version(engine, 3, bundled + "\n# 第三版\n")
    assert sync.sync_once() == 1 and path.read_text(encoding="utf-8").endswith("# 第三版\n")
