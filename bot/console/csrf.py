"""CSRF tokens: every POST of the console carries one, or it is refused with 403.

Signed-in pages use a token derived from the session (HMAC of the session id with the secret key):
nothing to store, and a token from one session is worthless in another. The login form has no session
yet, so it pairs a random cookie with an HMAC of it (double submit, signed): a cross-site form can
neither read the cookie nor forge the pair.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

FIELD = "csrf_token"
HEADER = "x-csrf-token"
LOGIN_COOKIE = "fd_login_nonce"


def _mac(secret: str, purpose: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def session_token(secret: str, session_id: str) -> str:
    return _mac(secret, "csrf-session", session_id)


def valid_session_token(secret: str, session_id: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(session_token(secret, session_id), str(given))


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def login_token(secret: str, nonce: str) -> str:
    return _mac(secret, "csrf-login", nonce)


def valid_login_token(secret: str, nonce: str | None, given: str | None) -> bool:
    return bool(nonce) and bool(given) and hmac.compare_digest(login_token(secret, str(nonce)), str(given))
