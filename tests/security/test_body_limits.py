"""Request bodies are limited before and while they are read, on every route (bot/security/body_limit.py)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from bot.app import CONSOLE_MAX_BODY_BYTES, create_app
from bot.channels.telegram_runtime import MAX_UPDATE_BYTES
from bot.settings import Settings
from tests.decisions import no_risk
from tests.security.routes import concrete, post_routes
from tests.support.identity import key_headers, new_key
from tests.support.servers import ThreadedServer, serve_in_thread

API_LIMIT = 64 * 1024


@pytest.fixture
def app_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRONTDOOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FRONTDOOR_RASA_URL", "http://127.0.0.1:9")  # nothing listens: Rasa is down
    monkeypatch.setenv("FRONTDOOR_SECRET_KEY", "secret-key")
    monkeypatch.delenv("FRONTDOOR_MAX_BODY_BYTES", raising=False)


@pytest.fixture
def client(app_env: None) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(), decide=no_risk), follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def server(app_env: None) -> Iterator[ThreadedServer]:
    app = create_app(Settings(), decide=no_risk)
    running = serve_in_thread(app)
    running.app = app  # type: ignore[attr-defined]
    yield running
    running.stop(timeout=5)


def limit_of(path: str) -> int:
    if path.startswith("/telegram/"):
        return MAX_UPDATE_BYTES
    if path.startswith("/console/"):
        return CONSOLE_MAX_BODY_BYTES
    return API_LIMIT


def test_the_walk_finds_every_kind_of_public_post_route(client: TestClient) -> None:
    found = post_routes(client.app)  # type: ignore[arg-type]
    for expected in (
        "/api/chat/{desk}",
        "/telegram/{desk}",
        "/wechat/{desk}",
        "/console/login",
        "/console/staff",
    ):
        assert expected in found
    assert len(found) >= 20


def test_every_post_route_refuses_a_body_over_its_limit_with_413(client: TestClient) -> None:
    for template in post_routes(client.app):  # type: ignore[arg-type]
        path = concrete(template)
        limit = limit_of(path)
        response = client.post(path, content=b"x" * (limit + 1), headers={"content-type": "application/json"})
        assert response.status_code == 413, (path, response.status_code)
        assert f"{limit // 1024} KB" in response.json()["error"]


def test_a_body_at_the_limit_is_read(client: TestClient) -> None:
    text = "路灯坏了" * 2000  # 24 KB of UTF-8; an unknown field fills the rest up to the limit
    head = ('{"sender": "limit-1", "text": "' + text + '", "note": "').encode()
    body = head + b"x" * (API_LIMIT - len(head) - 2) + b'"}'
    assert len(body) == API_LIMIT
    assert client.post("/api/chat/12345", content=body, headers=key_headers(client)).status_code == 200


def test_a_content_length_that_is_not_a_number_is_400(server: ThreadedServer) -> None:
    status, _ = raw_request(server.port, b"POST /api/chat/12345 HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n")
    assert status in (400,)


def raw_request(port: int, head: bytes, chunks: list[bytes] = (), wait: float = 10.0) -> tuple[int, bytes]:  # type: ignore[assignment]
    """Send `head` (and `chunks`) on a raw socket; the status and what came back before `wait` seconds."""
    with socket.create_connection(("127.0.0.1", port), timeout=wait) as sock:
        sock.sendall(head)
        for chunk in chunks:
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
        received = b""
        deadline = time.monotonic() + wait
        while b"\r\n\r\n" not in received and time.monotonic() < deadline:
            try:
                part = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not part:
                break
            received += part
    return int(received.split(b" ", 2)[1]), received


def test_a_declared_length_over_the_limit_is_refused_before_a_byte_of_body_is_sent(server: ThreadedServer) -> None:
    """10 GB announced, nothing sent: the 413 comes at once (the old code read the whole body first)."""
    for path in ("/api/chat/12345", "/telegram/12345", "/wechat/12345", "/console/login"):
        started = time.monotonic()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n"
        )
        status, received = raw_request(server.port, head.encode())
        assert status == 413, (path, received[:200])
        assert time.monotonic() - started < 5


def test_a_chunked_body_is_cut_off_while_it_streams(server: ThreadedServer) -> None:
    """No length announced: the body is counted as it arrives and refused once it crosses 64 KB, while the
    client is still sending (the closing chunk is never sent here)."""
    key = new_key(server).encode()  # with a valid key: the route reads the body (without one it refuses first)
    head = (
        b"POST /api/chat/12345 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Authorization: Bearer " + key + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"x" * 16384
    chunks = [b"%x\r\n%s\r\n" % (len(piece), piece) for _ in range(6)]  # 96 KB, no terminating 0-chunk
    status, received = raw_request(server.port, head, chunks)
    assert status == 413, received[:200]
    assert b"64 KB" in received
