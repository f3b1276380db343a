"""Impersonation is refused: the server, not the client, says who speaks on /api/chat (bot/channels/identity.py).

Web chat: a second client that knows only the first one's sender id (it is shown to staff and in
conversation ids) can neither write into nor read from that conversation. REST: a sender string is
only meaningful under the key that sent it; each key has its own namespace.
"""

from __future__ import annotations

from starlette.testclient import TestClient

from bot.channels import keys
from tests.security.chat_app import client, stored  # noqa: F401 (client: the chat app fixture, not the console one)
from tests.support.identity import bearer, key_headers, new_key, web_session


def staff_reply(client: TestClient, conversation: str, text: str) -> None:
    client.app.state.gateway.staff_reply(conversation, text, "agent-1")  # type: ignore[attr-defined]


# --- web chat ------------------------------------------------------------------------------------
def test_a_web_conversation_is_spoken_and_read_only_with_its_token(client: TestClient) -> None:
    mine, sender = web_session(client, "12345")
    assert client.post("/api/chat/12345", json={"text": "你好"}, headers=mine).status_code == 200
    staff_reply(client, f"12345:web:{sender}", "您好，我是工作人员小李")
    before = stored(client)

    # a second client knows the sender id, but has no token: nothing is written, nothing is read
    as_sender = client.post("/api/chat/12345", json={"sender": sender, "text": "我是他", "channel": "web"})
    assert as_sender.status_code == 401 and "X-Chat-Token" in as_sender.json()["error"]
    read = client.get("/api/chat/12345/updates", params={"sender": sender, "after": 0})
    assert read.status_code == 401
    # with a token of its own, naming the sender is refused, and its own updates are its own
    theirs, _ = web_session(client, "12345")
    named = client.post("/api/chat/12345", json={"sender": sender, "text": "我是他"}, headers=theirs)
    assert named.status_code == 400 and "sender" in named.json()["error"]
    peek = client.get("/api/chat/12345/updates", params={"sender": sender, "after": 0}, headers=theirs)
    assert peek.status_code == 400
    assert client.get("/api/chat/12345/updates", params={"after": 0}, headers=theirs).json()["messages"] == []
    assert stored(client) == before  # none of the refused requests stored a message

    mine_updates = client.get("/api/chat/12345/updates", params={"after": 0}, headers=mine).json()["messages"]
    assert [m["text"] for m in mine_updates] == ["您好，我是工作人员小李"]


def test_the_server_chooses_a_long_random_sender_and_stores_only_the_tokens_digest(client: TestClient) -> None:
    response = client.post("/api/chat/12345/session")
    body = response.json()
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    assert len(body["token"]) >= 43 and len(body["sender"]) == 33 and body["sender"].startswith("w")
    assert body["sender"] != web_session(client, "12345")[1]
    with client.app.state.engine.connect() as connection:  # type: ignore[attr-defined]
        rows = connection.exec_driver_sql("SELECT token_sha256, desk, sender FROM gw_chat_tokens").fetchall()
    assert body["token"] not in repr(rows) and (body["sender"], "12345") in [(r[2], r[1]) for r in rows]


def test_a_token_of_one_desk_is_refused_on_another(client: TestClient) -> None:
    youth, _ = web_session(client, "12355")
    before = stored(client)
    refused = client.post("/api/chat/12345", json={"text": "你好"}, headers=youth)
    assert refused.status_code == 401 and refused.json()["code"] == "chat_token_invalid"
    assert client.get("/api/chat/12345/updates", headers=youth).status_code == 401
    assert stored(client) == before
    assert client.post("/api/chat/12355", json={"text": "你好"}, headers=youth).status_code == 200


def test_an_unknown_token_says_how_to_get_a_new_one(client: TestClient) -> None:
    refused = client.post("/api/chat/12345", json={"text": "你好"}, headers={"X-Chat-Token": "made-up"})
    assert refused.status_code == 401
    assert refused.json()["code"] == "chat_token_invalid" and "/api/chat/12345/session" in refused.json()["error"]
    assert stored(client) == 0


def test_a_session_for_an_unknown_desk_is_404(client: TestClient) -> None:
    assert client.post("/api/chat/99999/session").status_code == 404
    assert stored(client, "gw_chat_tokens") == 0


# --- integrations (REST) -------------------------------------------------------------------------
def test_rest_without_a_key_is_401_and_says_how_to_get_one(client: TestClient) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-key"}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        refused = client.post("/api/chat/12345", json={"sender": "u1", "text": "你好"}, headers=headers)
        assert refused.status_code == 401, headers
        assert "make key" in refused.json()["error"] and "Bearer fdk_" in refused.json()["error"]
        assert refused.headers["www-authenticate"].startswith("Bearer")
    assert client.get("/api/chat/12345/updates", params={"sender": "u1", "channel": "rest"}).status_code == 401
    assert stored(client) == 0 and stored(client, "gw_conversations") == 0


def test_a_wrong_secret_for_a_real_key_id_is_401(client: TestClient) -> None:
    key = new_key(client, "crm")
    key_id, secret = keys.parse(key) or ("", "")
    forged = f"fdk_{key_id}_{'0' * 64 if secret != '0' * 64 else '1' * 64}"
    refused = client.post("/api/chat/12345", json={"sender": "u1", "text": "你好"}, headers=bearer(forged))
    assert refused.status_code == 401 and stored(client) == 0


def test_each_key_has_its_own_namespace(client: TestClient) -> None:
    crm, wechat = key_headers(client, "crm"), key_headers(client, "wechat-adapter")
    assert client.post("/api/chat/12345", json={"sender": "u1", "text": "你好"}, headers=crm).status_code == 200
    assert client.post("/api/chat/12345", json={"sender": "u1", "text": "你好"}, headers=wechat).status_code == 200
    with client.app.state.engine.connect() as connection:  # type: ignore[attr-defined]
        ids = sorted(r[0] for r in connection.exec_driver_sql("SELECT id FROM gw_conversations"))
    assert ids == ["12345:rest:crm:u1", "12345:rest:wechat-adapter:u1"]

    staff_reply(client, "12345:rest:crm:u1", "您好，已收到")
    params = {"sender": "u1", "channel": "rest", "after": 0}
    assert [
        m["text"] for m in client.get("/api/chat/12345/updates", params=params, headers=crm).json()["messages"]
    ] == ["您好，已收到"]
    assert client.get("/api/chat/12345/updates", params=params, headers=wechat).json()["messages"] == []
    # a key cannot reach into another namespace by writing it into the sender
    sneaky = {"sender": "crm:u1", "after": 0}
    assert client.get("/api/chat/12345/updates", params=sneaky, headers=wechat).json()["messages"] == []


def test_a_key_speaks_only_on_rest(client: TestClient) -> None:
    crm = key_headers(client, "crm")
    as_web = client.post("/api/chat/12345", json={"sender": "u1", "text": "你好", "channel": "web"}, headers=crm)
    assert as_web.status_code == 400 and "rest" in as_web.json()["error"]
    read_web = client.get("/api/chat/12345/updates", params={"sender": "u1", "channel": "web"}, headers=crm)
    assert read_web.status_code == 400
    assert stored(client) == 0


def test_a_revoked_key_is_401_at_once(client: TestClient) -> None:
    key = new_key(client, "crm")
    assert client.post("/api/chat/12345", json={"sender": "u1", "text": "你好"}, headers=bearer(key)).status_code == 200
    before = stored(client)
    keys.revoke_key(client.app.state.engine, keys.parse(key)[0])  # type: ignore[attr-defined, index]
    refused = client.post("/api/chat/12345", json={"sender": "u1", "text": "在吗"}, headers=bearer(key))
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]
    params = {"sender": "u1", "after": 0}
    assert client.get("/api/chat/12345/updates", params=params, headers=bearer(key)).status_code == 401
    assert stored(client) == before


def test_a_key_for_one_desk_is_refused_on_another(client: TestClient) -> None:
    youth_only = key_headers(client, "school-app", desks=["12355"])
    refused = client.post("/api/chat/12345", json={"sender": "u1", "text": "你好"}, headers=youth_only)
    assert refused.status_code == 403 and "12355" in refused.json()["error"]
    assert client.get("/api/chat/12345/updates", params={"sender": "u1"}, headers=youth_only).status_code == 403
    assert stored(client) == 0
    assert client.post("/api/chat/12355", json={"sender": "u1", "text": "你好"}, headers=youth_only).status_code == 200
