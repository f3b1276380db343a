"""Credentials for tests that talk to /api/chat: an integration key, a web chat token.

headers = key_headers(client)                      # Authorization: Bearer fdk_... (key "test", all desks)
headers, sender = web_session(client, "12345")     # X-Chat-Token of a new web conversation
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.channels import keys


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def new_key(client: Any, name: str = "test", desks: Sequence[str] = ()) -> str:
    """A new key in the database of a started app (a TestClient inside its `with`)."""
    key, _ = keys.create_key(client.app.state.engine, name, desks)
    return key


def key_headers(client: Any, name: str = "test", desks: Sequence[str] = ()) -> dict[str, str]:
    """Headers of a new integration key (its conversations are "<desk>:rest:<name>:<sender>")."""
    return bearer(new_key(client, name, desks))


def web_session(client: Any, desk: str = "12345", base: str = "") -> tuple[dict[str, str], str]:
    """(headers with a new web chat token, its sender): the conversation is "<desk>:web:<sender>".

    `client` is a TestClient or an httpx.Client; `base` prefixes the URL for the latter.
    """
    response = client.post(f"{base}/api/chat/{desk}/session")
    assert response.status_code == 200, response.text
    body = response.json()
    return {"X-Chat-Token": body["token"]}, body["sender"]
