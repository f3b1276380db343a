"""The staff console as an attacker would try it (issue 18, OWASP ASVS 4.0.3 chapters 2 and 3).

Every console route needs a login, the role and the CSRF token; a half-finished login opens nothing
but its next step; password guessing is limited per account across addresses (with backoff) and per
address on distinct names, without letting a sprayer behind a shared proxy lock colleagues out; a
throttled try is no new failure; TOTP MFA end to end (enrol, confirm, code, wrong code, replay,
recovery codes, admin reset); change my password and the forced change; the cookie and HSTS.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from sqlalchemy import select
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.app import create_app
from bot.console.models import LoginAttempt
from bot.console.routes import routes
from bot.console.state import ConsoleState
from bot.console.web import HSTS, SECURE_SESSION_COOKIE, SESSION_COOKIE
from bot.settings import Settings
from tests.decisions import no_risk
from tests.security.conftest import ADMIN, AGENT, PASSWORD, SUPERVISOR
from tests.support.clock import FakeClock

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
SECRET_SHOWN = re.compile(r'<code id="mfa-secret">([A-Z2-7 ]+)</code>')
RECOVERY = re.compile(r"<li><code>([A-Z0-9-]{14})</code></li>")
SAMPLE = {
    "ticket_id": 1,
    "contact_id": 1,
    "follow_up_id": 1,
    "event_id": 1,
    "desk": "12345",
    "kind": "faq",
    "version": 1,
    "username": AGENT,
}
STAGE_PAGES = {"/console/login/mfa", "/console/account/password", "/console/account/mfa"}


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def paths(method: str) -> list[str]:
    found = set()
    for route in routes:
        if isinstance(route, Route) and route.methods and method in route.methods:
            found.add("/console" + re.sub(r"\{(\w+)(:\w+)?\}", lambda m: str(SAMPLE[m.group(1)]), route.path))
    return sorted(found - {"/console/login"})


def password_step(client: TestClient, username: str, password: str = PASSWORD) -> Any:
    page = client.get("/console/login")
    return client.post(
        "/console/login", data={"username": username, "password": password, "csrf_token": csrf_from(page.text)}
    )


def post_form(client: TestClient, path: str, **data: str) -> Any:
    page = client.get(path)
    assert page.status_code == 200, (path, page.status_code)
    return client.post(path, data={**data, "csrf_token": csrf_from(page.text)})


def code(secret: str, clock: FakeClock, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(clock.now, counter_offset=offset)


def enrol_through_the_page(client: TestClient, clock: FakeClock) -> tuple[str, list[str]]:
    """On the set-up page: read the secret, confirm with a code; returns (secret, recovery codes)."""
    page = client.get("/console/account/mfa")
    assert page.status_code == 200
    secret = SECRET_SHOWN.search(page.text).group(1).replace(" ", "")  # type: ignore[union-attr]
    assert "otpauth://totp/" in page.text and f"secret={secret}" in page.text
    done = client.post("/console/account/mfa", data={"code": code(secret, clock), "csrf_token": csrf_from(page.text)})
    assert done.status_code == 200, done.text
    codes = RECOVERY.findall(done.text)
    assert len(codes) == 10
    return secret, codes


def signed_in_with_mfa(client: TestClient, console: ConsoleState, clock: FakeClock, username: str) -> str:
    """A full session of a member whose MFA is set up (set up here on first use); returns its CSRF token."""
    member = console.accounts.get(username)
    assert member is not None
    if not member.mfa_enabled:
        secret = console.accounts.enrolment_secret(member.id)
        assert console.accounts.confirm_enrolment(member.id, code(secret, clock)) is not None
    secret = console.accounts.mfa_secret(member.id) or ""
    clock.advance(seconds=30)  # a step no earlier login has used
    client.cookies.clear()
    assert password_step(client, username).headers["location"] == "/console/login/mfa"
    done = post_form(client, "/console/login/mfa", code=code(secret, clock))
    assert done.status_code == 303 and done.headers["location"] == "/console/", done.text
    return csrf_from(client.get("/console/").text)


# --- every route: login, role, CSRF, and nothing but the next step for a half-finished login ------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_every_console_route_needs_a_login(client: TestClient, method: str) -> None:
    for path in paths(method):
        response = client.request(method, path)
        assert response.status_code == 303, (method, path)
        assert response.headers["location"].startswith("/console/login?next="), (method, path)


def test_every_post_needs_the_sessions_csrf_token(client: TestClient, console: ConsoleState, clock: FakeClock) -> None:
    signed_in_with_mfa(client, console, clock, ADMIN)
    for path in paths("POST"):
        for token in (None, "forged-token"):
            response = client.post(path, data={"csrf_token": token} if token else {})
            assert response.status_code == 403, (path, token, response.status_code)
    assert client.get("/console/staff").status_code == 200  # and the session still works


def test_the_new_pages_keep_the_roles(client: TestClient, console: ConsoleState, clock: FakeClock) -> None:
    token = signed_in_with_mfa(client, console, clock, SUPERVISOR)
    assert client.get("/console/account").status_code == 200
    refused = client.post(f"/console/staff/{AGENT}/mfa-reset", data={"csrf_token": token})
    assert refused.status_code == 403  # only admins reset someone's MFA
    refused = client.post(f"/console/staff/{AGENT}/password", data={"csrf_token": token, "password": "x" * 12})
    assert refused.status_code == 403


def test_a_half_finished_login_opens_only_its_step(client: TestClient) -> None:
    assert password_step(client, ADMIN).headers["location"] == "/console/account/mfa"  # MFA not set up yet
    for path in paths("GET"):
        response = client.get(path)
        if path == "/console/account/mfa":
            assert response.status_code == 200
        else:
            assert response.status_code == 303 and response.headers["location"] == "/console/account/mfa", path
    token = csrf_from(client.get("/console/account/mfa").text)
    for path in paths("POST"):
        if path in ("/console/account/mfa", "/console/logout"):
            continue
        response = client.post(path, data={"csrf_token": token, "text": "x", "password": "y" * 12})
        assert response.status_code == 303 and response.headers["location"] == "/console/account/mfa", path


def test_a_half_finished_login_expires_after_ten_minutes(client: TestClient, clock: FakeClock) -> None:
    password_step(client, ADMIN)
    clock.advance(minutes=11)
    response = client.get("/console/account/mfa")
    assert response.status_code == 303 and "why=unfinished" in response.headers["location"]
    assert "10分钟未完成" in client.get(response.headers["location"]).text


# --- MFA, end to end -----------------------------------------------------------------------------


def test_mfa_enrol_confirm_login_wrong_code_replay_and_recovery(
    client: TestClient, console: ConsoleState, clock: FakeClock
) -> None:
    # 1. the password alone does not open the console of an admin: set up MFA first
    first = password_step(client, ADMIN)
    assert first.status_code == 303 and first.headers["location"] == "/console/account/mfa"
    page = client.get("/console/account/mfa")
    wrong = client.post("/console/account/mfa", data={"code": "000000", "csrf_token": csrf_from(page.text)})
    assert wrong.status_code == 400 and "验证码不正确" in wrong.text
    member = console.accounts.get(ADMIN)
    assert member is not None and not member.mfa_enabled  # not on before a code confirms it
    secret, recovery = enrol_through_the_page(client, clock)
    assert client.get("/console/staff").status_code == 200  # the recovery-code page started a full session
    assert console.accounts.recovery_codes_left(member.id) == 10
    enrolment_code = code(secret, clock)

    # 2. the next login asks for the code after the password
    client.post("/console/logout", data={"csrf_token": csrf_from(client.get("/console/").text)})
    assert password_step(client, ADMIN).headers["location"] == "/console/login/mfa"
    assert client.get("/console/").headers["location"] == "/console/login/mfa"
    refused = post_form(client, "/console/login/mfa", code="123456")
    assert refused.status_code == 401 and "验证码不正确" in refused.text
    replay = post_form(client, "/console/login/mfa", code=enrolment_code)  # the step the set-up used
    assert replay.status_code == 401
    clock.advance(seconds=30)
    fresh = code(secret, clock)
    ok = post_form(client, "/console/login/mfa", code=fresh)
    assert ok.status_code == 303 and ok.headers["location"] == "/console/"
    assert client.get("/console/audit").status_code == 200

    # 3. the same code again, in its window, from another browser: refused
    with TestClient(client.app, follow_redirects=False) as thief:
        assert password_step(thief, ADMIN).headers["location"] == "/console/login/mfa"
        assert post_form(thief, "/console/login/mfa", code=fresh).status_code == 401
        # 4. a recovery code works once
        used = post_form(thief, "/console/login/mfa", code=recovery[0].lower().replace("-", " "))
        assert used.status_code == 303 and used.headers["location"] == "/console/"
        assert console.accounts.recovery_codes_left(member.id) == 9
        thief.post("/console/logout", data={"csrf_token": csrf_from(thief.get("/console/").text)})
        password_step(thief, ADMIN)
        assert post_form(thief, "/console/login/mfa", code=recovery[0]).status_code == 401
    actions = [e.action for e in console.store.staff_audit_log()]
    assert "mfa_enabled" in actions and "mfa_recovery_code_used" in actions


def test_wrong_codes_count_as_failed_logins_of_the_account(
    client: TestClient, console: ConsoleState, clock: FakeClock
) -> None:
    signed_in_with_mfa(client, console, clock, SUPERVISOR)
    client.cookies.clear()
    password_step(client, SUPERVISOR)
    for guess in ("111111", "222222", "333333", "444444", "555555"):
        assert post_form(client, "/console/login/mfa", code=guess).status_code == 401
    secret = console.accounts.mfa_secret(console.accounts.get(SUPERVISOR).id)  # type: ignore[union-attr]
    clock.advance(seconds=30)
    throttled = post_form(client, "/console/login/mfa", code=code(secret or "", clock))
    assert throttled.status_code == 429 and "请在 1 分钟后再试" in throttled.text


def test_an_admin_resets_a_lost_phone(
    client_from: Callable[..., TestClient], console: ConsoleState, clock: FakeClock
) -> None:
    supervisor, admin = client_from("10.0.0.2"), client_from("10.0.0.3")
    signed_in_with_mfa(supervisor, console, clock, SUPERVISOR)
    token = signed_in_with_mfa(admin, console, clock, ADMIN)
    assert admin.post(f"/console/staff/{SUPERVISOR}/mfa-reset", data={"csrf_token": token}).status_code == 303
    assert supervisor.get("/console/").status_code == 303  # the sessions ended
    member = console.accounts.get(SUPERVISOR)
    assert member is not None and not member.mfa_enabled and console.accounts.recovery_codes_left(member.id) == 0
    assert password_step(supervisor, SUPERVISOR).headers["location"] == "/console/account/mfa"  # set up again
    assert any(e.action == "staff_mfa_reset" for e in console.store.staff_audit_log())


def test_mfa_is_optional_for_agents_and_can_be_switched_off(
    client: TestClient, make_console: Callable[..., ConsoleState], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert password_step(client, AGENT).headers["location"] == "/console/"  # agents: their choice
    monkeypatch.setenv("FRONTDOOR_CONSOLE_REQUIRE_MFA", "0")
    relaxed = make_console()
    assert not relaxed.settings.console_require_mfa


# --- the limits ----------------------------------------------------------------------------------


def test_one_account_guessed_from_many_addresses_waits_with_backoff(
    client_from: Callable[..., TestClient], clock: FakeClock
) -> None:
    for i in range(5):
        assert password_step(client_from(f"203.0.113.{i}"), AGENT, "guess-guess-guess").status_code == 401
    blocked = password_step(client_from("198.51.100.7"), AGENT)  # a new address, the right password
    assert blocked.status_code == 429 and 0 < int(blocked.headers["Retry-After"]) <= 61
    assert "请在 1 分钟后再试" in blocked.text
    clock.advance(seconds=62)
    assert password_step(client_from("203.0.113.50"), AGENT, "guess-again-guess").status_code == 401
    longer = password_step(client_from("203.0.113.51"), AGENT)
    assert longer.status_code == 429 and "请在 2 分钟后再试" in longer.text  # the wait doubled
    clock.advance(minutes=2, seconds=2)
    assert password_step(client_from("198.51.100.7"), AGENT).status_code == 303


def test_throttled_tries_are_not_counted_as_failures(
    client: TestClient, console: ConsoleState, clock: FakeClock
) -> None:
    for _ in range(5):
        password_step(client, AGENT, "guess-guess-guess")
    for _ in range(20):  # an impatient person keeps pressing the button during the wait
        response = password_step(client, AGENT, "guess-guess-guess")
        assert response.status_code == 429 and int(response.headers["Retry-After"]) <= 61
    clock.advance(seconds=62)
    assert password_step(client, AGENT).status_code == 303  # one minute, not 2**20
    with console.sessions() as session:
        rows = list(session.scalars(select(LoginAttempt).where(LoginAttempt.username == AGENT)))
    assert sum(r.throttled for r in rows) == 20 and sum(not r.success and not r.throttled for r in rows) == 5


def test_a_sprayer_behind_the_shared_proxy_cannot_lock_colleagues_out(
    client_from: Callable[..., TestClient], console: ConsoleState, clock: FakeClock
) -> None:
    proxy = "10.8.0.1"  # every browser of the hotline's office comes through it
    assert password_step(client_from(proxy), AGENT).status_code == 303  # an agent signed in this morning
    clock.advance(minutes=5)
    for i in range(10):  # MAX_ACCOUNTS_PER_IP different names fail
        assert password_step(client_from(proxy), f"guess{i}", "spring2026!").status_code == 401
    sprayed = password_step(client_from(proxy), "guess10", "spring2026!")
    assert sprayed.status_code == 429 and "分钟后再试" in sprayed.text
    assert password_step(client_from(proxy), SUPERVISOR).status_code == 429  # never signed in from here
    assert password_step(client_from(proxy), AGENT).status_code == 303  # a known colleague still can
    assert password_step(client_from("10.8.0.2"), SUPERVISOR).status_code == 303  # another address is free
    clock.advance(minutes=16)
    assert password_step(client_from(proxy), "guess10", "spring2026!").status_code == 401  # the window passed


def test_an_admin_password_reset_unlocks_the_account(
    client_from: Callable[..., TestClient], console: ConsoleState, clock: FakeClock
) -> None:
    for i in range(6):
        password_step(client_from(f"203.0.113.{i}"), AGENT, "guess-guess-guess")
    assert password_step(client_from("10.0.0.9"), AGENT).status_code == 429
    clock.advance(seconds=1)
    console.accounts.set_password(AGENT, "reset-by-the-admin")
    assert password_step(client_from("10.0.0.9"), AGENT, "reset-by-the-admin").status_code == 303


# --- passwords -----------------------------------------------------------------------------------


def test_change_my_password(client_from: Callable[..., TestClient], console: ConsoleState) -> None:
    browser, phone = client_from("10.0.0.4"), client_from("10.0.0.5")
    assert password_step(browser, AGENT).status_code == 303
    assert password_step(phone, AGENT).status_code == 303
    form = browser.get("/console/account/password")
    assert form.status_code == 200 and "当前密码" in form.text
    token = csrf_from(form.text)

    def change(current: str, new: str, again: str | None = None) -> Any:
        data = {"current_password": current, "new_password": new, "new_password_again": again or new}
        return browser.post("/console/account/password", data={**data, "csrf_token": token})

    assert "当前密码不正确" in change("not-my-password", "a-new-password-1").text
    assert "不一致" in change(PASSWORD, "a-new-password-1", "a-new-password-2").text
    assert "不能与当前密码相同" in change(PASSWORD, PASSWORD).text
    assert "至少需要10个字符" in change(PASSWORD, "short").text
    done = change(PASSWORD, "a-new-password-1")
    assert done.status_code == 303 and done.headers["location"] == "/console/account?ok=password_changed"
    assert browser.get("/console/account?ok=password_changed").status_code == 200  # this browser stays in
    assert phone.get("/console/").status_code == 303  # the other session ended
    assert password_step(phone, AGENT).status_code == 401
    assert password_step(phone, AGENT, "a-new-password-1").status_code == 303
    assert any(e.action == "password_changed" for e in console.store.staff_audit_log())


def test_a_password_set_by_an_admin_is_changed_at_first_login(
    client_from: Callable[..., TestClient], console: ConsoleState, clock: FakeClock
) -> None:
    admin, newcomer = client_from("10.0.0.6"), client_from("10.0.0.7")
    token = signed_in_with_mfa(admin, console, clock, ADMIN)
    created = admin.post(
        "/console/staff",
        data={
            "csrf_token": token,
            "username": "sun.new",
            "role": "agent",
            "desks": ["12345"],
            "password": "given-by-admin",
        },
    )
    assert created.status_code == 303
    first = password_step(newcomer, "sun.new", "given-by-admin")
    assert first.headers["location"] == "/console/account/password"
    assert newcomer.get("/console/").headers["location"] == "/console/account/password"
    form = newcomer.get("/console/account/password")
    assert "管理员设置" in form.text
    data = {
        "current_password": "given-by-admin",
        "new_password": "only-sun-knows",
        "new_password_again": "only-sun-knows",
    }
    done = newcomer.post("/console/account/password", data={**data, "csrf_token": csrf_from(form.text)})
    assert done.status_code == 303 and done.headers["location"] == "/console/"
    assert newcomer.get("/console/").status_code == 200
    # an admin reset asks again
    reset = admin.post("/console/staff/sun.new/password", data={"csrf_token": token, "password": "reset-by-admin"})
    assert reset.status_code == 303 and newcomer.get("/console/").status_code == 303
    assert password_step(newcomer, "sun.new", "reset-by-admin").headers["location"] == "/console/account/password"


def test_a_supervisor_changes_the_password_then_sets_up_mfa(
    client: TestClient, console: ConsoleState, clock: FakeClock
) -> None:
    console.accounts.set_password(SUPERVISOR, "given-by-admin")  # as an admin reset does
    assert password_step(client, SUPERVISOR, "given-by-admin").headers["location"] == "/console/account/password"
    changed = post_form(
        client,
        "/console/account/password",
        current_password="given-by-admin",
        new_password="my-own-password",
        new_password_again="my-own-password",
    )
    assert changed.headers["location"] == "/console/account/mfa"  # the next step owed
    enrol_through_the_page(client, clock)
    assert client.get("/console/analytics").status_code == 200


# --- cookie and HSTS -----------------------------------------------------------------------------


def session_cookie(response: Any) -> str:
    cookies = [h for h in response.headers.get_list("set-cookie") if "fd_session=" in h]
    assert len(cookies) == 1, cookies
    return cookies[0]


def test_on_localhost_the_cookie_is_plain_and_there_is_no_hsts(client: TestClient) -> None:
    response = password_step(client, AGENT)
    cookie = session_cookie(response)
    assert cookie.startswith(SESSION_COOKIE + "=") and "Secure" not in cookie and "Path=/;" in cookie
    assert "strict-transport-security" not in response.headers


def test_outside_localhost_the_cookie_is_host_prefixed_and_hsts_is_sent(
    make_console: Callable[..., ConsoleState], monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    monkeypatch.setenv("FRONTDOOR_HOST", "0.0.0.0")
    console = make_console()
    assert console.settings.cookie_secure
    app = create_app(console.settings, decide=no_risk)
    app.state.console = console
    with TestClient(app, base_url="https://frontdoor.example.org", follow_redirects=False) as browser:
        login_page = browser.get("/console/login")
        assert login_page.headers["strict-transport-security"] == HSTS
        nonce = next(h for h in login_page.headers.get_list("set-cookie") if h.startswith("fd_login_nonce="))
        assert "Secure" in nonce
        response = password_step(browser, AGENT)
        cookie = session_cookie(response)
        assert cookie.startswith(SECURE_SESSION_COOKIE + "=")
        flags = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
        assert {"secure", "httponly", "path", "samesite"} <= flags and "domain" not in flags
        assert "Path=/;" in cookie
        assert response.headers["strict-transport-security"] == HSTS  # on redirects too
        queue = browser.get("/console/")
        assert queue.status_code == 200 and queue.headers["strict-transport-security"] == HSTS
        assert browser.get("/console/static/console.css").headers["strict-transport-security"] == HSTS
        assert "strict-transport-security" not in browser.get("/healthz").headers  # console only
        out = browser.post("/console/logout", data={"csrf_token": csrf_from(queue.text)})
        assert SECURE_SESSION_COOKIE in out.headers["set-cookie"] and "Max-Age=0" in out.headers["set-cookie"]


@pytest.mark.usefixtures("environment")
def test_the_cookie_setting_overrides_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    assert not Settings().cookie_secure  # FRONTDOOR_HOST defaults to 127.0.0.1
    for host in ("localhost", "::1", "[::1]"):
        monkeypatch.setenv("FRONTDOOR_HOST", host)
        assert not Settings().cookie_secure, host
    monkeypatch.setenv("FRONTDOOR_HOST", "0.0.0.0")
    assert Settings().cookie_secure
    monkeypatch.setenv("FRONTDOOR_COOKIE_SECURE", "0")  # e.g. a trial on a private network over http
    assert not Settings().cookie_secure
    monkeypatch.setenv("FRONTDOOR_HOST", "localhost")
    monkeypatch.setenv("FRONTDOOR_COOKIE_SECURE", "1")  # e.g. behind a local https proxy
    assert Settings().cookie_secure
    monkeypatch.setenv("FRONTDOOR_COOKIE_SECURE", "maybe")
    with pytest.raises(ValueError, match="FRONTDOOR_COOKIE_SECURE must be 1 or 0"):
        Settings()


def test_the_legacy_staff_api_is_gone(client: TestClient) -> None:
    for action in ("reply", "handoff"):
        response = client.post(
            f"/api/staff/conversations/12345:web:someone/{action}",
            json={"text": "hi", "to": "staff"},
            headers={"Authorization": "Bearer x", "X-Staff-User": "admin"},
        )
        assert response.status_code == 404


def test_the_first_admin_from_make_admin_sets_up_mfa_at_the_first_login(
    client: TestClient, console: ConsoleState, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.console import __main__ as cli

    monkeypatch.setenv("FRONTDOOR_ADMIN_PASSWORD", "the-first-admins-password")
    assert (
        cli.main(["--url", console.settings.database_url, "create-admin", "--username", "chief", "--desk", "12345"])
        == 0
    )
    first = password_step(client, "chief", "the-first-admins-password")
    assert first.headers["location"] == "/console/account/mfa"  # chose the password: no forced change
    enrol_through_the_page(client, clock)
    assert client.get("/console/staff").status_code == 200


def test_changing_the_second_factor_from_a_session_asks_for_the_password(
    client: TestClient, console: ConsoleState, clock: FakeClock
) -> None:
    """A stolen session alone can neither set up an agent's MFA (locking them out) nor read new codes."""
    assert password_step(client, AGENT).headers["location"] == "/console/"
    page = client.get("/console/account/mfa")
    secret = SECRET_SHOWN.search(page.text).group(1).replace(" ", "")  # type: ignore[union-attr]
    data = {"code": code(secret, clock), "csrf_token": csrf_from(page.text)}
    refused = client.post("/console/account/mfa", data={**data, "password": "not-the-password"})
    assert refused.status_code == 400 and "当前密码不正确" in refused.text
    assert not console.accounts.get(AGENT).mfa_enabled  # type: ignore[union-attr]
    done = client.post("/console/account/mfa", data={**data, "password": PASSWORD})
    assert done.status_code == 200 and len(RECOVERY.findall(done.text)) == 10
    token = csrf_from(client.get("/console/account").text)
    wrong = client.post("/console/account/mfa/recovery-codes", data={"csrf_token": token, "password": "nope-nope"})
    assert wrong.status_code == 400 and not RECOVERY.findall(wrong.text)
    renewed = client.post("/console/account/mfa/recovery-codes", data={"csrf_token": token, "password": PASSWORD})
    assert renewed.status_code == 200 and len(RECOVERY.findall(renewed.text)) == 10
    for _ in range(3):  # wrong passwords here count as failed logins of the account
        client.post("/console/account/mfa/recovery-codes", data={"csrf_token": token, "password": "nope-nope"})
    throttled = client.post("/console/account/mfa/recovery-codes", data={"csrf_token": token, "password": PASSWORD})
    assert throttled.status_code == 429 and "分钟后再试" in throttled.text
