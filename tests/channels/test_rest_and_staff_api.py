"""The app's HTTP surface in-process: REST channel validation, web chat page, staff replies and handover
as the console makes them (the legacy staff API is gone)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bot import app as app_module
from bot import privacy_notice
from bot.app import create_app
from bot.gateway import messages
from bot.settings import Settings
from tests.decisions import no_risk
from tests.support.identity import key_headers, web_session


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_URL", "http://127.0.0.1:9")  # nothing listens: Rasa is down
    with TestClient(create_app(Settings(), decide=no_risk)) as test_client:
        yield test_client


def health_until(client: TestClient, wanted: str) -> dict[str, str]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        body = client.get("/healthz").json()
        if body["triage"] == wanted:
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"triage never became {wanted!r}")


def test_health_says_warming_until_the_triage_models_are_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_URL", "http://127.0.0.1:9")
    loaded = threading.Event()
    monkeypatch.setattr(app_module, "_warm_up_triage", lambda: loaded.wait(10) and None)
    with TestClient(create_app(Settings())) as test_client:  # the real triage screen
        warming = test_client.get("/healthz")
        assert warming.status_code == 503 and warming.json() == {
            "status": "warming",
            "rasa": "down",
            "triage": "warming",
        }
        loaded.set()
        assert health_until(test_client, "ready") == {"status": "ok", "rasa": "down", "triage": "ready"}
        assert test_client.get("/healthz").status_code == 200


def test_a_failed_warm_up_is_reported_but_the_app_keeps_serving(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_URL", "http://127.0.0.1:9")

    def broken() -> None:
        raise FileNotFoundError("no embedding model folder")

    monkeypatch.setattr(app_module, "_warm_up_triage", broken)
    with TestClient(create_app(Settings())) as test_client:
        assert health_until(test_client, "failed")["status"] == "ok"
        assert test_client.get("/healthz").status_code == 200


def test_rest_chat_answers_even_when_rasa_is_down(client: TestClient) -> None:
    response = client.post("/api/chat/12345", json={"sender": "a", "text": "路灯坏了"}, headers=key_headers(client))
    assert response.status_code == 200
    assert response.json() == {
        "replies": [
            {"id": 1, "text": privacy_notice.notice("12345"), "buttons": []},
            {"id": 2, "text": messages.backend_down("12345"), "buttons": []},
        ]
    }


def test_rest_caller_cannot_speak_in_another_channel(client: TestClient) -> None:
    headers = key_headers(client)
    response = client.post(
        "/api/chat/12345", json={"sender": "42", "text": "hi", "channel": "telegram"}, headers=headers
    )
    assert response.status_code == 400
    assert "channel" in response.json()["error"]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"not json", 400, "UTF-8 JSON"),
        (b"\xff\xfe\x00binary", 400, "UTF-8 JSON"),
        (b"[1, 2]", 400, "JSON object"),
        (b'{"text": "hi"}', 400, "sender"),
        (b'{"sender": "a", "text": 5}', 400, "text"),
        (b'{"sender": "a", "text": "' + b"x" * 70_000 + b'"}', 413, "64"),
    ],
)
def test_rest_chat_rejects_bad_bodies_with_a_clear_message(
    client: TestClient, body: bytes, status: int, fragment: str
) -> None:
    response = client.post("/api/chat/12345", content=body, headers=key_headers(client))
    assert response.status_code == status
    assert fragment in response.json()["error"]


def test_unknown_desk_is_404_with_the_known_ones(client: TestClient) -> None:
    response = client.post("/api/chat/99999", json={"sender": "a", "text": "hi"}, headers=key_headers(client))
    assert response.status_code == 404
    assert "12345" in response.json()["error"]


def test_web_chat_page_per_desk_is_served_locally(client: TestClient) -> None:
    page = client.get("/chat/12355")
    assert page.status_code == 200
    assert 'data-desk="12355"' in page.text and "12355青少年服务台" in page.text
    assert "您" not in page.text and "输入你的消息" in page.text and "{" not in page.text.split("<body")[1]
    assert "输入您的消息" in client.get("/chat/12345").text  # citizens keep the polite form
    assert "http" not in page.text.split("<body")[1]  # no CDN: every asset is local
    assert client.get("/static/chat.js").status_code == 200
    assert client.get("/chat/nope").status_code == 404


def test_the_legacy_staff_api_is_gone(client: TestClient) -> None:
    """Staff reply and hand over from the console (login, desk, CSRF, audit), not a shared token."""
    web, sender = web_session(client)
    client.post("/api/chat/12345", json={"text": "你好"}, headers=web)
    for action, body in (("reply", {"text": "您好"}), ("handoff", {"to": "staff"})):
        response = client.post(
            f"/api/staff/conversations/12345:web:{sender}/{action}",
            json=body,
            headers={"Authorization": "Bearer anything", "X-Staff-User": "anyone"},
        )
        assert response.status_code == 404


def test_the_web_chat_page_shows_the_desks_privacy_notice_before_anything_is_sent(client: TestClient) -> None:
    youth = client.get("/chat/12355").text
    assert privacy_notice.notice("12355") in youth and f"{privacy_notice.retention_days()}天后删除" in youth
    assert privacy_notice.notice("12345") in client.get("/chat/12345").text


def test_staff_reply_reaches_the_web_conversation_once(client: TestClient) -> None:
    web, sender = web_session(client)
    client.post("/api/chat/12345", json={"text": "你好"}, headers=web)
    client.app.state.gateway.staff_reply(
        f"12345:web:{sender}", "您好，我是工作人员小李", "agent-1"
    )  # as the console does
    updates = client.get("/api/chat/12345/updates", params={"after": 0}, headers=web).json()["messages"]
    assert [(m["text"], m["from"]) for m in updates] == [("您好，我是工作人员小李", "staff")]
    again = client.get("/api/chat/12345/updates", params={"after": updates[0]["id"]}, headers=web).json()
    assert again["messages"] == []
    other, _ = web_session(client)
    assert client.get("/api/chat/12345/updates", params={"after": 0}, headers=other).json()["messages"] == []


def test_staff_can_take_over_and_hand_back(client: TestClient) -> None:
    web, sender = web_session(client)
    client.post("/api/chat/12345", json={"text": "你好"}, headers=web)
    gateway = client.app.state.gateway
    gateway.set_handoff(f"12345:web:{sender}", True, "staff")  # the console's 人工接管 button
    reply = client.post("/api/chat/12345", json={"text": "在吗"}, headers=web).json()
    assert reply["replies"][0]["text"] == messages.handed_to_staff("12345")
    gateway.set_handoff(f"12345:web:{sender}", False)
    again = client.post("/api/chat/12345", json={"text": "在吗"}, headers=web).json()
    assert again["replies"][0]["text"] != messages.handed_to_staff("12345")
