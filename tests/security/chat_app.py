"""The chat app in-process on a real SQLite database in a temp folder, Rasa down (the gateway apologises).

Imported by the identity tests: their `client` overrides the console fixture of the same name in conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from starlette.testclient import TestClient

from bot.app import create_app
from bot.settings import Settings
from tests.decisions import no_risk


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_URL", "http://127.0.0.1:9")  # nothing listens: Rasa is down
    monkeypatch.setenv("FRONTDOOR_RASA_TIMEOUT", "1")
    with TestClient(create_app(Settings(), decide=no_risk)) as test_client:
        yield test_client


def stored(client: TestClient, table: str = "gw_inbound") -> int:
    """Rows in a gateway table: a refused request must add none."""
    with client.app.state.engine.connect() as connection:  # type: ignore[attr-defined]
        return int(connection.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one())
