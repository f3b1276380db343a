"""Web chat tokens expire after FRONTDOOR_CHAT_TOKEN_IDLE_DAYS without use (bot/channels/chat_tokens.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from starlette.testclient import TestClient

from bot.app import create_app
from bot.channels import chat_tokens
from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.settings import Settings
from tests.decisions import no_risk
from tests.security.chat_app import client, stored  # noqa: F401 (client: the chat app fixture, not the console one)

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    made = make_engine(f"sqlite:///{tmp_path / 'tokens.db'}")
    migrate(made)
    yield made
    made.dispose()


def test_use_keeps_a_token_alive_and_silence_expires_it(engine: Engine) -> None:
    token, sender = chat_tokens.issue(engine, "12345", idle_days=30, now=T0)
    assert chat_tokens.resolve(engine, token, "12345", 30, now=T0 + timedelta(days=29)) == sender
    # used on day 29: alive until day 59
    assert chat_tokens.resolve(engine, token, "12345", 30, now=T0 + timedelta(days=58)) == sender
    assert chat_tokens.resolve(engine, token, "12345", 30, now=T0 + timedelta(days=89)) is None
    assert chat_tokens.resolve(engine, token, "12355", 30, now=T0) is None  # another desk
    assert (
        chat_tokens.resolve(engine, None, "12345", 30) is None and chat_tokens.resolve(engine, "x", "12345", 30) is None
    )


def test_expired_tokens_are_deleted_when_new_ones_are_issued(engine: Engine) -> None:
    chat_tokens.issue(engine, "12345", idle_days=30, now=T0)
    chat_tokens.issue(engine, "12345", idle_days=30, now=T0 + timedelta(days=31))
    with engine.connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM gw_chat_tokens")).scalar_one() == 1


def test_the_app_uses_the_idle_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("FRONTDOOR_CHAT_TOKEN_IDLE_DAYS", "2")
    with TestClient(create_app(Settings(), decide=no_risk)) as client:
        issued = client.post("/api/chat/12345/session").json()
        assert issued["idle_days"] == 2
        headers = {"X-Chat-Token": issued["token"]}

        def idle_for(days: float) -> None:
            with client.app.state.engine.begin() as connection:  # type: ignore[attr-defined]
                old = datetime.now(UTC) - timedelta(days=days)
                connection.execute(text("UPDATE gw_chat_tokens SET last_used_at = :old"), {"old": old})

        idle_for(1.5)
        assert client.get("/api/chat/12345/updates", headers=headers).status_code == 200
        idle_for(2.5)
        before = stored(client)
        refused = client.post("/api/chat/12345", json={"text": "你好"}, headers=headers)
        assert refused.status_code == 401 and refused.json()["code"] == "chat_token_invalid"
        assert stored(client) == before
