"""WeChat Official Account (公众号) channel: one callback per desk, every message through the gateway.

WeChat calls `GET/POST /wechat/{desk}` (the URL set in the admin panel). Why it works like this:
- every request is signed with the account's Token (SHA1 of sorted token/timestamp/nonce); a bad
  signature gets 403 and nothing is stored. In safe mode (`encrypt_type=aes`) the body is AES
  (bot/channels/wechat_crypto.py) and the reply is encrypted too; after a key rotation the previous
  EncodingAESKey still decrypts;
- **the 5-second rule**: WeChat waits 5 s for the HTTP answer, then retries (3 times). The gateway
  gets `passive_budget` (4 s): an answer ready by then goes back in the HTTP response (被动回复),
  otherwise the response is `success` at once and the answer, when ready, goes out through the
  customer-service API (客服消息) by the outbound worker (`WeChatPusher`). A retry of the same MsgId
  (events: FromUserName + CreateTime) joins the handling already running in this process, and the
  gateway's own dedupe (by message id) catches one that reaches another process: one answer, always;
- the gateway's rows are the truth: a passive answer's rows stay `inline`/`sent`; a late answer's
  rows are switched to `queue`/`pending` and pushed. While anything waits in the queue for a person,
  new answers queue behind it (never a passive reply overtaking an older answer);
- WeChat text messages are cut at `TEXT_LIMIT_BYTES` (45002 beyond), buttons become numbered options
  and a reply "1" sends that button's payload (read back from the last outbound row, shared by instances);
- customer-service messages are allowed only 48 h after the person's last message, 5 per message
  (`gw_wechat_windows`): one that cannot go out is marked failed with 45015/45047 in `last_error`,
  so the console shows it did not reach the person (call them back instead).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot import language as lang
from bot.channels.telegram import ERROR_TEXT, NOT_TEXT, YOUTH_NOT_TEXT
from bot.channels.wechat_api import (
    OUTSIDE_WINDOW,
    OVER_COUNT,
    TOKEN_INVALID,
    TokenHolder,
    TokenStore,
    WeChatApi,
    WeChatError,
)
from bot.channels.wechat_crypto import MessageCrypto, SignatureError, check_signature, parse_xml, text_reply
from bot.gateway.models import OutboundMessage, WeChatWindow, as_utc, utcnow
from bot.gateway.outbound import UNDELIVERABLE, DeliveryError, OutboundItem, Progress
from bot.gateway.service import Gateway, Inbound, Limited
from bot.gateway.store import Reply, conversation_key
from bot.privacy import mask
from bot.settings import Settings, WeChatAccount
from bot.voice import is_youth

log = logging.getLogger(__name__)

CHANNEL = "wechat"
PASSIVE_BUDGET = 4.0  # seconds the gateway gets before the HTTP answer must go (WeChat gives up at 5)
ACK_LIMIT = 4.6  # the last moment an attempt may still be answered (WeChat drops it at 5 s)
UNWRITTEN_RETRIES = 2  # the gateway failed before writing the message: nothing happened yet, so try again
WRITE_PATIENCE = 300.0  # seconds a message not yet written is tried again in the background: WeChat
# gives up after its third retry (~20 s), so past that this process holds the only copy
PASSIVE_FIRST = 1.0  # seconds the rest of a cut answer waits, so the passive first part arrives first
TEXT_LIMIT_BYTES = 2000  # WeChat refuses text over 2,048 bytes (45002); keep a margin
WINDOW = timedelta(hours=48)
WINDOW_MESSAGES = 5
MAX_BODY_BYTES = 64 * 1024
SUBSCRIBE_TEXT = "你好"  # following the account greets through the bot (like Telegram's /start)
_NUMBER = re.compile(r"^\s*(\d{1,2})\s*[.。、]?\s*$")


# --- text ----------------------------------------------------------------------------------------
def _prompt(text: str) -> str:
    language = lang.detect(text)
    if lang.is_english(language):
        return "Reply with a number:"
    return lang.for_reader("回复数字选择：", language)


def render(text: str, buttons: list[dict[str, str]] | None) -> str:
    """A reply as WeChat text: buttons become numbered options ("1. 查询工单") a reply "1" selects."""
    if not buttons:
        return text
    options = "\n".join(f"{i}. {b.get('title') or b.get('payload', '')}" for i, b in enumerate(buttons, 1))
    return f"{text}\n\n{_prompt(text)}\n{options}"


def split_bytes(text: str, limit: int = TEXT_LIMIT_BYTES) -> list[str]:
    """Cut text into parts of at most `limit` UTF-8 bytes, preferring line breaks and sentence ends."""
    parts: list[str] = []
    while len(text.encode("utf-8")) > limit:
        cut, size = 0, 0
        for index, char in enumerate(text):
            size += len(char.encode("utf-8"))
            if size > limit:
                cut = index
                break
        window = text[:cut]
        best = max(window.rfind("\n"), *(window.rfind(mark) + 1 for mark in ("。", "！", "？", ". ")))
        cut = best if best > cut // 2 else cut
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip("\n")
    if text.strip():
        parts.append(text)
    return parts


def parts_of(text: str, buttons: list[dict[str, str]] | None) -> list[str]:
    """The WeChat messages one outbound row becomes (passive reply and pusher cut it the same way)."""
    return split_bytes(render(text, buttons))


# --- database ------------------------------------------------------------------------------------
class WeChatStore:
    """The channel's own reads and writes (synchronous; called in threads)."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def opened(self, desk: str, open_id: str) -> None:
        """The person wrote: the customer-service window opens again (48 h, 5 messages)."""
        with self._sessions() as session:
            changed = session.execute(
                update(WeChatWindow)
                .where(WeChatWindow.desk == desk, WeChatWindow.open_id == open_id)
                .values(last_inbound_at=utcnow(), sent=0)
            )
            if getattr(changed, "rowcount", 0) == 0:
                session.add(WeChatWindow(desk=desk, open_id=open_id, last_inbound_at=utcnow(), sent=0))
            try:
                session.commit()
            except IntegrityError:  # created at the same moment by another message
                session.rollback()

    def take_slot(self, desk: str, open_id: str) -> int | None:
        """Count one customer-service message; None when allowed, else the code WeChat would give."""
        now = utcnow()
        with self._sessions() as session:
            taken = session.execute(
                update(WeChatWindow)
                .where(
                    WeChatWindow.desk == desk,
                    WeChatWindow.open_id == open_id,
                    WeChatWindow.sent < WINDOW_MESSAGES,
                    WeChatWindow.last_inbound_at > now - WINDOW,
                )
                .values(sent=WeChatWindow.sent + 1)
            )
            session.commit()
            if getattr(taken, "rowcount", 0) == 1:
                return None
            row = session.scalars(
                select(WeChatWindow).where(WeChatWindow.desk == desk, WeChatWindow.open_id == open_id)
            ).first()
            if row is None or as_utc(row.last_inbound_at) <= now - WINDOW:
                return OUTSIDE_WINDOW
            return OVER_COUNT

    def last_buttons(self, conversation_id: str) -> list[dict[str, str]]:
        """The buttons of the last message the person got (a reply "2" picks the second)."""
        with self._sessions() as session:
            row = session.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.conversation_id == conversation_id, OutboundMessage.source != "alert")
                .order_by(OutboundMessage.id.desc())
                .limit(1)
            ).first()
            return list(row.buttons or []) if row is not None else []

    def waiting(self, conversation_id: str, besides: list[int]) -> bool:
        """Does anything else wait in the queue for this person (a passive reply must not overtake it)?"""
        with self._sessions() as session:
            return (
                session.scalars(
                    select(OutboundMessage.id)
                    .where(
                        OutboundMessage.conversation_id == conversation_id,
                        OutboundMessage.delivery == "queue",
                        OutboundMessage.status.in_(("pending", "sending")),
                        OutboundMessage.id.not_in(besides or [-1]),
                    )
                    .limit(1)
                ).first()
                is not None
            )

    def queued_already(self, ids: list[int]) -> bool:
        """Were these replies handed to the customer-service API (by this or another instance)?"""
        if not ids:
            return False
        with self._sessions() as session:
            rows = session.scalars(select(OutboundMessage.delivery).where(OutboundMessage.id.in_(ids))).all()
            return any(delivery == "queue" for delivery in rows)

    def to_queue(self, ids: list[int], first_parts_sent: int = 0, not_before: float = 0.0) -> None:
        """The answer's rows go out through the customer-service API (the first one from part
        `first_parts_sent`), not before `not_before` seconds (the passive part must arrive first)."""
        due = utcnow() + timedelta(seconds=not_before) if not_before else None
        with self._sessions() as session:
            for index, outbound_id in enumerate(sorted(ids)):
                session.execute(
                    update(OutboundMessage)
                    .where(OutboundMessage.id == outbound_id)
                    .values(
                        delivery="queue",
                        status="pending",
                        sent_at=None,
                        next_attempt_at=due,
                        parts_sent=first_parts_sent if index == 0 else 0,
                    )
                )
            session.commit()


# --- one desk's account --------------------------------------------------------------------------
@dataclass
class Answer:
    """The gateway's answer to one message, with what the passive reply needs to know (read in the task)."""

    replies: list[Reply]
    already_queued: bool = False  # a duplicate whose answer went (or goes) through the customer-service API
    older_waiting: bool = False  # something older waits in the queue for the person: no passive overtaking


@dataclass
class Handling:
    """One message being answered in this process; WeChat's retries of it wait on the same task."""

    task: asyncio.Task[Answer]
    persisted: asyncio.Event  # the gateway has written the message: `success` may be said
    queued: bool = False  # the answer goes out through the customer-service API
    late_watch: asyncio.Task[None] | None = None


def _failed_unwritten(handling: Handling) -> bool:
    task = handling.task
    return task.done() and not task.cancelled() and task.exception() is not None and not handling.persisted.is_set()


class NotYetPersisted(Exception):
    """The message is not written yet and WeChat's 5 s are nearly up: answer 503 so WeChat retries
    (the retry joins the handling) instead of `success` for a message a crash could still lose."""


@dataclass
class Message:
    """What the channel reads from a callback."""

    open_id: str
    account: str  # ToUserName: the account's own id, the sender of a passive reply
    key: str  # MsgId, or FromUserName + CreateTime for events
    text: str | None  # None: nothing for the gateway (an event we ignore)
    local_reply: str | None = None  # answered here without the gateway (a picture: please write)


def read_message(fields: dict[str, str], desk: str) -> Message:
    """Text, voice with WeChat's speech recognition, subscribe and menu CLICK; other kinds ask for text."""
    open_id, account = fields.get("FromUserName", ""), fields.get("ToUserName", "")
    if not open_id:
        raise ValueError("a callback needs FromUserName")
    kind = fields.get("MsgType", "")
    key = fields.get("MsgId") or f"e{open_id}:{fields.get('CreateTime', '')}"
    if kind == "text":
        return Message(open_id, account, key, fields.get("Content", ""))
    if kind == "voice" and fields.get("Recognition", "").strip():
        return Message(open_id, account, key, fields["Recognition"])
    if kind == "event":
        event = fields.get("Event", "").lower()
        if event == "subscribe":
            return Message(open_id, account, key, SUBSCRIBE_TEXT)
        if event == "click" and fields.get("EventKey", "").strip():
            return Message(open_id, account, key, fields["EventKey"])
        return Message(open_id, account, key, None)  # unsubscribe, VIEW, location...: nothing to answer
    return Message(open_id, account, key, None, YOUTH_NOT_TEXT if is_youth(desk) else NOT_TEXT)


class WeChatDesk:
    """One desk's Official Account: reads callbacks, answers within the 5-second rule."""

    def __init__(
        self,
        account: WeChatAccount,
        gateway: Gateway,
        store: WeChatStore,
        api: WeChatApi,
        passive_budget: float = PASSIVE_BUDGET,
        wake: Callable[[str], None] | None = None,
    ) -> None:
        self.account, self.gateway, self.store, self.api = account, gateway, store, api
        self.passive_budget = passive_budget
        self.ack_limit = ACK_LIMIT
        self.write_patience = WRITE_PATIENCE
        self.wake = wake or (lambda _: None)  # the outbound worker's: deliver this conversation's queue now
        self.crypto = (
            MessageCrypto(account.token, account.app_id, account.aes_key, account.aes_key_previous)
            if account.aes_key
            else None
        )
        self._inflight: dict[str, Handling] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def desk(self) -> str:
        return self.account.desk

    async def stop(self, grace: float = 5.0) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)

    async def receive(self, message: Message) -> str | None:
        """The passive reply's text, or None for `success` (nothing, or the answer comes later).

        Raises NotYetPersisted when the message could not even be written within WeChat's 5 s.
        """
        if message.text is None:
            return message.local_reply
        started = time.monotonic()
        handling = self._inflight.get(message.key)
        if handling is None or _failed_unwritten(handling):
            handling = self._start(message)  # first delivery, or the first try could not even write it
        if handling.queued:  # a retry after the answer was handed to the customer-service API
            await self._acknowledge(handling, started)
            return None
        remaining = max(0.0, self.passive_budget - (time.monotonic() - started))
        try:
            answer = await asyncio.wait_for(asyncio.shield(handling.task), remaining)
        except TimeoutError:
            self._go_late(message, handling)
            await self._acknowledge(handling, started)
            return None
        except Exception as exc:
            self._inflight.pop(message.key, None)  # WeChat's retry starts afresh
            log.error("WeChat message of desk %s failed: %s", self.desk, type(exc).__name__)
            if not handling.persisted.is_set():
                raise NotYetPersisted() from exc
            return ERROR_TEXT  # written: the restart recovery answers it if nothing else does
        if handling.queued:
            return None
        return self._passive(message, handling, answer)

    async def _acknowledge(self, handling: Handling, started: float) -> None:
        """`success` only for a message the gateway has written; wait for that until WeChat's 5 s are nearly up."""
        if handling.persisted.is_set():
            return
        left = self.ack_limit - (time.monotonic() - started)
        try:
            await asyncio.wait_for(handling.persisted.wait(), max(0.0, left))
        except TimeoutError:
            raise NotYetPersisted() from None

    def _start(self, message: Message) -> Handling:
        inbound = Inbound(
            desk=self.desk, channel=CHANNEL, user=message.open_id, text=message.text, message_id=message.key
        )
        persisted = asyncio.Event()
        handling = Handling(self._track(asyncio.create_task(self._handle(inbound, persisted))), persisted)
        self._inflight[message.key] = handling

        def forget(_: asyncio.Task[Answer]) -> None:  # keep it a while for WeChat's retries (~15 s)
            asyncio.get_running_loop().call_later(60.0, self._drop, message.key, handling)

        handling.task.add_done_callback(forget)
        return handling

    def _drop(self, key: str, handling: Handling) -> None:
        if self._inflight.get(key) is handling:
            del self._inflight[key]

    async def _handle(self, inbound: Inbound, persisted: asyncio.Event) -> Answer:
        """The gateway's turn, then everything the passive reply needs (so the response waits on no database)."""
        choice = _NUMBER.match(inbound.text or "")
        if choice:  # "2" picks the second numbered option of the last message
            buttons = await asyncio.to_thread(self.store.last_buttons, inbound.conversation_id)
            index = int(choice.group(1)) - 1
            if 0 <= index < len(buttons) and buttons[index].get("payload"):
                inbound = Inbound(
                    desk=inbound.desk,
                    channel=inbound.channel,
                    user=inbound.user,
                    text=buttons[index]["payload"],
                    message_id=inbound.message_id,
                )
        deadline = time.monotonic() + self.write_patience
        attempt = 0
        while True:
            try:
                replies = await self.gateway.handle(inbound, persisted)
                break
            except Limited as limited:  # not stored: the person still hears why, with the numbers to call
                replies = limited.replies
                break
            except Exception as exc:  # e.g. SQLite busy past its timeout under a burst
                if persisted.is_set() or time.monotonic() > deadline:
                    raise  # written: the restart recovery answers it; else only this log line is left
                attempt += 1
                log.warning(
                    "WeChat message of desk %s not written (%s); trying again (%d)",
                    self.desk,
                    type(exc).__name__,
                    attempt,
                )
                await asyncio.sleep(min(10.0, 0.5 * 2**attempt))
        await asyncio.to_thread(self.store.opened, self.desk, inbound.user)  # 48 h / 5 messages from now
        ids = [r.id for r in replies if r.id is not None]
        already = await asyncio.to_thread(self.store.queued_already, ids)
        waiting = await asyncio.to_thread(self.store.waiting, inbound.conversation_id, ids)
        return Answer(replies, already, waiting)

    def _track(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _passive(self, message: Message, handling: Handling, answer: Answer) -> str | None:
        """Everything, if it fits one WeChat message and nothing older waits; else the first part, the rest queued."""
        replies = answer.replies
        ids = [r.id for r in replies if r.id is not None]
        cid = conversation_key(self.desk, CHANNEL, message.open_id)
        if not replies or answer.already_queued:
            return None
        if answer.older_waiting:
            self._queue(handling, ids, 0, cid)
            return None
        whole = "\n\n".join(render(r.text, r.buttons) for r in replies)
        if len(whole.encode("utf-8")) <= TEXT_LIMIT_BYTES:
            return whole
        first_parts = parts_of(replies[0].text, replies[0].buttons)
        rest = ids if len(first_parts) > 1 else ids[1:]
        self._queue(handling, rest, 1 if len(first_parts) > 1 else 0, cid, after_passive=True)
        return first_parts[0]

    def _queue(
        self, handling: Handling, ids: list[int], first_parts_sent: int, cid: str, after_passive: bool = False
    ) -> None:
        """From now on this message's answer goes through the customer-service API (in the background)."""
        handling.queued = True
        if ids:
            self._track(asyncio.create_task(self._to_queue(ids, first_parts_sent, cid, after_passive)))

    async def _to_queue(self, ids: list[int], first_parts_sent: int, cid: str, after_passive: bool) -> None:
        delay = PASSIVE_FIRST if after_passive else 0.0
        await asyncio.to_thread(self.store.to_queue, ids, first_parts_sent, delay)
        if delay:
            asyncio.get_running_loop().call_later(delay + 0.05, self.wake, cid)
        else:
            self.wake(cid)

    def _go_late(self, message: Message, handling: Handling) -> None:
        """The HTTP answer goes now (`success`); the answer follows through the customer-service API."""
        handling.queued = True
        if handling.late_watch is None:
            handling.late_watch = self._track(asyncio.create_task(self._deliver_late(message, handling)))

    async def _deliver_late(self, message: Message, handling: Handling) -> None:
        cid = conversation_key(self.desk, CHANNEL, message.open_id)
        try:
            answer = await handling.task
        except Exception as exc:  # written but not answered: the restart recovery answers it
            log.error("late WeChat answer for desk %s failed: %s", self.desk, type(exc).__name__)
            return
        ids = [r.id for r in answer.replies if r.id is not None]
        if ids and not answer.already_queued:
            await self._to_queue(ids, 0, cid, after_passive=False)
        log.info(
            "WeChat answer for %s took over %.0f s: sent as customer-service message", mask(cid), self.passive_budget
        )


# --- outbound ------------------------------------------------------------------------------------
class WeChatPusher:
    """Sends queued rows (late answers, staff replies, follow-ups) through the customer-service API."""

    def __init__(self, apis: dict[str, WeChatApi], store: WeChatStore) -> None:
        self.apis, self.store = apis, store

    async def push(self, item: OutboundItem, progress: Progress) -> None:
        api = self.apis.get(item.desk)
        if api is None:
            raise DeliveryError(f"no WeChat account for desk {item.desk}", permanent=True)
        parts = parts_of(item.text, item.buttons)
        for index in range(item.parts_sent, len(parts)):
            refused = await asyncio.to_thread(self.store.take_slot, item.desk, item.user)
            if refused is not None:
                raise DeliveryError(_undeliverable(refused), permanent=True)
            try:
                await api.send_text(item.user, parts[index])
            except WeChatError as exc:
                if exc.code in (OUTSIDE_WINDOW, OVER_COUNT):
                    raise DeliveryError(_undeliverable(exc.code), permanent=True) from exc
                if exc.code is None or exc.code == -1 or exc.code in TOKEN_INVALID:
                    raise DeliveryError(str(exc)) from exc  # network, busy, token: try again later
                raise DeliveryError(str(exc), permanent=True) from exc  # 45002 and the like will not improve
            await progress(index + 1)


def _undeliverable(code: int) -> str:
    if code == OUTSIDE_WINDOW:
        return f"{UNDELIVERABLE} wechat 45015, over 48 h since the person last wrote; call them back"
    return f"{UNDELIVERABLE} wechat 45047, 5 messages sent since the person last wrote; wait for them or call back"


# --- HTTP ----------------------------------------------------------------------------------------
def forbidden() -> Response:
    """A callback whose signature does not check out (WeChat's and WeCom's)."""
    return PlainTextResponse("signature check failed", status_code=403)


async def callback(request: Request) -> Response:
    """GET: WeChat's URL check (echostr). POST: a message or event, answered within 5 s."""
    desks: dict[str, WeChatDesk] = getattr(request.app.state, "wechat_desks", {})
    desk = desks.get(request.path_params["desk"])
    if desk is None:
        return PlainTextResponse("no WeChat account for this desk", status_code=404)
    query = request.query_params
    timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
    if not check_signature(query.get("signature", ""), desk.account.token, timestamp, nonce):
        return forbidden()
    if request.method == "GET":
        return PlainTextResponse(query.get("echostr", ""))
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return PlainTextResponse("body too large", status_code=413)
    safe = query.get("encrypt_type", "").lower() == "aes"
    try:
        if safe:
            if desk.crypto is None:
                return PlainTextResponse("safe mode needs FRONTDOOR_WECHAT_<desk>_AES_KEY", status_code=400)
            inner = desk.crypto.decrypt_message(body, query.get("msg_signature", ""), timestamp, nonce)
            fields = parse_xml(inner)
        else:
            fields = parse_xml(body)
        message = read_message(fields, desk.desk)
    except SignatureError as exc:
        log.warning("WeChat callback of desk %s refused: %s", desk.desk, exc)
        return forbidden()
    except ValueError as exc:
        log.warning("bad WeChat callback for desk %s: %s", desk.desk, mask(str(exc))[:200])
        return PlainTextResponse("not a WeChat message", status_code=400)
    try:
        content = await desk.receive(message)
    except NotYetPersisted:
        log.warning(
            "WeChat message of desk %s not yet written after %.1f s: WeChat will retry", desk.desk, desk.ack_limit
        )
        return PlainTextResponse("busy, retry", status_code=503)
    if content is None:
        return PlainTextResponse("success")
    xml = text_reply(message.open_id, message.account, content)
    if safe and desk.crypto is not None:
        xml = desk.crypto.encrypt_reply(xml, nonce, timestamp)
    return Response(xml, media_type="application/xml")


routes = [Route("/wechat/{desk}", callback, methods=["GET", "POST"])]


@dataclass
class WeChatRuntime:
    """The channel's pieces for the app: one desk object per configured account, and the pusher."""

    desks: dict[str, WeChatDesk] = field(default_factory=dict)
    pusher: WeChatPusher | None = None
    http: httpx.AsyncClient | None = None

    async def aclose(self) -> None:
        for desk in self.desks.values():
            await desk.stop()
        if self.http is not None:
            await self.http.aclose()


def start(
    settings: Settings, gateway: Gateway, engine: Engine, wake: Callable[[str], None] | None = None
) -> WeChatRuntime:
    """One WeChatDesk per desk with an account (FRONTDOOR_WECHAT_<desk>_*); none configured: the channel is off.

    One TokenHolder per AppID, even when two desks share an account.
    """
    accounts = [a for a in (settings.wechat_account(d) for d in settings.desks) if a is not None]
    if not accounts:
        return WeChatRuntime()
    http = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))
    store, tokens = WeChatStore(engine), TokenStore(engine)
    holders: dict[str, TokenHolder] = {}
    desks: dict[str, WeChatDesk] = {}
    for account in accounts:
        holder = holders.setdefault(
            account.app_id, TokenHolder(tokens, account.app_id, account.secret, http, settings.wechat_api_base)
        )
        desks[account.desk] = WeChatDesk(account, gateway, store, WeChatApi(holder), wake=wake)
        mode = "safe mode" if account.aes_key else "plain mode (local trials only)"
        log.info("WeChat Official Account of desk %s: callback /wechat/%s, %s", account.desk, account.desk, mode)
    pusher = WeChatPusher({name: desk.api for name, desk in desks.items()}, store)
    return WeChatRuntime(desks, pusher, http)
