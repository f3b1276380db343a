"""Access to the console: login, rate limit, sessions, idle timeout, CSRF on every POST, roles."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

import pytest
from console_support import PASSWORD, Staff, csrf_from, login
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.console import __main__ as cli
from bot.console.routes import routes
from bot.console.state import ConsoleState
from bot.console.web import SECURE_SESSION_COOKIE, SESSION_COOKIE
from bot.tickets.models import Ticket
from tests.support.clock import FakeClock

SAMPLE = {
    "ticket_id": 1,
    "contact_id": 1,
    "follow_up_id": 1,
    "event_id": 1,
    "desk": "12345",
    "kind": "faq",
    "version": 1,
    "username": "li.agent",
}
PUBLIC = {"/console/login"}


def _path(route: Route) -> str:
    return "/console" + re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(SAMPLE[m.group(1)]), route.path)


def _routes(method: str) -> list[str]:
    return sorted({_path(r) for r in routes if isinstance(r, Route) and r.methods and method in r.methods} - PUBLIC)


@pytest.mark.parametrize("path", _routes("GET"))
def test_every_page_needs_a_login(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/login?next=")


def test_login_sets_a_signed_httponly_samesite_cookie(client: TestClient, staff: Staff) -> None:
    page = client.get("/console/login")
    response = client.post(
        "/console/login", data={"username": staff.agent, "password": PASSWORD, "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 303 and response.headers["location"] == "/console/"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/;" in cookie
    assert "Secure" not in cookie  # FRONTDOOR_HOST is 127.0.0.1 here; see the secure-cookie test
    assert "." in cookie.split(";")[0]  # itsdangerous signature


def test_the_cookie_is_secure_over_https(app: Any, staff: Staff, console: ConsoleState) -> None:
    console.settings = dataclasses.replace(console.settings, cookie_secure=True)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as secure_client:
        page = secure_client.get("/console/login")
        response = secure_client.post(
            "/console/login",
            data={"username": staff.agent, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
        )
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith(SECURE_SESSION_COOKIE + "="))
    assert "Secure" in cookie and "Path=/;" in cookie and "Domain" not in cookie


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(client: TestClient, staff: Staff) -> None:
    answers = []
    for username, password in ((staff.agent, "wrong-password!"), ("nobody", "wrong-password!")):
        page = client.get("/console/login")
        response = client.post(
            "/console/login", data={"username": username, "password": password, "csrf_token": csrf_from(page.text)}
        )
        answers.append((response.status_code, "用户名或密码不正确" in response.text))
    assert answers == [(401, True), (401, True)]


def test_login_without_its_csrf_token_is_refused(client: TestClient, staff: Staff) -> None:
    client.get("/console/login")
    response = client.post("/console/login", data={"username": staff.agent, "password": PASSWORD})
    assert response.status_code == 403
    response = client.post(
        "/console/login", data={"username": staff.agent, "password": PASSWORD, "csrf_token": "forged"}
    )
    assert response.status_code == 403


def _attempt(client: TestClient, username: str, password: str) -> Any:
    page = client.get("/console/login")
    return client.post(
        "/console/login", data={"username": username, "password": password, "csrf_token": csrf_from(page.text)}
    )


def test_login_rate_limit_per_username_and_ip(client: TestClient, staff: Staff, clock: FakeClock) -> None:
    for _ in range(5):
        assert _attempt(client, staff.agent, "guess-guess-guess").status_code == 401
    blocked = _attempt(client, staff.agent, PASSWORD)  # even the right password waits now
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0 and "分钟后再试" in blocked.text
    assert _attempt(client, staff.agent2, PASSWORD).status_code == 303  # another account is not locked
    clock.advance(minutes=16)
    assert _attempt(client, staff.agent, PASSWORD).status_code == 303


def test_login_rate_limit_per_ip_across_usernames(client: TestClient, staff: Staff) -> None:
    for i in range(30):
        _attempt(client, f"spray{i}", "guess-guess-guess")
    assert _attempt(client, staff.agent, PASSWORD).status_code == 429


def test_idle_timeout_logs_out_after_30_minutes(client: TestClient, staff: Staff, clock: FakeClock) -> None:
    login(client, staff.agent)
    clock.advance(minutes=20)
    assert client.get("/console/").status_code == 200  # activity keeps the session alive
    clock.advance(minutes=20)
    assert client.get("/console/").status_code == 200
    clock.advance(minutes=31)
    response = client.get("/console/")
    assert response.status_code == 303 and "why=idle" in response.headers["location"]
    assert "30分钟未操作" in client.get(response.headers["location"]).text


def test_sessions_end_after_12_hours_even_when_active(client: TestClient, staff: Staff, clock: FakeClock) -> None:
    login(client, staff.agent)
    for _ in range(25):
        clock.advance(minutes=29)
        response = client.get("/console/")
    assert response.status_code == 303 and "why=expired" in response.headers["location"]


def test_logout_ends_the_session_on_the_server(client: TestClient, staff: Staff) -> None:
    token = login(client, staff.agent)
    stolen = client.cookies.get(SESSION_COOKIE)
    assert client.post("/console/logout", data={"csrf_token": token}).status_code == 303
    client.cookies.set(SESSION_COOKIE, stolen or "", path="/")
    assert client.get("/console/").status_code == 303


def test_a_tampered_cookie_is_no_session(client: TestClient, staff: Staff) -> None:
    login(client, staff.agent)
    value = client.cookies.get(SESSION_COOKIE) or ""
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"), path="/")
    assert client.get("/console/").status_code == 303


def _fill(path: str, ticket: Ticket) -> str:
    return path.replace("/tickets/1", f"/tickets/{ticket.id}")


@pytest.mark.parametrize("path", _routes("POST"))
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_every_post_without_a_valid_csrf_token_is_403(
    client: TestClient,
    staff: Staff,
    new_ticket: Callable[..., Ticket],
    console: ConsoleState,
    path: str,
    token: str | None,
) -> None:
    ticket = new_ticket()
    login(client, staff.admin)
    events_before = len(console.store.events(ticket.id))
    data = {"text": "x" * 10, "reason": "because of a test", "status": "in_progress", "content": "desk: x"}
    if token:
        data["csrf_token"] = token
    response = client.post(_fill(path, ticket), data=data)
    assert response.status_code == 403
    assert len(console.store.events(ticket.id)) == events_before


def test_a_csrf_token_of_another_session_is_refused(
    client: TestClient, staff: Staff, new_ticket: Callable[..., Ticket]
) -> None:
    ticket = new_ticket()
    other_token = login(client, staff.agent2)
    login(client, staff.agent)
    response = client.post(f"/console/tickets/{ticket.id}/note", data={"text": "hi", "csrf_token": other_token})
    assert response.status_code == 403


CONSOLE_PAGES = (
    "/console/",
    "/console/analytics",
    "/console/topics",
    "/console/catalogue",
    "/console/staff",
    "/console/audit",
)


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("agent", {"/console/"}),
        ("supervisor", {"/console/", "/console/analytics", "/console/topics", "/console/catalogue"}),
        ("admin", set(CONSOLE_PAGES)),
    ],
)
def test_what_each_role_may_open(client: TestClient, staff: Staff, role: str, allowed: set[str]) -> None:
    login(client, {"agent": staff.agent, "supervisor": staff.supervisor, "admin": staff.admin}[role])
    for page in CONSOLE_PAGES:
        status = client.get(page).status_code
        assert status == (200 if page in allowed else 403), (role, page, status)


def test_the_navigation_shows_only_what_the_role_may_open(client: TestClient, staff: Staff) -> None:
    login(client, staff.agent)
    page = client.get("/console/").text
    assert "/console/analytics" not in page and "/console/staff" not in page


def test_next_is_never_an_open_redirect(client: TestClient, staff: Staff) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/console/../x", "/elsewhere"):
        page = client.get("/console/login")
        response = client.post(
            "/console/login",
            data={"username": staff.agent, "password": PASSWORD, "csrf_token": csrf_from(page.text), "next": target},
        )
        location = response.headers["location"]
        assert location.startswith("/console/") and "evil" not in location


def test_security_headers_on_console_pages(client: TestClient, staff: Staff) -> None:
    login(client, staff.agent)
    headers = client.get("/console/").headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["cache-control"] == "no-store" and headers["x-frame-options"] == "DENY"


def test_disabling_an_account_ends_its_session(client: TestClient, staff: Staff, console: ConsoleState) -> None:
    login(client, staff.agent)
    console.accounts.update_user(staff.agent, active=False)
    assert client.get("/console/").status_code == 303
    assert _attempt(client, staff.agent, PASSWORD).status_code == 401


def test_without_a_secret_key_the_console_says_what_to_set(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FRONTDOOR_SECRET_KEY")
    response = client.get("/console/login")
    assert response.status_code == 503 and "FRONTDOOR_SECRET_KEY" in response.text


def test_create_admin_command(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'admin.db'}"
    monkeypatch.setenv("FRONTDOOR_ADMIN_PASSWORD", "a-long-admin-password")
    assert cli.main(["--url", url, "create-admin", "--username", "Chief", "--desk", "12345", "--desk", "12355"]) == 0
    out = capsys.readouterr().out
    assert "chief" in out and "a-long-admin-password" not in out
    assert cli.main(["--url", url, "create-admin", "--username", "chief", "--desk", "12345"]) == 1  # exists
    monkeypatch.setenv("FRONTDOOR_ADMIN_PASSWORD", "short")
    assert cli.main(["--url", url, "create-admin", "--username", "other", "--desk", "12345"]) == 1
    from bot.console.accounts import StaffAccounts
    from bot.db.engine import make_engine, session_factory
    from bot.tickets.models import utcnow

    engine = make_engine(url)
    try:
        chief = StaffAccounts(session_factory(engine), clock=utcnow).get("chief")
    finally:
        engine.dispose()
    assert chief is not None and chief.role == "admin" and chief.desks == ("12345", "12355")


def test_create_admin_refuses_to_guess_a_password_without_a_terminal(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FRONTDOOR_ADMIN_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(SystemExit, match="FRONTDOOR_ADMIN_PASSWORD"):
        cli.main(["--url", f"sqlite:///{tmp_path / 'a.db'}", "create-admin", "--username", "x1", "--desk", "12345"])
