"""WeChat's server API for one Official Account: the shared access_token and the customer-service messages.

Why it looks like this:
- an access_token lasts 7,200 s and a plain `cgi-bin/token` fetch invalidates the one before, so
  there is one holder per account and the token lives in the database (`gw_wechat_tokens`): every
  instance reads it there, and only the one that wins a short refresh lease asks WeChat again,
  `refresh_margin` seconds before it expires. It asks `cgi-bin/stable_token` (its own, larger limits;
  without force_refresh it hands back the token still valid, so a second caller does no harm);
- when WeChat answers 40001/40014/42001 (token invalid or expired) the holder first looks whether
  another instance has already stored a newer token, and forces a refresh only if not;
- the client is async httpx (the app's event loop must never block on WeChat), and the JSON is sent
  as UTF-8 without \\u escapes (WeChat counts characters in its own limits).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from bot.gateway.models import WeChatToken, as_utc, utcnow

log = logging.getLogger(__name__)

DEFAULT_API_BASE = "https://api.weixin.qq.com"
TOKEN_INVALID = frozenset({40001, 40014, 42001})
OUTSIDE_WINDOW = 45015  # the user has not written within 48 h
OVER_COUNT = 45047  # more customer-service messages than allowed since the user's last message
TOO_LONG = 45002
SYSTEM_BUSY = -1


class WeChatError(Exception):
    """WeChat answered with a non-zero errcode (or not at all: code None)."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(f"wechat {code}: {message}")
        self.code = code
        self.message = message


class TokenStore:
    """The `gw_wechat_tokens` rows (synchronous; called in threads)."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def read(self, app_id: str) -> tuple[str | None, float]:
        """(token, seconds it is still valid); (None, 0) when there is none."""
        with self._sessions() as session:
            row = session.get(WeChatToken, app_id)
            if row is None or not row.access_token or row.expires_at is None:
                return None, 0.0
            return row.access_token, (as_utc(row.expires_at) - utcnow()).total_seconds()

    def take_lease(self, app_id: str, seconds: float) -> bool:
        """True for the one caller (of every instance) that may refresh now."""
        now = utcnow()
        with self._sessions() as session:
            if session.get(WeChatToken, app_id) is None:
                session.add(WeChatToken(app_id=app_id, refreshing_until=now + timedelta(seconds=seconds)))
                try:
                    session.commit()
                    return True
                except IntegrityError:
                    session.rollback()
            result = session.execute(
                update(WeChatToken)
                .where(
                    WeChatToken.app_id == app_id,
                    or_(WeChatToken.refreshing_until.is_(None), WeChatToken.refreshing_until < now),
                )
                .values(refreshing_until=now + timedelta(seconds=seconds))
            )
            session.commit()
            return getattr(result, "rowcount", 0) == 1

    def store(self, app_id: str, token: str | None, expires_in: float) -> None:
        """Keep the new token (None: only give the lease back)."""
        values: dict[str, Any] = {"refreshing_until": None, "updated_at": utcnow()}
        if token is not None:
            values.update(access_token=token, expires_at=utcnow() + timedelta(seconds=expires_in))
        with self._sessions() as session:
            session.execute(update(WeChatToken).where(WeChatToken.app_id == app_id).values(**values))
            session.commit()


class TokenHolder:
    """The access_token of one account, refreshed before it expires and shared through the database."""

    def __init__(
        self,
        store: TokenStore,
        app_id: str,
        secret: str,
        http: httpx.AsyncClient,
        base_url: str = DEFAULT_API_BASE,
        refresh_margin: float = 300.0,
        lease_seconds: float = 15.0,
    ) -> None:
        self.store, self.app_id, self._secret = store, app_id, secret
        self.http, self.base_url = http, base_url.rstrip("/")
        self.refresh_margin, self.lease_seconds = refresh_margin, lease_seconds
        self._lock = asyncio.Lock()  # one refresher per process; the lease makes it one per account
        self.fetches = 0  # how often this holder asked WeChat (tests and logs)
        # stable_token hands back the current token until it expires: inside the margin, ask once a minute
        self._quiet_until = 0.0

    async def get(self) -> str:
        token, left = await asyncio.to_thread(self.store.read, self.app_id)
        if token and (left > self.refresh_margin or (left > 5 and time.monotonic() < self._quiet_until)):
            return token
        async with self._lock:
            return await self._refresh(force=False, stale=None)

    async def invalid(self, used: str) -> str:
        """WeChat refused `used`: take a newer stored token if another instance has one, else force a new one."""
        async with self._lock:
            token, left = await asyncio.to_thread(self.store.read, self.app_id)
            if token and token != used and left > 0:
                return token
            return await self._refresh(force=True, stale=used)

    async def _refresh(self, force: bool, stale: str | None) -> str:
        deadline = time.monotonic() + self.lease_seconds + 5
        while True:
            token, left = await asyncio.to_thread(self.store.read, self.app_id)
            if token and token != stale and left > self.refresh_margin:
                return token  # someone refreshed while we waited
            if await asyncio.to_thread(self.store.take_lease, self.app_id, self.lease_seconds):
                # the lease may come free because another instance just stored a new token: look again
                token, left = await asyncio.to_thread(self.store.read, self.app_id)
                if token and token != stale and left > self.refresh_margin:
                    await asyncio.to_thread(self.store.store, self.app_id, None, 0.0)
                    return token
                break
            if time.monotonic() > deadline:
                raise WeChatError(None, "timed out waiting for another instance to refresh the access_token")
            await asyncio.sleep(0.1)
        fresh: str | None = None
        expires_in = 0.0
        try:
            fresh, expires_in = await self._fetch(force)
        finally:
            await asyncio.to_thread(self.store.store, self.app_id, fresh, expires_in)
        if expires_in <= self.refresh_margin:
            self._quiet_until = time.monotonic() + min(60.0, expires_in / 2)
        log.info("access_token of WeChat account %s refreshed (valid %d s)", self.app_id[:6], expires_in)
        return fresh

    async def _fetch(self, force: bool) -> tuple[str, float]:
        self.fetches += 1
        try:
            response = await self.http.post(
                f"{self.base_url}/cgi-bin/stable_token",
                json={
                    "grant_type": "client_credential",
                    "appid": self.app_id,
                    "secret": self._secret,
                    "force_refresh": force,
                },
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise WeChatError(None, f"stable_token unreachable: {type(exc).__name__}") from exc
        return token_from(body)


class WeChatApi:
    """The calls the channel makes, each with the shared token (one retry after an invalid-token answer)."""

    def __init__(self, holder: TokenHolder) -> None:
        self.holder = holder

    async def call(self, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        token = await self.holder.get()
        for attempt in (1, 2):
            try:
                response = await self.holder.http.post(
                    f"{self.holder.base_url}{path}",
                    params={"access_token": token},
                    content=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
                body = response.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise WeChatError(None, f"{path} unreachable: {type(exc).__name__}") from exc
            code = int(body.get("errcode") or 0) if isinstance(body, dict) else None
            if code in TOKEN_INVALID and attempt == 1:
                token = await self.holder.invalid(token)
                continue
            if code != 0:
                raise WeChatError(code, str(body.get("errmsg", "")) if isinstance(body, dict) else "not JSON")
            return dict(body)
        raise AssertionError("unreachable")

    async def send_text(self, open_id: str, text: str) -> None:
        """One customer-service text message (客服消息)."""
        await self.call(
            "/cgi-bin/message/custom/send", {"touser": open_id, "msgtype": "text", "text": {"content": text}}
        )

    async def create_menu(self, menu: dict[str, Any]) -> None:
        await self.call("/cgi-bin/menu/create", menu)


def token_from(body: Any) -> tuple[str, float]:
    """(access_token, seconds it lasts) from a token reply of WeChat or WeCom; WeChatError when it holds none."""
    if not isinstance(body, dict) or not body.get("access_token"):
        code = body.get("errcode") if isinstance(body, dict) else None
        raise WeChatError(code, str(body.get("errmsg", "no access_token")) if isinstance(body, dict) else "?")
    return str(body["access_token"]), float(body.get("expires_in") or 7200)
