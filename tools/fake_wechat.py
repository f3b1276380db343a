"""A local fake of WeChat (Official Account) and WeCom (微信客服): tests, and trying it without an account.

Both halves of WeChat, over real HTTP on 127.0.0.1:
- **the platform calling us**: `deliver()` signs (and in safe mode encrypts) a callback like WeChat,
  waits `timeout` (5 s) for the answer and retries up to `retries` (3) times with the same message;
  it decrypts and reads the passive reply;
- **the API we call**: `cgi-bin/token` (each fetch invalidates the previous token), `cgi-bin/stable_token`
  (the same token until it expires, unless force_refresh), `cgi-bin/message/custom/send` (40001
  invalid token, 45015 more than 48 h after the user's last message, 45047 over 5 messages since it,
  45002 over 2,048 bytes) and `cgi-bin/menu/create`; everything sent is recorded in `sent`.
- **WeCom's 微信客服**: `kf_send()` adds the person's message to the account's stream and posts the
  encrypted, signed `kf_msg_or_event` callback (receive id = the corp id, a 10-minute Token) with
  the same 5 s / 3 retries; `cgi-bin/gettoken` (the same token while valid; 40013 bad corp id,
  40001 bad secret), `cgi-bin/kf/sync_msg` (by cursor; 95007 unknown or expired Token, 95000 wrong
  open_kfid, 40014/42001 token) and `cgi-bin/kf/send_msg` (95002 over 48 h, 95001 over 5 messages,
  95018 while a servicer holds the session, 40096 unknown user, 45002 over 2,048 bytes); accepted
  messages are in `kf_sent`.

Run it by hand (prints the app settings to use, then a prompt that sends what you type):
    python -m tools.fake_wechat --app http://127.0.0.1:8000/wechat/12345 --port 8900 [--plain]
"""

from __future__ import annotations

import argparse
import itertools
import json
import secrets
import string
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.channels.wechat_crypto import MessageCrypto, parse_xml, render_xml, signature

TEXT_LIMIT = 2048
WINDOW_SECONDS = 48 * 3600
WINDOW_MESSAGES = 5
ACCOUNT_ID = "gh_fakeaccount01"
MSGTOKEN_SECONDS = 600  # a kf_msg_or_event Token is valid for 10 minutes


def random_aes_key() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(43))


@dataclass
class Attempt:
    status: int | None  # None: WeChat gave up waiting (timeout) or could not connect
    seconds: float
    body: str = ""


@dataclass
class Delivery:
    """One message as WeChat delivered it: every attempt, and the passive reply WeChat accepted."""

    msg_id: str
    attempts: list[Attempt] = field(default_factory=list)
    reply: dict[str, str] | None = None  # the decrypted passive reply's fields (None: "success" or nothing)

    @property
    def text(self) -> str | None:
        return None if self.reply is None else self.reply.get("Content")


@dataclass
class FakeWeChat:
    callback_url: str = ""  # the app's /wechat/<desk>
    app_id: str = "wxfake00000000001"
    secret: str = "fake-app-secret"
    token: str = "fake-token"
    aes_key: str | None = None  # set: safe mode (encrypt_type=aes)
    reply_key: str | None = None  # the key replies are read with, when it differs (a rotation under way)
    timeout: float = 5.0
    retries: int = 3
    token_seconds: int = 7200
    sent: list[dict[str, Any]] = field(default_factory=list)  # accepted customer-service messages
    refused: list[dict[str, Any]] = field(default_factory=list)  # (errcode, payload) of refused sends
    menus: list[dict[str, Any]] = field(default_factory=list)
    token_fetches: int = 0
    port: int = 0
    _valid: dict[str, float] = field(default_factory=dict)  # access_token -> expiry (epoch seconds)
    _stable: str | None = None
    _users: dict[str, dict[str, float]] = field(default_factory=dict)  # openid -> last message, count
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(10_000_000_000_000_000))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # WeCom 微信客服
    kf_callback_url: str = ""  # the app's /wechat-kf/<desk>
    corp_id: str = "wwfakecorp0000001"
    kf_secret: str = "fake-kf-secret"
    kf_token: str = "fakekftoken"
    kf_aes_key: str = field(default_factory=lambda: random_aes_key())
    open_kfid: str = "wkfakekf000000001"
    kf_stream: list[dict[str, Any]] = field(default_factory=list)  # every message of the account, in order
    kf_sent: list[dict[str, Any]] = field(default_factory=list)
    kf_refused: list[dict[str, Any]] = field(default_factory=list)
    kf_servicer_holds: set[str] = field(default_factory=set)  # users whose session a WeCom servicer took
    kf_token_fetches: int = 0
    kf_syncs: int = 0
    kf_busy: int = 0  # the next this many kf/sync_msg calls answer -1 (system busy)
    _kf_access: dict[str, float] = field(default_factory=dict)
    _kf_msgtokens: dict[str, float] = field(default_factory=dict)
    _kf_users: dict[str, dict[str, float]] = field(default_factory=dict)

    # --- the API --------------------------------------------------------------------------------
    def _new_token(self) -> str:
        token = f"ACCESS_{uuid.uuid4().hex}"
        self._valid[token] = time.time() + self.token_seconds
        self.token_fetches += 1
        return token

    def expire_tokens(self) -> None:
        """Every token WeChat has issued stops working now (40001 on the next call)."""
        with self._lock:
            self._valid.clear()
            self._stable = None

    async def plain_token(self, request: Request) -> JSONResponse:
        query = request.query_params
        if query.get("appid") != self.app_id or query.get("secret") != self.secret:
            return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
        with self._lock:
            self._valid.clear()  # a plain fetch invalidates the previous token
            self._stable = self._new_token()
            return JSONResponse({"access_token": self._stable, "expires_in": self.token_seconds})

    async def stable_token(self, request: Request) -> JSONResponse:
        body = await request.json()
        if body.get("appid") != self.app_id or body.get("secret") != self.secret:
            return JSONResponse({"errcode": 40013, "errmsg": "invalid appid"})
        with self._lock:
            current = self._stable
            if body.get("force_refresh") or current is None or self._valid.get(current, 0) <= time.time():
                if current is not None:
                    self._valid.pop(current, None)
                current = self._stable = self._new_token()
            left = int(self._valid[current] - time.time())
            return JSONResponse({"access_token": current, "expires_in": left})

    def _token_error(self, request: Request) -> JSONResponse | None:
        if self._valid.get(request.query_params.get("access_token", ""), 0) <= time.time():
            return JSONResponse({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid"})
        return None

    async def custom_send(self, request: Request) -> JSONResponse:
        if (error := self._token_error(request)) is not None:
            return error
        payload = json.loads(await request.body())
        user, content = payload.get("touser", ""), payload.get("text", {}).get("content", "")
        with self._lock:
            window = self._users.get(user)
            code = 0
            if window is None or time.time() - window["last"] > WINDOW_SECONDS:
                code = 45015
            elif window["count"] >= WINDOW_MESSAGES:
                code = 45047
            elif len(content.encode("utf-8")) > TEXT_LIMIT:
                code = 45002
            if code or window is None:
                self.refused.append({"errcode": code, **payload})
                return JSONResponse({"errcode": code, "errmsg": f"refused ({code})"})
            window["count"] += 1
            self.sent.append({**payload, "at": time.time()})
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def menu_create(self, request: Request) -> JSONResponse:
        if (error := self._token_error(request)) is not None:
            return error
        menu = json.loads(await request.body())
        buttons = menu.get("button", [])
        if len(buttons) > 3 or any(len(b.get("sub_button", [])) > 5 for b in buttons):
            return JSONResponse({"errcode": 40016, "errmsg": "invalid button size"})
        self.menus.append(menu)
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    # --- WeCom's API (微信客服) ------------------------------------------------------------------
    async def kf_gettoken(self, request: Request) -> JSONResponse:
        query = request.query_params
        if query.get("corpid") != self.corp_id:
            return JSONResponse({"errcode": 40013, "errmsg": "invalid corpid"})
        if query.get("corpsecret") != self.kf_secret:
            return JSONResponse({"errcode": 40001, "errmsg": "invalid secret"})
        with self._lock:
            now = time.time()
            valid = [t for t, expiry in self._kf_access.items() if expiry > now]
            if not valid:  # WeCom: the same token while it is valid, a new one after
                token = f"WECOM_{uuid.uuid4().hex}"
                self._kf_access[token] = now + self.token_seconds
                self.kf_token_fetches += 1
                valid = [token]
            return JSONResponse(
                {
                    "errcode": 0,
                    "errmsg": "ok",
                    "access_token": valid[0],
                    "expires_in": int(self._kf_access[valid[0]] - now),
                }
            )

    def _kf_token_error(self, request: Request) -> JSONResponse | None:
        expiry = self._kf_access.get(request.query_params.get("access_token", ""))
        if expiry is None:
            return JSONResponse({"errcode": 40014, "errmsg": "invalid access_token"})
        if expiry <= time.time():
            return JSONResponse({"errcode": 42001, "errmsg": "access_token expired"})
        return None

    def expire_kf_tokens(self) -> None:
        with self._lock:
            for token in self._kf_access:
                self._kf_access[token] = 0.0

    async def kf_sync_msg(self, request: Request) -> JSONResponse:
        if (error := self._kf_token_error(request)) is not None:
            return error
        body = json.loads(await request.body())
        with self._lock:
            self.kf_syncs += 1
            if self.kf_busy > 0:
                self.kf_busy -= 1
                return JSONResponse({"errcode": -1, "errmsg": "system busy"})
            msgtoken = body.get("token")
            if msgtoken and self._kf_msgtokens.get(msgtoken, 0) <= time.time():
                return JSONResponse({"errcode": 95007, "errmsg": "invalid msg token"})
            if body.get("open_kfid") not in (None, "", self.open_kfid):
                return JSONResponse({"errcode": 95000, "errmsg": "invalid open_kfid"})
            cursor = str(body.get("cursor") or "")
            start = int(cursor[1:]) if cursor.startswith("c") and cursor[1:].isdigit() else 0
            limit = max(1, min(1000, int(body.get("limit") or 1000)))
            batch = self.kf_stream[start : start + limit]
            end = start + len(batch)
            return JSONResponse(
                {
                    "errcode": 0,
                    "errmsg": "ok",
                    "next_cursor": f"c{end}",
                    "has_more": 1 if end < len(self.kf_stream) else 0,
                    "msg_list": batch,
                }
            )

    async def kf_send_msg(self, request: Request) -> JSONResponse:
        if (error := self._kf_token_error(request)) is not None:
            return error
        payload = json.loads(await request.body())
        user, content = payload.get("touser", ""), payload.get("text", {}).get("content", "")
        with self._lock:
            window = self._kf_users.get(user)
            code = 0
            if payload.get("open_kfid") != self.open_kfid:
                code = 95000
            elif window is None:
                code = 40096
            elif user in self.kf_servicer_holds:
                code = 95018
            elif time.time() - window["last"] > WINDOW_SECONDS:
                code = 95002
            elif window["count"] >= WINDOW_MESSAGES:
                code = 95001
            elif len(content.encode("utf-8")) > TEXT_LIMIT:
                code = 45002
            if code or window is None:
                self.kf_refused.append({"errcode": code, **payload})
                return JSONResponse({"errcode": code, "errmsg": f"refused ({code})"})
            window["count"] += 1
            self.kf_sent.append({**payload, "at": time.time()})
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": uuid.uuid4().hex[:20]})

    def kf_texts_to(self, external_userid: str) -> list[str]:
        return [m["text"]["content"] for m in self.kf_sent if m.get("touser") == external_userid]

    def kf_age_window(self, external_userid: str, hours: float) -> None:
        with self._lock:
            self._kf_users.setdefault(external_userid, {"last": time.time(), "count": 0})["last"] -= hours * 3600

    # --- WeCom calling the app ------------------------------------------------------------------
    def _kf_crypto(self) -> MessageCrypto:
        return MessageCrypto(self.kf_token, self.corp_id, self.kf_aes_key)

    def verify_kf_url(self, echostr: str = "kf-echo-42", token: str | None = None) -> httpx.Response:
        """WeCom's URL check: the echostr is encrypted, the app must answer it decrypted."""
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        encrypted = self._kf_crypto().current.encrypt(echostr, self.corp_id)
        query = {
            "msg_signature": signature(token or self.kf_token, timestamp, nonce, encrypted),
            "timestamp": timestamp,
            "nonce": nonce,
            "echostr": encrypted,
        }
        return httpx.get(self.kf_callback_url, params=query, timeout=self.timeout)

    def kf_send(self, external_userid: str, content: str, msgid: str | None = None) -> Delivery:
        """The person writes to the 微信客服 account: the message joins the stream, then the callback."""
        with self._lock:
            msgid = msgid or f"kfmsg{next(self._ids)}"
            self.kf_stream.append(
                {
                    "msgid": msgid,
                    "open_kfid": self.open_kfid,
                    "external_userid": external_userid,
                    "send_time": int(time.time()),
                    "origin": 3,
                    "msgtype": "text",
                    "text": {"content": content},
                }
            )
            window = self._kf_users.setdefault(external_userid, {"last": time.time(), "count": 0})
            window["last"], window["count"] = time.time(), 0
        return self.kf_callback(msgid)

    def kf_servicer_says(self, external_userid: str, content: str) -> None:
        """A WeCom servicer writes in the session (origin 5): in the stream, never the person's words."""
        with self._lock:
            self.kf_stream.append(
                {
                    "msgid": f"kfmsg{next(self._ids)}",
                    "open_kfid": self.open_kfid,
                    "external_userid": external_userid,
                    "send_time": int(time.time()),
                    "origin": 5,
                    "servicer_userid": "zhangsan",
                    "msgtype": "text",
                    "text": {"content": content},
                }
            )

    def kf_callback(self, key: str = "") -> Delivery:
        """Post one kf_msg_or_event (a fresh Token), 5 s per attempt, retried like WeChat."""
        msgtoken = f"ENC{secrets.token_urlsafe(24)}"
        with self._lock:
            self._kf_msgtokens[msgtoken] = time.time() + MSGTOKEN_SECONDS
        inner = render_xml(
            {
                "ToUserName": self.corp_id,
                "CreateTime": int(time.time()),
                "MsgType": "event",
                "Event": "kf_msg_or_event",
                "Token": msgtoken,
                "OpenKfId": self.open_kfid,
            }
        )
        delivery = Delivery(key or msgtoken)
        for _ in range(1 + self.retries):
            timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
            encrypted = self._kf_crypto().current.encrypt(inner, self.corp_id)
            query = {
                "msg_signature": signature(self.kf_token, timestamp, nonce, encrypted),
                "timestamp": timestamp,
                "nonce": nonce,
            }
            body = render_xml({"ToUserName": self.corp_id, "AgentID": "", "Encrypt": encrypted})
            started = time.monotonic()
            try:
                response = httpx.post(
                    self.kf_callback_url, params=query, content=body.encode("utf-8"), timeout=self.timeout
                )
            except httpx.HTTPError:
                delivery.attempts.append(Attempt(None, time.monotonic() - started))
                continue
            delivery.attempts.append(Attempt(response.status_code, time.monotonic() - started, response.text))
            if response.status_code == 200:
                break
        return delivery

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/cgi-bin/gettoken", self.kf_gettoken),
                Route("/cgi-bin/kf/sync_msg", self.kf_sync_msg, methods=["POST"]),
                Route("/cgi-bin/kf/send_msg", self.kf_send_msg, methods=["POST"]),
                Route("/cgi-bin/token", self.plain_token),
                Route("/cgi-bin/stable_token", self.stable_token, methods=["POST"]),
                Route("/cgi-bin/message/custom/send", self.custom_send, methods=["POST"]),
                Route("/cgi-bin/menu/create", self.menu_create, methods=["POST"]),
            ]
        )

    def texts_to(self, open_id: str) -> list[str]:
        return [m["text"]["content"] for m in self.sent if m.get("touser") == open_id]

    def age_window(self, open_id: str, hours: float) -> None:
        """Pretend the user's last message was `hours` ago (the app's own record is aged by the test)."""
        with self._lock:
            self._users.setdefault(open_id, {"last": time.time(), "count": 0})["last"] -= hours * 3600

    # --- the platform calling the app -----------------------------------------------------------
    def _signed_query(self, body_xml: str) -> tuple[dict[str, str], str]:
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        query = {"signature": signature(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        if self.aes_key is None:
            return query, body_xml
        crypto = MessageCrypto(self.token, self.app_id, self.aes_key)
        encrypted = crypto.current.encrypt(body_xml, self.app_id)
        query.update(encrypt_type="aes", msg_signature=signature(self.token, timestamp, nonce, encrypted))
        return query, render_xml({"ToUserName": ACCOUNT_ID, "Encrypt": encrypted})

    def verify_url(self, echostr: str = "echo-123") -> httpx.Response:
        """The check WeChat makes when the URL is saved in the admin panel."""
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        query = {"signature": signature(self.token, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}
        return httpx.get(self.callback_url, params={**query, "echostr": echostr}, timeout=self.timeout)

    def deliver(self, fields: dict[str, str | int]) -> Delivery:
        """Post one message like WeChat: 5 s per attempt, then retries; returns what happened."""
        open_id = str(fields["FromUserName"])
        with self._lock:
            window = self._users.setdefault(open_id, {"last": time.time(), "count": 0})
            window["last"], window["count"] = time.time(), 0  # the user wrote: the window opens again
        delivery = Delivery(str(fields.get("MsgId") or f"{open_id}:{fields['CreateTime']}"))
        inner = render_xml(fields)
        for _ in range(1 + self.retries):
            query, body = self._signed_query(inner)
            started = time.monotonic()
            try:
                response = httpx.post(
                    self.callback_url,
                    params={**query, "openid": open_id},
                    content=body.encode("utf-8"),
                    headers={"Content-Type": "text/xml"},
                    timeout=self.timeout,
                )
            except httpx.HTTPError:
                delivery.attempts.append(Attempt(None, time.monotonic() - started))
                continue
            delivery.attempts.append(Attempt(response.status_code, time.monotonic() - started, response.text))
            if response.status_code != 200:
                continue
            delivery.reply = self._read_reply(response.text, query)
            return delivery
        return delivery

    def _read_reply(self, text: str, query: dict[str, str]) -> dict[str, str] | None:
        if text.strip() in ("", "success"):
            return None
        fields = parse_xml(text)
        if self.aes_key is None:
            return fields
        crypto = MessageCrypto(self.token, self.app_id, self.reply_key or self.aes_key)
        stamp, nonce = fields.get("TimeStamp", ""), fields.get("Nonce", "")
        return parse_xml(crypto.decrypt(fields.get("Encrypt", ""), fields.get("MsgSignature", ""), stamp, nonce))

    def _base(self, open_id: str, kind: str) -> dict[str, str | int]:
        return {"ToUserName": ACCOUNT_ID, "FromUserName": open_id, "CreateTime": int(time.time()), "MsgType": kind}

    def text(self, open_id: str, content: str, msg_id: int | None = None) -> Delivery:
        return self.deliver({**self._base(open_id, "text"), "Content": content, "MsgId": msg_id or next(self._ids)})

    def voice(self, open_id: str, recognition: str) -> Delivery:
        fields = {**self._base(open_id, "voice"), "MediaId": "media-1", "Format": "amr", "Recognition": recognition}
        return self.deliver({**fields, "MsgId": next(self._ids)})

    def event(self, open_id: str, event: str, key: str = "", create_time: int | None = None) -> Delivery:
        fields = {**self._base(open_id, "event"), "Event": event, "EventKey": key}
        if create_time is not None:
            fields["CreateTime"] = create_time
        return self.deliver(fields)


def main() -> None:  # pragma: no cover - an interactive tool
    from tests.support.servers import serve_in_thread

    parser = argparse.ArgumentParser(description="Fake WeChat: serves the API and sends what you type to the app")
    parser.add_argument("--app", default="http://127.0.0.1:8000/wechat/12345", help="the app's callback URL")
    parser.add_argument("--open-id", default="o_trial_user_0001")
    parser.add_argument("--plain", action="store_true", help="plain mode instead of safe mode")
    args = parser.parse_args()
    fake = FakeWeChat(callback_url=args.app, aes_key=None if args.plain else random_aes_key())
    server = serve_in_thread(fake.app())
    desk = args.app.rstrip("/").rsplit("/", 1)[-1]
    print("Start the app with these settings, then type here (Ctrl-D ends):")
    print(f"  export FRONTDOOR_WECHAT_API_BASE={server.url}")
    print(f"  export FRONTDOOR_WECHAT_{desk}_APPID={fake.app_id} FRONTDOOR_WECHAT_{desk}_SECRET={fake.secret}")
    print(f"  export FRONTDOOR_WECHAT_{desk}_TOKEN={fake.token}")
    if fake.aes_key:
        print(f"  export FRONTDOOR_WECHAT_{desk}_AES_KEY={fake.aes_key}")
    input("Press Enter once the app runs with them... ")
    print("URL check:", fake.verify_url().text)
    seen = 0
    try:
        while True:
            line = input("you> ").strip()
            if not line:
                continue
            delivery = fake.event(args.open_id, "subscribe") if line == "/follow" else fake.text(args.open_id, line)
            print(f"[{len(delivery.attempts)} attempt(s), {delivery.attempts[-1].seconds:.1f} s]")
            if delivery.text:
                print("bot>", delivery.text)
            time.sleep(0.5)
            for message in fake.sent[seen:]:
                print("bot (客服消息)>", message["text"]["content"])
            seen = len(fake.sent)
    except EOFError:
        server.stop()


if __name__ == "__main__":
    main()
