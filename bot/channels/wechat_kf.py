"""WeChat customer service (微信客服, run from WeCom) channel: for a desk without an Official Account.

How WeCom's 微信客服 works, and why this module looks like this (checked against WeCom's API as
wechatpy 2.0.0a26 `wechatpy/work/client/api/kf.py` and `kf_message.py` call it):
- WeCom does not post the person's message. It posts an encrypted, signed callback (receive id =
  the corp id) with `Event=kf_msg_or_event` and a `Token` valid for 10 minutes; the app then pulls
  the messages with `kf/sync_msg` (that token, the account's `open_kfid` and a `cursor`). So the
  callback is answered `success` at once and the pulling runs in the background: WeCom's 5-second
  rule never applies to an answer;
- **the cursor** (`gw_wechat_kf_cursors`) moves on only when every message of a pulled batch has
  been written by the gateway. A crash or restart pulls again from the last fully written batch; a
  message pulled twice (a restart, a duplicate callback, two instances) is dropped by the gateway's
  dedupe on its `msgid`, and one still being handled in this process is skipped. Nothing is lost,
  nothing is answered twice. One pull at a time per account in a process; a callback that arrives
  during a pull makes it pull once more;
- only the person's own messages (`origin` 3) go to the gateway: the messages of WeCom staff
  (`origin` 5) and system events (`origin` 4) are not the person's words;
- every message takes the gateway's path like any push channel (persisted first, safety screen
  first, crisis path) and the replies go to the outbound queue, sent by `KfPusher` with
  `kf/send_msg`: at most 5 within 48 h of the person's last message (`gw_wechat_windows`, shared
  with the Official Account channel, the user kept as "kf:<external_userid>"). A reply that cannot go
  out (95001 over the count, 95002 over 48 h, 95013 session ended, 95018 a WeCom servicer holds the
  session) is marked failed with `undeliverable: wechat_kf <code>` so the console shows it next to
  the contacts with the call-back suggestion, as for the Official Account;
- the access_token comes from `gettoken` (corp id + the 微信客服 secret) and is held once per corp
  and secret in `gw_wechat_tokens` with the Official Account's holder (refresh lease, reuse of a
  newer stored token after 40014/42001).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.channels.telegram import NOT_TEXT, YOUTH_NOT_TEXT
from bot.channels.wechat import UNWRITTEN_RETRIES, WeChatStore, forbidden, parts_of
from bot.channels.wechat_api import TokenHolder, TokenStore, WeChatApi, WeChatError, token_from
from bot.channels.wechat_crypto import MessageCrypto, SignatureError, parse_xml
from bot.gateway.models import WeChatKfCursor, utcnow
from bot.gateway.outbound import UNDELIVERABLE, DeliveryError, OutboundItem, Progress
from bot.gateway.service import Gateway, Inbound
from bot.privacy import mask
from bot.settings import Settings, WeChatKfAccount
from bot.voice import is_youth

log = logging.getLogger(__name__)

CHANNEL = "wechat_kf"
DEFAULT_API_BASE = "https://qyapi.weixin.qq.com"
EVENT = "kf_msg_or_event"
FROM_PERSON = 3  # origin of a message the WeChat user sent (4: a system event, 5: a WeCom servicer)
PERSIST_WAIT = 30.0  # seconds a pulled batch may take to be written before the cursor stays put
RETRY_PULL = 5.0  # seconds before pulling again when a pull failed; doubled each time it fails again
RETRY_PULL_MAX = 300.0
MAX_BODY_BYTES = 64 * 1024
BAD_MSGTOKEN = 95007  # the callback's Token expired (10 minutes) or is not for this account
TOKEN_INVALID = frozenset({40014, 42001})  # WeCom: invalid / expired access_token (40001 is a bad secret)
SYSTEM_BUSY = -1
OVER_COUNT = 95001  # 5 messages sent since the person last wrote
OUTSIDE_WINDOW = 95002  # 48 h since the person last wrote
SESSION_ENDED = 95013
SERVICER_HOLDS = 95018  # the session is with a WeCom servicer (or waiting for one): the API may not send
UNREACHABLE = {
    OVER_COUNT: "5 messages sent since the person last wrote; wait for them or call back",
    OUTSIDE_WINDOW: "over 48 h since the person last wrote; call them back",
    SESSION_ENDED: "the 微信客服 session has ended; call them back",
    SERVICER_HOLDS: "a servicer holds the session in WeCom; answer there or call back",
    40096: "WeCom does not know this WeChat user (external_userid); call them back",
}
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.。、]?\s*$")


def window_user(external_userid: str) -> str:
    """The person's key in `gw_wechat_windows` (kept apart from Official Account openids)."""
    return f"kf:{external_userid}"


# --- the access_token and the calls ----------------------------------------------------------------
class KfTokenHolder(TokenHolder):
    """The Official Account's holder (database row, lease, refresh margin) fetching from WeCom's `gettoken`.

    Within its 7,200 s `gettoken` hands back the same token, so a second instance's call does no harm.
    """

    async def _fetch(self, force: bool) -> tuple[str, float]:
        self.fetches += 1
        corp_id = self.app_id.removeprefix("kf:")
        try:
            response = await self.http.get(
                f"{self.base_url}/cgi-bin/gettoken", params={"corpid": corp_id, "corpsecret": self._secret}
            )
            body = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise WeChatError(None, f"gettoken unreachable: {type(exc).__name__}") from exc
        return token_from(body)


class KfApi(WeChatApi):
    """`kf/sync_msg` and `kf/send_msg` of one 微信客服 account, with the shared token."""

    def __init__(self, holder: TokenHolder, open_kfid: str) -> None:
        super().__init__(holder)
        self.open_kfid = open_kfid

    async def sync(self, cursor: str | None, token: str | None, limit: int = 1000) -> dict[str, Any]:
        payload: dict[str, Any] = {"cursor": cursor or "", "limit": limit, "open_kfid": self.open_kfid}
        if token:
            payload["token"] = token
        return await self.call("/cgi-bin/kf/sync_msg", payload)

    async def send_text(self, open_id: str, text: str) -> None:
        await self.call(
            "/cgi-bin/kf/send_msg",
            {"touser": open_id, "open_kfid": self.open_kfid, "msgtype": "text", "text": {"content": text}},
        )


# WeCom names an invalid token 40014/42001 (40001 is "invalid secret"): the shared call() retries on
# any of 40001/40014/42001 once with a newer token, which is harmless for a bad secret (it fails again).


# --- database ------------------------------------------------------------------------------------
class CursorStore:
    """`gw_wechat_kf_cursors` (synchronous; called in threads)."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def read(self, account: str) -> str | None:
        with self._sessions() as session:
            row = session.get(WeChatKfCursor, account)
            return row.cursor if row is not None else None

    def save(self, account: str, cursor: str) -> None:
        with self._sessions() as session:
            row = session.get(WeChatKfCursor, account)
            if row is None:
                session.add(WeChatKfCursor(account=account, cursor=cursor, updated_at=utcnow()))
            else:
                row.cursor, row.updated_at = cursor, utcnow()
            session.commit()


# --- one desk's account --------------------------------------------------------------------------
@dataclass
class Pulled:
    """One message of a pulled batch: what the gateway gets, or a local reply (not text)."""

    msgid: str
    user: str
    text: str | None
    local_reply: str | None = None


def read_pulled(message: dict[str, Any], desk: str) -> Pulled | None:
    """A `sync_msg` entry as the channel reads it; None for what is not the person's own message."""
    if message.get("origin") != FROM_PERSON or message.get("msgtype") == "event":
        return None
    msgid, user = str(message.get("msgid") or ""), str(message.get("external_userid") or "")
    if not msgid or not user:
        return None
    if message.get("msgtype") == "text":
        return Pulled(msgid, user, str((message.get("text") or {}).get("content") or ""))
    return Pulled(msgid, user, None, YOUTH_NOT_TEXT if is_youth(desk) else NOT_TEXT)


@dataclass
class KfDesk:
    """One desk's 微信客服 account: pulls on each callback, hands every message to the gateway."""

    account: WeChatKfAccount
    gateway: Gateway
    windows: WeChatStore
    cursors: CursorStore
    api: KfApi
    persist_wait: float = PERSIST_WAIT
    retry_pull: float = RETRY_PULL
    crypto: MessageCrypto = field(init=False)
    pulls: int = 0  # kf/sync_msg calls (tests and logs)
    _wanted: bool = False
    _stopped: bool = False
    _failures: int = 0  # pulls failed in a row (WeCom unreachable, a wrong secret): the retry waits longer
    _token: str | None = None
    _runner: asyncio.Task[None] | None = None
    _inflight: dict[str, tuple[asyncio.Event, asyncio.Task[None]]] = field(default_factory=dict)
    _last_of: dict[str, asyncio.Task[None]] = field(default_factory=dict)  # each person's latest handling
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.crypto = MessageCrypto(
            self.account.token, self.account.corp_id, self.account.aes_key, self.account.aes_key_previous
        )

    @property
    def desk(self) -> str:
        return self.account.desk

    @property
    def cursor_key(self) -> str:
        return f"{self.account.corp_id}:{self.account.open_kfid}"

    def notify(self, token: str | None) -> None:
        """A callback (or the start) says there is something to pull; pull now, or once more after the pull under way."""
        if token:
            self._token = token
        self._wanted = True
        if not self._stopped and (self._runner is None or self._runner.done()):
            self._runner = self._track(asyncio.create_task(self._run()))

    async def stop(self, grace: float = 5.0) -> None:
        self._stopped = True
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()

    def _track(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _run(self) -> None:
        while self._wanted:
            self._wanted = False
            try:
                complete = await self._pull_all()
            except Exception as exc:  # WeCom unreachable, database busy: the cursor stayed, try again soon
                log.warning("微信客服 pull for desk %s failed: %s", self.desk, mask(str(exc))[:200])
                complete = False
            if complete:
                self._failures = 0
                continue
            self._failures += 1
            delay = min(RETRY_PULL_MAX, self.retry_pull * 2 ** (self._failures - 1))
            asyncio.get_running_loop().call_later(delay, self._again)
            return

    def _again(self) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            self.notify(None)

    async def _pull_all(self) -> bool:
        """Pull batches until WeCom has no more; True when every pulled message was written."""
        cursor = await asyncio.to_thread(self.cursors.read, self.cursor_key)
        while True:
            self.pulls += 1
            try:
                body = await self.api.sync(cursor, self._token)
            except WeChatError as exc:
                if exc.code != BAD_MSGTOKEN or self._token is None:
                    raise
                self._token = None  # expired callback token: WeCom allows a (rate-limited) pull without one
                body = await self.api.sync(cursor, None)
            batch = [m for m in body.get("msg_list") or [] if isinstance(m, dict)]
            if not await self._hand_over(batch):
                return False
            next_cursor = str(body.get("next_cursor") or "")
            if next_cursor and next_cursor != cursor:
                await asyncio.to_thread(self.cursors.save, self.cursor_key, next_cursor)
                cursor = next_cursor
            if not body.get("has_more"):
                return True

    async def _hand_over(self, batch: list[dict[str, Any]]) -> bool:
        """Start every new message of the batch (one person's in order) and wait until each is written."""
        handlings: list[tuple[asyncio.Event, asyncio.Task[None]]] = []
        for raw in batch:
            pulled = read_pulled(raw, self.desk)
            if pulled is None:
                continue
            handling = self._inflight.get(pulled.msgid)  # pulled again while still being handled here
            if handling is None:
                persisted = asyncio.Event()
                before = self._last_of.get(pulled.user)
                task = self._track(asyncio.create_task(self._in_turn(before, pulled, persisted)))
                handling = self._inflight[pulled.msgid] = (persisted, task)
                self._last_of[pulled.user] = task
                task.add_done_callback(functools.partial(self._forget, pulled.msgid, pulled.user))
            handlings.append(handling)
        try:
            await asyncio.wait_for(self._written(handlings), self.persist_wait)
        except TimeoutError:
            log.warning(
                "微信客服 batch of desk %s not written in %.0f s: the cursor stays", self.desk, self.persist_wait
            )
            return False
        return all(event.is_set() for event, _ in handlings)

    def _forget(self, msgid: str, user: str, done: asyncio.Task[None]) -> None:
        """A handled message: a later pull hands it to the gateway again (its dedupe drops it)."""
        self._inflight.pop(msgid, None)
        if self._last_of.get(user) is done:
            del self._last_of[user]

    @staticmethod
    async def _written(handlings: list[tuple[asyncio.Event, asyncio.Task[None]]]) -> None:
        """Each message is written (its event set) or its handling ended (it failed before writing)."""
        for event, task in handlings:
            if not event.is_set() and not task.done():
                waiter = asyncio.ensure_future(event.wait())
                await asyncio.wait([waiter, task], return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()

    async def _in_turn(self, before: asyncio.Task[None] | None, pulled: Pulled, persisted: asyncio.Event) -> None:
        """One person's messages are handled one after the other, in WeCom's order."""
        if before is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(before)
        await self._handle(pulled, persisted)

    async def _handle(self, pulled: Pulled, persisted: asyncio.Event) -> None:
        user = window_user(pulled.user)
        await asyncio.to_thread(self.windows.opened, self.desk, user)  # 48 h / 5 messages from now
        if pulled.text is None:  # a picture, a voice note...: ask for words; nothing for the gateway
            persisted.set()
            with contextlib.suppress(WeChatError):
                if await asyncio.to_thread(self.windows.take_slot, self.desk, user) is None:
                    await self.api.send_text(pulled.user, pulled.local_reply or NOT_TEXT)
            return
        inbound = Inbound(
            desk=self.desk,
            channel=CHANNEL,
            user=pulled.user,
            text=await self._chosen(pulled),
            message_id=pulled.msgid,
            queue_replies=True,
        )
        for attempt in range(UNWRITTEN_RETRIES + 1):
            try:
                await self.gateway.handle(inbound, persisted)
                return
            except Exception as exc:
                if persisted.is_set() or attempt == UNWRITTEN_RETRIES:
                    # written: the restart recovery answers it; not written: the cursor stays, pulled again
                    log.error("微信客服 message of desk %s failed: %s", self.desk, type(exc).__name__)
                    return
                await asyncio.sleep(1.0 + attempt)

    async def _chosen(self, pulled: Pulled) -> str | None:
        """A reply "2" picks the second numbered option of the person's last message (as on the Official Account)."""
        choice = _NUMBER.match(pulled.text or "")
        if not choice:
            return pulled.text
        cid = Inbound(desk=self.desk, channel=CHANNEL, user=pulled.user, text=None).conversation_id
        buttons = await asyncio.to_thread(self.windows.last_buttons, cid)
        index = int(choice.group(1)) - 1
        if 0 <= index < len(buttons) and buttons[index].get("payload"):
            return buttons[index]["payload"]
        return pulled.text


# --- outbound ------------------------------------------------------------------------------------
class KfPusher:
    """Sends queued rows (answers, staff replies, follow-ups) with `kf/send_msg`, within WeCom's window."""

    def __init__(self, apis: dict[str, KfApi], windows: WeChatStore) -> None:
        self.apis, self.windows = apis, windows

    async def push(self, item: OutboundItem, progress: Progress) -> None:
        api = self.apis.get(item.desk)
        if api is None:
            raise DeliveryError(f"no 微信客服 account for desk {item.desk}", permanent=True)
        parts = parts_of(item.text, item.buttons)
        user = window_user(item.user)
        for index in range(item.parts_sent, len(parts)):
            refused = await asyncio.to_thread(self.windows.take_slot, item.desk, user)
            if refused is not None:  # our own count says WeCom would refuse: do not even try
                raise DeliveryError(undeliverable(OUTSIDE_WINDOW if refused == 45015 else OVER_COUNT), permanent=True)
            try:
                await api.send_text(item.user, parts[index])
            except WeChatError as exc:
                if exc.code in UNREACHABLE:
                    raise DeliveryError(undeliverable(exc.code), permanent=True) from exc
                if exc.code is None or exc.code == SYSTEM_BUSY or exc.code in TOKEN_INVALID:
                    raise DeliveryError(str(exc)) from exc  # network, busy, token: try again later
                raise DeliveryError(str(exc), permanent=True) from exc
            await progress(index + 1)


def undeliverable(code: int) -> str:
    return f"{UNDELIVERABLE} wechat_kf {code}, {UNREACHABLE.get(code, 'refused by WeCom')}"


# --- HTTP ----------------------------------------------------------------------------------------
async def callback(request: Request) -> Response:
    """GET: WeCom's URL check (the echostr is encrypted: answer it decrypted). POST: an event, answered at once."""
    desks: dict[str, KfDesk] = getattr(request.app.state, "wechat_kf_desks", {})
    desk = desks.get(request.path_params["desk"])
    if desk is None:
        return PlainTextResponse("no 微信客服 account for this desk", status_code=404)
    query = request.query_params
    signature, timestamp, nonce = query.get("msg_signature", ""), query.get("timestamp", ""), query.get("nonce", "")
    try:
        if request.method == "GET":
            return PlainTextResponse(desk.crypto.decrypt(query.get("echostr", ""), signature, timestamp, nonce))
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return PlainTextResponse("body too large", status_code=413)
        fields = parse_xml(desk.crypto.decrypt_message(body, signature, timestamp, nonce))
    except SignatureError as exc:
        log.warning("微信客服 callback of desk %s refused: %s", desk.desk, exc)
        return forbidden()
    except ValueError as exc:
        log.warning("bad 微信客服 callback for desk %s: %s", desk.desk, mask(str(exc))[:200])
        return PlainTextResponse("not a WeCom callback", status_code=400)
    if fields.get("Event") == EVENT:
        kfid = fields.get("OpenKfId") or desk.account.open_kfid
        target = next((d for d in desks.values() if d.account.open_kfid == kfid), desk)
        target.notify(fields.get("Token") or None)
    return PlainTextResponse("success")


routes = [Route("/wechat-kf/{desk}", callback, methods=["GET", "POST"])]


@dataclass
class KfRuntime:
    """The channel's pieces for the app: one desk object per configured account, and the pusher."""

    desks: dict[str, KfDesk] = field(default_factory=dict)
    pusher: KfPusher | None = None
    http: httpx.AsyncClient | None = None

    def catch_up(self) -> None:
        """Pull once at start: messages that came while the app was down (the cursor says from where)."""
        for desk in self.desks.values():
            desk.notify(None)

    async def aclose(self) -> None:
        for desk in self.desks.values():
            await desk.stop()
        if self.http is not None:
            await self.http.aclose()


def start(settings: Settings, gateway: Gateway, engine: Engine, wake: Callable[[str], None] | None = None) -> KfRuntime:
    """One KfDesk per desk with a 微信客服 account (FRONTDOOR_WECHAT_KF_<desk>_*); one token holder per corp and secret."""
    accounts = [a for a in (settings.wechat_kf_account(d) for d in settings.desks) if a is not None]
    if not accounts:
        return KfRuntime()
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
    windows, tokens, cursors = WeChatStore(engine), TokenStore(engine), CursorStore(engine)
    holders: dict[tuple[str, str], KfTokenHolder] = {}
    desks: dict[str, KfDesk] = {}
    for account in accounts:
        holder = holders.setdefault(
            (account.corp_id, account.secret),
            KfTokenHolder(tokens, f"kf:{account.corp_id}", account.secret, http, settings.wechat_kf_api_base),
        )
        desks[account.desk] = KfDesk(account, gateway, windows, cursors, KfApi(holder, account.open_kfid))
        log.info("微信客服 of desk %s: callback /wechat-kf/%s", account.desk, account.desk)
    pusher = KfPusher({name: desk.api for name, desk in desks.items()}, windows)
    return KfRuntime(desks, pusher, http)
