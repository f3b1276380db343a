"""The app's HTTP surface in-process: REST channel validation, web chat page, staff API auth."""

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

STAFF_TOKEN = "test-staff-token"


@pytest.fixture
def client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.setenv("FRONTDOOR_STAFF_API_TOKEN", STAFF_TOKEN)
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
    response = client.post("/api/chat/12345", json={"sender": "a", "text": "路灯坏了"})
    assert response.status_code == 200
    assert response.json() == {
        "replies": [
            {"id": 1, "text": privacy_notice.notice("12345"), "buttons": []},
            {"id": 2, "text": messages.backend_down("12345"), "buttons": []},
        ]
    }


def test_rest_caller_cannot_speak_in_another_channel(client: TestClient) -> None:
    response = client.post("/api/chat/12345", json={"sender": "42", "text": "hi", "channel": "telegram"})
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
    response = client.post("/api/chat/12345", content=body)
    assert response.status_code == status
    assert fragment in response.json()["error"]


def test_unknown_desk_is_404_with_the_known_ones(client: TestClient) -> None:
    response = client.post("/api/chat/99999", json={"sender": "a", "text": "hi"})
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


def test_the_web_chat_page_shows_the_desks_privacy_notice_before_anything_is_sent(client: TestClient) -> None:
    youth = client.get("/chat/12355").text
    assert privacy_notice.notice("12355") in youth and f"{privacy_notice.retention_days()}天后删除" in youth
    assert privacy_notice.notice("12345") in client.get("/chat/12345").text


def test_staff_api_needs_the_token(client: TestClient) -> None:
    client.post("/api/chat/12345", json={"sender": "p1", "text": "你好", "channel": "web"})
    url = "/api/staff/conversations/12345:web:p1/reply"
    assert client.post(url, json={"text": "您好"}).status_code == 401
    assert client.post(url, json={"text": "您好"}, headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_staff_reply_reaches_the_web_conversation_once(client: TestClient) -> None:
    client.post("/api/chat/12345", json={"sender": "p2", "text": "你好", "channel": "web"})
    headers = {"Authorization": f"Bearer {STAFF_TOKEN}", "X-Staff-User": "agent-1"}
    sent = client.post(
        "/api/staff/conversations/12345:web:p2/reply", json={"text": "您好，我是工作人员小李"}, headers=headers
    )
    assert sent.status_code == 200
    updates = client.get("/api/chat/12345/updates", params={"sender": "p2", "after": 0}).json()["messages"]
    assert [(m["text"], m["from"]) for m in updates] == [("您好，我是工作人员小李", "staff")]
    again = client.get("/api/chat/12345/updates", params={"sender": "p2", "after": updates[0]["id"]}).json()
    assert again["messages"] == []
    other = client.get("/api/chat/12345/updates", params={"sender": "someone-else", "after": 0}).json()
    assert other["messages"] == []


def test_staff_can_take_over_and_hand_back(client: TestClient) -> None:
    client.post("/api/chat/12345", json={"sender": "p3", "text": "你好", "channel": "web"})
    headers = {"Authorization": f"Bearer {STAFF_TOKEN}"}
    url = "/api/staff/conversations/12345:web:p3/handoff"
    assert client.post(url, json={"to": "staff"}, headers=headers).json()["owner"] == "staff"
    reply = client.post("/api/chat/12345", json={"sender": "p3", "text": "在吗", "channel": "web"}).json()
    assert reply["replies"][0]["text"] == messages.handed_to_staff("12345")
    assert client.post(url, json={"to": "bot"}, headers=headers).json()["owner"] == "bot"
    assert client.post(url, json={"to": "nobody"}, headers=headers).status_code == 400
    assert client.post("/api/staff/conversations/none/handoff", json={"to": "bot"}, headers=headers).status_code == 404
