"""Abuse limits on every public route, checked before a request reaches a handler (pure ASGI).

A limited request is answered here with 429 and Retry-After: nothing is read from its body,
nothing is stored, no model runs. Its body still carries the emergency and crisis numbers in the
desk's voice, in the shape the web chat shows ({"error", "replies": [{"text"}]}): a person in crisis
who types fast is never left with nothing.

What is counted (settings in bot/settings.py, FRONTDOOR_LIMIT_*):
- chat messages (POST /api/chat/<desk>, a new web chat session POST /api/chat/<desk>/session,
  POST /telegram/<desk>): per client address, per
  integration key when `Authorization: Bearer fdk_<key_id>_<secret>` is sent (the key is not
  verified here; keyed requests from one address share one bucket at the key's rate, so random key
  ids buy nothing), and a global bucket for everyone together;
- other public requests (chat page, polling, static files): per client address;
- WeChat's callbacks (POST /wechat/<desk>, /wechat-kf/<desk>) are not counted here: their client is
  Tencent's servers, whose few addresses carry every person who writes to the account, so a limit
  per address refused a burst of real people (429; WeChat gave up after its 3 retries and the
  messages were lost). Each is signed with the account's Token and refused (403) before anything is
  stored when it is not; each person is still limited per conversation in the gateway;
- console login posts: per client address.
New conversations per address are capped in the gateway (`Gateway.handle`), where the database
lookup that tells a new sender from a known one already happens. The client address is
bot/security/client_address.py's (X-Forwarded-For only from FRONTDOOR_TRUSTED_PROXIES). Handlers
find it, and the source limits count by, in `scope["state"]` (`CLIENT_ADDRESS`, `SOURCE`).
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from bot import language as lang
from bot.gateway import messages
from bot.security.client_address import client_address, parse_networks
from bot.settings import Settings
from bot.shared_state.factory import SharedState
from bot.shared_state.limiters import Limiter

log = logging.getLogger(__name__)

CLIENT_ADDRESS = "client_address"
SOURCE = "limit_source"
"""scope["state"] keys: the client address, and "ip:<address>" or "key:<key_id>" (who sent it)."""

_KEY = re.compile(r"^\s*Bearer\s+fdk_([A-Za-z0-9-]{1,64})_\S+\s*$", re.IGNORECASE)
_MESSAGE = re.compile(r"^/(?:api/chat/([^/]+)(?:/session)?|telegram/([^/]+))$")
_PLATFORM = re.compile(r"^/(?:wechat|wechat-kf)/([^/]+)$")
_READ = re.compile(r"^/(?:chat/([^/]+)|api/chat/([^/]+)/updates|static/.*)$")
LOGIN = "/console/login"


def integration_key_id(authorization: str | None) -> str | None:
    """`<key_id>` of `Bearer fdk_<key_id>_<secret>`, unverified (the route checks the secret)."""
    match = _KEY.match(authorization or "")
    return match.group(1) if match else None


@dataclass(frozen=True)
class Kind:
    name: str  # message | read | login | platform
    desk: str | None


def classify(method: str, path: str) -> Kind | None:
    """Which limits a request is counted against; None: not a public route (healthz, console pages).

    "platform": a WeChat callback, signed by the platform and not limited here (see the module's docstring).
    """
    if method == "POST" and (match := _PLATFORM.match(path)):
        return Kind("platform", match.group(1))
    if method == "POST" and (match := _MESSAGE.match(path)):
        return Kind("message", match.group(1) or match.group(2))
    if method == "POST" and path.rstrip("/") == LOGIN:
        return Kind("login", None)
    if method in ("GET", "HEAD") and (match := _READ.match(path)):
        return Kind("read", match.group(1) or match.group(2))
    return None


def limited_response(desk: str, language: str, retry_after: float) -> JSONResponse:
    """429 with Retry-After and the desk's numbers, as replies the web chat shows."""
    return too_many(messages.rate_limited(desk, language), retry_after)


def too_many(text: str, retry_after: float) -> JSONResponse:
    """The one shape of a 429 (here and in the REST channel): the text as `error` and as a reply."""
    seconds = max(1, math.ceil(retry_after))
    return JSONResponse(
        {"error": text, "replies": [{"text": text, "buttons": []}], "retry_after": seconds},
        status_code=429,
        headers={"Retry-After": str(seconds)},
    )


def language_of(headers: Headers) -> str:
    """English when the client's first preferred language is English; Simplified Chinese otherwise."""
    first = headers.get("accept-language", "").split(",")[0].strip().lower()
    return lang.ENGLISH if first.startswith("en") else lang.DEFAULT


class AbuseLimits:
    """The middleware; one instance per app. Its buckets are in memory (bounded by FRONTDOOR_LIMIT_MAX_KEYS),
    or in Redis shared by every app instance when `shared_state` has one (FRONTDOOR_REDIS_URL)."""

    def __init__(self, app: ASGIApp, settings: Settings, shared_state: SharedState | None = None) -> None:
        self.app = app
        self.desks = settings.desks
        self.trusted = parse_networks(",".join(settings.trusted_proxies))  # a bad CIDR stops the app here
        shared = shared_state or SharedState(None, settings.limit_max_keys)
        self.ip_messages = shared.limiter("ip_messages", settings.limit_ip_messages)
        self.key_messages = shared.limiter("key_messages", settings.limit_key_messages)
        self.keyed_ip_messages = shared.limiter("keyed_ip_messages", settings.limit_key_messages)
        self.global_messages = shared.limiter("global_messages", settings.limit_global_messages, 1)
        self.ip_requests = shared.limiter("ip_requests", settings.limit_ip_requests)
        self.login = shared.limiter("login", settings.limit_login)
        self.refused = 0

    def _buckets(self, kind: str, address: str, key_id: str | None) -> list[tuple[Limiter, str]]:
        if kind == "login":
            return [(self.login, address)]
        if kind == "read":
            return [(self.ip_requests, address)]
        per_source = (
            [(self.keyed_ip_messages, address), (self.key_messages, key_id)]
            if key_id
            else [(self.ip_messages, address)]
        )
        return [*per_source, (self.global_messages, "*")]

    async def check(self, kind: str, address: str, key_id: str | None) -> float:
        """0 when the request may pass (its tokens taken), else seconds to wait (nothing taken)."""
        taken: list[tuple[Limiter, str]] = []
        for limiter, key in self._buckets(kind, address, key_id):
            wait = await limiter.acquire(key)
            if wait > 0:
                for earlier, earlier_key in taken:
                    await earlier.release(earlier_key)
                return wait
            taken.append((limiter, key))
        return 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = classify(scope["method"], scope["path"])
        if kind is None or kind.name == "platform":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        peer = (scope.get("client") or (None, None))[0]
        address = client_address(peer, headers.getlist("x-forwarded-for"), self.trusted)
        key_id = integration_key_id(headers.get("authorization"))
        state = scope.setdefault("state", {})
        state[CLIENT_ADDRESS] = address
        state[SOURCE] = f"key:{key_id}" if key_id else f"ip:{address}"
        wait = await self.check(kind.name, address, key_id)
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        self.refused += 1
        if self.refused in (1, 10, 100) or self.refused % 1000 == 0:
            log.warning("abuse limits: %d request(s) refused so far (latest: %s)", self.refused, kind.name)
        desk = kind.desk if kind.desk in self.desks else self.desks[0]
        await limited_response(desk, language_of(headers), wait)(scope, receive, send)
