"""Abuse limits (issue 18): bounded token buckets, the client address, and the middleware on a real app.

The app tests drive `create_app` through starlette's TestClient with a real SQLite database; Rasa is
down (nothing listens), so an answered message is an apology, which is enough to count what was
stored and answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from bot.app import create_app
from bot.channels import keys
from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.gateway import messages
from bot.gateway.models import Conversation, InboundMessage, OutboundMessage
from bot.gateway.service import Gateway, Limited
from bot.security.abuse import Kind, classify, integration_key_id
from bot.security.client_address import client_address, parse_networks
from bot.security.limits import BucketLimiter, Rate
from bot.settings import Settings
from tests.decisions import no_risk
from tests.gateway.fakes import FakeRasa, msg


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- buckets ------------------------------------------------------------------------------------
def test_a_bucket_allows_its_burst_then_refuses_with_the_wait_then_refills() -> None:
    clock = Clock()
    limiter = BucketLimiter(Rate(3, 60), clock=clock)  # 3 at once, then one every 20 s
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == pytest.approx(20.0)
    assert limiter.take("b") == 0.0  # another key has its own bucket
    clock.now += 10
    assert limiter.take("a") == pytest.approx(10.0)  # a refused request takes nothing
    clock.now += 10
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0


def test_a_token_given_back_is_not_spent_and_zero_turns_a_limit_off() -> None:
    limiter = BucketLimiter(Rate(1, 60), clock=Clock())
    assert limiter.take("a") == 0.0
    limiter.give_back("a")
    assert limiter.take("a") == 0.0 and limiter.take("a") > 0
    off = BucketLimiter(Rate.parse("0/60"))
    assert all(off.take("x") == 0.0 for _ in range(1000)) and len(off) == 0


def test_memory_is_bounded_least_recently_used_first() -> None:
    clock = Clock()
    limiter = BucketLimiter(Rate(1, 3600), max_keys=100, clock=clock)
    assert limiter.take("kept") == 0.0
    for i in range(10_000):
        clock.now += 0.001
        limiter.take(f"sender-{i}")
        if i % 50 == 0:
            limiter.take("kept")  # recently used: survives the flood
    assert len(limiter) == 100
    assert limiter.take("kept") > 0  # still remembered as spent
    assert limiter.take("sender-0") == 0.0  # dropped long ago: a fresh bucket


def test_rates_are_read_as_count_per_seconds() -> None:
    assert Rate.parse(" 30 / 60 ") == Rate(30, 60.0)
    for bad in ("30", "30/0", "a/60", "-1/60", "30/-5"):
        with pytest.raises(ValueError, match="COUNT/SECONDS"):
            Rate.parse(bad)


# --- client address and key ---------------------------------------------------------------------
def test_forwarded_for_is_believed_only_from_a_trusted_proxy() -> None:
    trusted = parse_networks("10.0.0.0/8, 127.0.0.1")
    assert client_address("203.0.113.9", ["1.2.3.4"], trusted) == "203.0.113.9"  # not a proxy: ignored
    assert client_address("127.0.0.1", ["1.2.3.4"], ()) == "127.0.0.1"  # nobody trusted (the default)
    assert client_address("127.0.0.1", ["1.2.3.4"], trusted) == "1.2.3.4"
    # right to left past trusted hops; what the client wrote on the left is never taken
    assert client_address("10.0.0.2", ["6.6.6.6, 198.51.100.4, 10.0.0.7"], trusted) == "198.51.100.4"
    assert client_address("10.0.0.2", ["garbage"], trusted) == "10.0.0.2"
    assert client_address("10.0.0.2", [], trusted) == "10.0.0.2"
    with pytest.raises(ValueError, match="FRONTDOOR_TRUSTED_PROXIES"):
        parse_networks("10.0.0.0/8, proxy.local")


def test_the_key_id_is_read_from_the_bearer_header_without_verifying_it() -> None:
    assert integration_key_id("Bearer fdk_k7Ab_s3cr3t") == "k7Ab"
    assert integration_key_id("bearer fdk_wechat-1_x") == "wechat-1"
    assert integration_key_id("Bearer sometoken") is None and integration_key_id(None) is None


def test_every_public_route_is_classified_and_private_ones_are_not() -> None:
    assert classify("POST", "/api/chat/12355") == Kind("message", "12355")
    assert classify("POST", "/api/chat/12345/session") == Kind("message", "12345")
    assert classify("POST", "/telegram/12345") == Kind("message", "12345")
    assert classify("POST", "/wechat/12355") == Kind("platform", "12355")  # signed by WeChat, not limited per address
    assert classify("POST", "/wechat-kf/12355") == Kind("platform", "12355")
    assert classify("GET", "/chat/12355") == Kind("read", "12355")
    assert classify("GET", "/api/chat/12355/updates") == Kind("read", "12355")
    assert classify("GET", "/static/chat.js") == Kind("read", None)
    assert classify("POST", "/console/login") == Kind("login", None)
    assert classify("GET", "/healthz") is None and classify("GET", "/console/") is None


# --- the middleware on the app ------------------------------------------------------------------
# Web chat tokens are asked for from addresses of their own (a token is not bound to an address), so
# the address under test spends its buckets on messages only.
@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_URL", "http://127.0.0.1:9")  # Rasa is down: answers are apologies
    monkeypatch.setenv("FRONTDOOR_RASA_TIMEOUT", "1")
    return tmp_path


@contextmanager
def started() -> Iterator[Any]:
    """The app, its lifespan running (clients made with `peer` share it)."""
    app = create_app(Settings(), decide=no_risk)
    with TestClient(app):
        yield app


def peer(app: Any, address: str = "198.51.100.7") -> TestClient:
    return TestClient(app, client=(address, 40000))


_tokens = iter(range(1, 250))


def web_token(app: Any, desk: str = "12355") -> dict[str, str]:
    """The X-Chat-Token header of a new web conversation, asked for from a fresh address."""
    response = peer(app, f"192.0.2.{next(_tokens)}").post(f"/api/chat/{desk}/session")
    assert response.status_code == 200, response.text
    return {"X-Chat-Token": response.json()["token"]}


def post(client: TestClient, headers: dict[str, str], text: str = "你好", desk: str = "12355", **more: str) -> Any:
    body: dict[str, str] = {"text": text}
    if "Authorization" in headers:
        body["sender"] = more.pop("sender", "u1")
    return client.post(f"/api/chat/{desk}", json=body, headers={**headers, **more})


def stored(app: Any) -> tuple[int, int]:
    """(gw_inbound rows, gw_conversations rows) in the app's database."""
    with Session(app.state.engine) as session:
        inbound = session.scalar(select(func.count()).select_from(InboundMessage)) or 0
        conversations = session.scalar(select(func.count()).select_from(Conversation)) or 0
        return inbound, conversations


def test_a_limited_message_gets_429_with_the_numbers_and_nothing_is_stored(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_LIMIT_IP_MESSAGES", "2/60")
    with started() as app:
        client = peer(app)
        assert [post(client, web_token(app), "我不想活了").status_code for _ in range(2)] == [200, 200]
        refused = post(client, web_token(app), "我不想活了")
        assert refused.status_code == 429
        assert 1 <= int(refused.headers["Retry-After"]) <= 30
        body = refused.json()
        text = body["replies"][0]["text"]
        assert body["error"] == text == messages.rate_limited("12355")
        for number in ("110", "120", "12356", "24小时"):
            assert number in text
        citizen = post(client, web_token(app, "12345"), desk="12345").json()["replies"][0]["text"]
        assert all(n in citizen for n in ("110", "120", "119"))
        english = post(client, web_token(app), **{"Accept-Language": "en-GB,en;q=0.9"}).json()["replies"][0]["text"]
        assert "12356" in english and "110" in english and "fast" in english
        assert stored(app) == (2, 2)  # the three refused: no inbound row, no conversation


def test_the_global_bucket_holds_a_flood_from_many_addresses(app_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_LIMIT_GLOBAL_MESSAGES", "3/60")
    with started() as app:
        key, _ = keys.create_key(app.state.engine, "flood")
        auth = {"Authorization": f"Bearer {key}"}
        codes = [post(peer(app, f"203.0.113.{i}"), auth, sender=f"g{i}").status_code for i in range(6)]
    assert codes == [200, 200, 200, 429, 429, 429]


def test_new_conversations_per_address_are_capped_known_senders_go_on(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_LIMIT_NEW_CONVERSATIONS", "2/600")
    with started() as app:
        client = peer(app)
        a, b, c = web_token(app), web_token(app), web_token(app)
        assert [post(client, t).status_code for t in (a, b)] == [200, 200]
        third = post(client, c)
        assert third.status_code == 429 and "12356" in third.json()["replies"][0]["text"]
        assert post(client, a, "还在吗").status_code == 200  # a known conversation is not new
        assert stored(app) == (3, 2)


def test_integration_keys_have_their_own_bucket_and_random_key_ids_buy_nothing(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_LIMIT_KEY_MESSAGES", "2/60")
    monkeypatch.setenv("FRONTDOOR_LIMIT_IP_MESSAGES", "100/60")
    with started() as app:
        key, _ = keys.create_key(app.state.engine, "wx")
        client = peer(app)
        keyed = [post(client, {"Authorization": f"Bearer {key}"}, sender=f"k{i}").status_code for i in range(3)]
        assert keyed == [200, 200, 429]
        forged = {"Authorization": "Bearer fdk_0123456789abcdef_" + "0" * 64}
        assert post(client, forged, sender="r1").status_code == 429  # same address: refused before any check
        assert post(client, web_token(app)).status_code == 200  # the address's own bucket is separate


def test_trusted_proxy_header_is_honoured_only_from_trusted_networks(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_LIMIT_IP_MESSAGES", "1/600")
    monkeypatch.setenv("FRONTDOOR_TRUSTED_PROXIES", "127.0.0.0/8")
    with started() as app:
        proxy = peer(app, "127.0.0.1")
        assert post(proxy, web_token(app), **{"X-Forwarded-For": "203.0.113.5"}).status_code == 200
        assert post(proxy, web_token(app), **{"X-Forwarded-For": "203.0.113.5"}).status_code == 429
        assert post(proxy, web_token(app), **{"X-Forwarded-For": "203.0.113.6"}).status_code == 200  # another person
        stranger = peer(app, "198.51.100.9")  # not a proxy: its header is ignored
        assert post(stranger, web_token(app), **{"X-Forwarded-For": "192.0.2.1"}).status_code == 200
        assert post(stranger, web_token(app), **{"X-Forwarded-For": "192.0.2.2"}).status_code == 429


def test_sessions_page_polling_and_login_are_limited_per_address(
    app_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRONTDOOR_LIMIT_IP_REQUESTS", "2/60")
    monkeypatch.setenv("FRONTDOOR_LIMIT_IP_MESSAGES", "1/60")
    monkeypatch.setenv("FRONTDOOR_LIMIT_LOGIN", "1/60")
    with started() as app:
        client = peer(app)
        assert client.post("/api/chat/12355/session").status_code == 200
        assert client.post("/api/chat/12355/session").status_code == 429  # a session costs like a message
        assert client.get("/chat/12355").status_code == 200
        assert client.get("/api/chat/12355/updates", headers=web_token(app)).status_code == 200
        polled = client.get("/api/chat/12355/updates", headers=web_token(app))
        assert polled.status_code == 429 and "12356" in polled.json()["replies"][0]["text"]
        assert client.get("/healthz").status_code in (200, 503)  # not a public route: never limited
        first = client.post("/console/login", data={"username": "x", "password": "y"})
        assert first.status_code != 429
        assert client.post("/console/login", data={"username": "x", "password": "y"}).status_code == 429


# --- the gateway's own limits (every channel) ---------------------------------------------------
@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'gw.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


async def test_a_push_channel_s_limited_message_is_not_stored_but_the_person_hears_why(db: Engine) -> None:
    rasa = FakeRasa()
    gateway = Gateway(db, rasa.client(), decide=no_risk, rate_limiter=BucketLimiter(Rate(1, 60)))
    telegram = replace(msg("你好", "t1", user="42", desk="12355", channel="telegram"), queue_replies=True)
    await gateway.handle(telegram)
    replies = await gateway.handle(replace(telegram, text="我不想活了", message_id="t2"))
    assert replies[0].text == messages.rate_limited("12355", "zh-Hans") and "12356" in replies[0].text
    assert len(rasa.sent) == 1  # no model time
    with Session(db) as session:
        assert [r.text for r in session.scalars(select(InboundMessage))] == ["你好"]
        queued = session.scalars(select(OutboundMessage.text).order_by(OutboundMessage.id)).all()
    assert queued[-1] == replies[0].text  # queued for the Telegram chat like any reply
    await gateway.aclose()


async def test_only_client_addresses_are_capped_for_new_conversations(db: Engine) -> None:
    gateway = Gateway(db, FakeRasa().client(), decide=no_risk, new_conversations=BucketLimiter(Rate(1, 600)))
    await gateway.handle(replace(msg("你好", "a", user="a"), source="ip:192.0.2.1"))
    with pytest.raises(Limited):
        await gateway.handle(replace(msg("你好", "b", user="b"), source="ip:192.0.2.1"))
    await gateway.handle(replace(msg("你好", "c", user="c"), source="ip:192.0.2.2"))  # another address
    await gateway.handle(msg("你好", "d", user="d"))  # Telegram and terminal have no address: not capped
    with Session(db) as session:
        assert sorted(c.external_user for c in session.scalars(select(Conversation))) == ["a", "c", "d"]
    await gateway.aclose()
