"""Helpers shared by the console tests (fixtures live in conftest.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from starlette.testclient import TestClient

PASSWORD = "correct-horse-battery"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Staff:
    agent: str = "li.agent"  # 12345
    agent2: str = "chen.agent"  # 12345
    supervisor: str = "wang.sup"  # 12345
    admin: str = "root.admin"  # both desks
    youth_agent: str = "zhao.youth"  # 12355 only


def csrf_from(html: str) -> str:
    match = CSRF_INPUT.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign in through the real form; returns the session's CSRF token (from the queue page)."""
    client.cookies.clear()
    page = client.get("/console/login")
    response = client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": csrf_from(page.text), "next": "/console/"},
    )
    assert response.status_code == 303, response.text
    queue = client.get("/console/")
    assert queue.status_code == 200
    return csrf_from(queue.text)


def first_login(client: TestClient, username: str, given: str, own: str) -> str:
    """Sign in with a password an admin set: the console opens only after the member chose their own.

    Returns the CSRF token of the full session that follows.
    """
    client.cookies.clear()
    page = client.get("/console/login")
    response = client.post(
        "/console/login", data={"username": username, "password": given, "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 303 and response.headers["location"] == "/console/account/password"
    blocked = client.get("/console/")
    assert blocked.status_code == 303 and blocked.headers["location"] == "/console/account/password"
    form = client.get("/console/account/password")
    assert form.status_code == 200 and "管理员设置" in form.text
    data = {"current_password": given, "new_password": own, "new_password_again": own}
    changed = client.post("/console/account/password", data={**data, "csrf_token": csrf_from(form.text)})
    assert changed.status_code == 303 and changed.headers["location"] == "/console/", changed.text
    queue = client.get("/console/")
    assert queue.status_code == 200
    return csrf_from(queue.text)
