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
