# ruff: noqa: F811 - the Telegram fixtures are imported from tests/channels/test_telegram_channel.py
"""Hostile JSON gets 400 with a clear message on every route, never 500 (bot/security/json_body.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from bot.app import create_app
from bot.db.engine import make_engine
from bot.gateway.models import InboundMessage
from bot.security.json_body import MAX_DEPTH, BadJson, parse_json
from bot.settings import Settings
from tests.channels.fake_telegram import FakeTelegram
from tests.channels.test_telegram_channel import SECRET, DoorOpener, door, rasa, telegram  # noqa: F401 - fixtures
from tests.decisions import no_risk
from tests.security.routes import concrete, post_routes
from tests.support.identity import key_headers

BODYLESS = {"/api/chat/{desk}/session"}  # issues a web chat token; never reads the body
HOSTILE = {
    "nested": (b'{"sender": "a", "text": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", "nested"),
    "huge number": (b'{"sender": "a", "text": "hi", "message_id": ' + b"9" * 5000 + b"}", "number"),
    "huge float": (b'{"sender": "a", "text": "hi", "to": 1e999}', "range"),
    "surrogate in text": (b'{"sender": "a", "text": "\\ud800", "to": "bot"}', "surrogate"),
    "surrogate in a key": (b'{"\\udfff": 1, "sender": "a"}', "surrogate"),
    "invalid UTF-8": (b'{"sender": "a", "text": "\xff\xfe"}', "UTF-8"),
    "NaN": (b'{"sender": "a", "text": "hi", "message_id": NaN}', "NaN"),
}


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("FRONTDOOR_SECRET_KEY", "secret-key")
    with TestClient(create_app(Settings(), decide=no_risk), follow_redirects=False) as test_client:
        yield test_client


def stored_messages(tmp_path: Path) -> int:
    engine = make_engine(f"sqlite:///{tmp_path / 'frontdoor.db'}")
    try:
        with Session(engine) as session:
            return int(session.scalar(select(func.count()).select_from(InboundMessage)) or 0)
    finally:
        engine.dispose()


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_every_json_route_answers_400_with_what_is_wrong(client: TestClient, tmp_path: Path, kind: str) -> None:
    body, fragment = HOSTILE[kind]
    integration = key_headers(client)
    for template in post_routes(client.app):  # type: ignore[arg-type]
        if not template.startswith("/api/"):
            continue
        response = client.post(concrete(template), content=body, headers=integration)
        if template in BODYLESS:  # reads no body: whatever is sent, it must not crash
            assert response.status_code < 500, (template, kind, response.status_code)
            continue
        assert response.status_code == 400, (template, kind, response.status_code, response.text[:200])
        assert fragment in response.json()["error"], (template, response.json())
    assert stored_messages(tmp_path) == 0  # nothing reached the gateway


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_console_posts_never_fail_on_hostile_bodies(client: TestClient, kind: str) -> None:
    """The console reads forms, not JSON: whatever arrives, it refuses (login, CSRF) and never crashes."""
    body, _ = HOSTILE[kind]
    for template in post_routes(client.app):  # type: ignore[arg-type]
        if not template.startswith("/console/"):
            continue
        for content_type in ("application/json", "application/x-www-form-urlencoded"):
            response = client.post(concrete(template), content=body, headers={"content-type": content_type})
            assert 300 <= response.status_code < 500, (template, kind, response.status_code)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"sender": "s" * 128, "text": "hi", "message_id": "m" * 120}, 200),
        ({"sender": "s" * 129, "text": "hi"}, 400),
        ({"sender": "ok", "text": "hi", "message_id": "m" * 121}, 400),
        ({"sender": "ok", "text": "hi", "message_id": 10**18}, 400),
        ({"sender": "   ", "text": "hi"}, 400),
        ({"sender": "ok", "text": "hi", "channel": "telegram"}, 400),
        ({"sender": "ok", "text": "hi", "message_id": ["m"]}, 400),
    ],
)
def test_id_fields_are_bounded_to_their_columns(client: TestClient, body: dict[str, object], status: int) -> None:
    response = client.post("/api/chat/12345", json=body, headers=key_headers(client))
    assert response.status_code == status, response.text[:300]
    if status == 400:
        assert "'" in response.json()["error"]  # names the field


def test_the_reader_refuses_each_case_and_keeps_good_json() -> None:
    assert parse_json(b'{"a": [1, 2.5, "\\ud83d\\ude00", "[[["]}') == {"a": [1, 2.5, "😀", "[[["]}
    assert parse_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None
    for body, _ in HOSTILE.values():
        with pytest.raises(BadJson):
            parse_json(body)
    with pytest.raises(BadJson, match="nested"):
        parse_json(b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1))


def test_the_telegram_webhook_answers_400_to_each_hostile_body(door: DoorOpener, telegram: FakeTelegram) -> None:
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "content-type": "application/json"}
    with door(webhook=True) as client:
        for kind, (body, _) in HOSTILE.items():
            response = client.post("/telegram/12345", content=body, headers=headers)
            assert response.status_code == 400, (kind, response.status_code)
        nested_update = b'{"update_id": 1, "message": ' + b"[" * 5000 + b"]" * 5000 + b"}"
        assert client.post("/telegram/12345", content=nested_update, headers=headers).status_code == 400
        assert client.post("/telegram/12345", content=b"x" * (1024 * 1024 + 1), headers=headers).status_code == 413
