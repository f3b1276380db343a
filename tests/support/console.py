"""Staff actions through the real console over HTTP, for tests outside tests/console.

The legacy staff API is gone (README, Security): a staff reply now goes where staff write it, the
console's ticket page, with a login, the role and desk checks, CSRF and the audit log on the way.
Works with a starlette TestClient or an httpx.Client pointed at a running app.
"""

from __future__ import annotations

import re
import secrets

import httpx

from bot.console.accounts import StaffAccounts
from bot.db.engine import make_engine, session_factory
from bot.tickets.models import utcnow

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def agent_account(database_url: str, username: str, desks: tuple[str, ...]) -> str:
    """An agent account in the app's database (created once); returns a fresh password for it."""
    engine = make_engine(database_url)
    try:
        accounts = StaffAccounts(session_factory(engine), clock=utcnow)
        password = secrets.token_urlsafe(16)
        if accounts.get(username) is None:
            accounts.create_user(username, password, role="agent", desks=desks)
        else:
            accounts.set_password(username, password, by_admin=False)
        return password
    finally:
        engine.dispose()


def console_login(client: httpx.Client, username: str, password: str) -> None:
    page = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/console/", response.text


def staff_reply(
    client: httpx.Client,
    database_url: str,
    ticket_id: int,
    text: str,
    *,
    username: str = "duty.agent",
    desks: tuple[str, ...] = ("12345", "12355"),
) -> None:
    """Sign in as an agent of `desks` and answer the person of `ticket_id` from its ticket page."""
    console_login(client, username, agent_account(database_url, username, desks))
    page = client.get(f"/console/tickets/{ticket_id}")
    assert page.status_code == 200, page.text
    response = client.post(
        f"/console/tickets/{ticket_id}/reply",
        data={"text": text, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303 and "ok=reply" in response.headers["location"], response.text
