"""Running the Telegram bots: fetch updates (polling or webhook), journal them, feed PTB, push replies.

Telegram forgets an update once it is confirmed (the next getUpdates offset, or the webhook's HTTP
200), so every update is written to `gw_telegram_updates` first and confirmed afterwards. At start-up
updates still marked `received` are handled again; a redelivered update id is dropped. Updates of one
chat are handled one after another (the gateway's answer order is the chat's order); callback queries
are answered at once, before waiting for that chat's turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections import defaultdict
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from telegram import Bot, Update
from telegram.error import BadRequest, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.channels.telegram import TelegramChannel, keyboard, split_message
from bot.db.leases import Leader
from bot.gateway.models import TelegramUpdate, utcnow
from bot.gateway.outbound import DeliveryError, OutboundItem, Progress
from bot.gateway.service import Gateway
from bot.privacy import mask
from bot.security.json_body import parse_json
from bot.settings import Settings

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024
"""The webhook's body limit, enforced before reading by bot.security.body_limit.BodyLimit (bot/app.py)."""
JOURNAL_KEEP = timedelta(days=6)  # update ids may restart at random after 7 silent days: forget them before


class TelegramJournal:
    """The `gw_telegram_updates` table."""

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def add(self, desk: str, update_id: int, payload: dict[str, Any]) -> bool:
        """Write the update; False when this update id was already seen (a redelivery)."""
        with self._sessions() as session:
            session.add(TelegramUpdate(desk=desk, update_id=update_id, payload=payload))
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return False
            return True

    def handled(self, desk: str, update_id: int) -> None:
        """Done: keep the id for deduplication, drop the content (personal data is kept in one place only)."""
        with self._sessions() as session:
            session.execute(
                update(TelegramUpdate)
                .where(TelegramUpdate.desk == desk, TelegramUpdate.update_id == update_id)
                .values(status="handled", payload=None)
            )
            session.commit()

    def unhandled(self, desk: str) -> list[dict[str, Any]]:
        with self._sessions() as session:
            rows = session.scalars(
                select(TelegramUpdate.payload)
                .where(TelegramUpdate.desk == desk, TelegramUpdate.status == "received")
                .order_by(TelegramUpdate.id)
            ).all()
            return [row for row in rows if row]

    def prune(self) -> int:
        with self._sessions() as session:
            result = session.execute(
                delete(TelegramUpdate).where(
                    TelegramUpdate.status == "handled", TelegramUpdate.received_at < utcnow() - JOURNAL_KEEP
                )
            )
            session.commit()
            return int(getattr(result, "rowcount", 0) or 0)


class TelegramDesk:
    """One desk's bot: its PTB Application, its update source, its journal."""

    def __init__(
        self,
        desk: str,
        application: Application,
        journal: TelegramJournal,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        poll_timeout: int = 10,
        leader: Leader | None = None,
    ) -> None:
        """`leader`: with several instances only the holder of this desk's polling lease polls (two
        long-polling processes make Telegram answer 409); webhooks reach any instance and need none."""
        if webhook_url and not webhook_secret:
            raise ValueError("a Telegram webhook needs FRONTDOOR_TELEGRAM_WEBHOOK_SECRET")
        self.desk = desk
        self.application = application
        self.journal = journal
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.poll_timeout = poll_timeout
        self._chat_locks: dict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._tasks: set[asyncio.Task[None]] = set()
        self._poller: asyncio.Task[None] | None = None
        self.leader = leader

    @property
    def bot(self) -> Bot:
        return self.application.bot

    async def start(self) -> None:
        """Check the token (getMe), handle what a previous run left, then poll or register the webhook."""
        await self.application.initialize()
        await asyncio.to_thread(self.journal.prune)
        await self._replay_journal()
        if self.webhook_url:
            await self.bot.set_webhook(
                url=f"{self.webhook_url.rstrip('/')}/telegram/{self.desk}",
                secret_token=self.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
            )
            log.info("Telegram bot of desk %s receives updates by webhook", self.desk)
        else:
            await self.bot.delete_webhook()  # getUpdates answers 409 while a webhook is set
            self._poller = asyncio.create_task(self._poll(), name=f"telegram-poll-{self.desk}")
            log.info("Telegram bot of desk %s is polling", self.desk)

    async def stop(self, grace: float = 5.0) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._poller
        if self.leader is not None:
            with contextlib.suppress(Exception):  # another instance polls at once, not after the lease
                await asyncio.to_thread(self.leader.release)
        if self._tasks:  # let handlers in flight finish; whatever is cut off is replayed from the journal
            await asyncio.wait(set(self._tasks), timeout=grace)
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(Exception):
            await self.application.shutdown()

    async def accept(self, payload: dict[str, Any]) -> bool:
        """Journal one raw update and schedule it; False for a redelivery (nothing is done twice)."""
        update_id = payload.get("update_id") if isinstance(payload, dict) else None
        if not isinstance(update_id, int):
            raise ValueError("an update needs an integer update_id")
        try:
            update = Update.de_json(payload, self.bot)  # parse first: a broken update must not sit in the journal
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not a Telegram update: {type(exc).__name__}") from exc
        if not await asyncio.to_thread(self.journal.add, self.desk, update_id, payload):
            log.info("Telegram update %s of desk %s was delivered again; dropped", update_id, self.desk)
            return False
        self._spawn(update)
        return True

    async def _replay_journal(self) -> None:
        """Handle what was journalled but never handled (a process stopped mid-update). Safe to repeat:
        the gateway drops a message it already has (by its Telegram message id) and queues nothing."""
        for payload in await asyncio.to_thread(self.journal.unhandled, self.desk):
            try:
                self._spawn(Update.de_json(payload, self.bot))
            except (KeyError, TypeError, AttributeError):
                log.error("journalled Telegram update %s cannot be read; skipped", payload.get("update_id"))
                await asyncio.to_thread(self.journal.handled, self.desk, int(payload.get("update_id") or 0))

    async def _leading(self) -> bool:
        assert self.leader is not None
        try:
            return await asyncio.to_thread(self.leader.held)
        except Exception as exc:  # the database is down: do not poll (another instance may hold the lease)
            log.warning("Telegram polling lease of desk %s unknown: %s", self.desk, type(exc).__name__)
            return False

    def _spawn(self, update: Update) -> None:
        if update.callback_query is not None:  # answer at once: the query expires while the chat waits its turn
            self._track(asyncio.create_task(self._answer_query(update.callback_query.id)))
        self._track(asyncio.create_task(self._process(update)))

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_query(self, query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(query_id)
        except TelegramError as exc:  # too old after a restart: harmless
            log.info("callback query not answered: %s", type(exc).__name__)

    async def _process(self, update: Update) -> None:
        chat = update.effective_chat
        async with self._chat_locks[str(chat.id) if chat else "-"]:
            await self.application.process_update(update)  # PTB routes handler errors to the error handler
            await asyncio.to_thread(self.journal.handled, self.desk, update.update_id)

    async def _poll(self) -> None:
        """Long polling; each batch is journalled before the next getUpdates confirms it."""
        offset: int | None = None
        backoff = 1.0
        timeout = self.poll_timeout
        if self.leader is not None:  # renewed before every getUpdates: a poll must end well within the lease
            timeout = max(1, min(timeout, int(self.leader.ttl.total_seconds() / 3)))
        followed = False
        while True:
            if self.leader is not None and not await self._leading():
                offset = None  # the leader confirmed what it got; start from what Telegram still holds
                followed = True
                await asyncio.sleep(self.leader.ttl.total_seconds() / 3)
                continue
            if followed:  # taking over from a leader that may have died mid-update: its journal rows are ours
                followed = False
                await self._replay_journal()
            try:
                updates = await self.bot.get_updates(offset=offset, timeout=timeout, allowed_updates=Update.ALL_TYPES)
                backoff = 1.0
            except (InvalidToken, Forbidden) as exc:
                log.error("Telegram polling of desk %s stopped: %s", self.desk, type(exc).__name__)
                return
            except (NetworkError, Conflict, RetryAfter) as exc:  # TimedOut is a NetworkError
                log.warning(
                    "Telegram polling of desk %s: %s; retrying in %.0f s", self.desk, type(exc).__name__, backoff
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            for item in updates:
                try:
                    await self.accept(item.to_dict())
                except Exception as exc:  # e.g. the database is briefly locked: do not confirm, get it again
                    log.error("could not journal Telegram update %s: %s", item.update_id, type(exc).__name__)
                    await asyncio.sleep(1.0)
                    break
                offset = item.update_id + 1


class TelegramPusher:
    """Delivers queued messages to Telegram chats (people's chats and the staff chat) for the outbound worker."""

    def __init__(self, bots: dict[str, Bot]) -> None:
        self.bots = bots

    def _bot_for(self, item: OutboundItem) -> Bot:
        bot = self.bots.get(item.desk)
        if bot is None and item.channel == "telegram_staff" and self.bots:
            bot = next(iter(self.bots.values()))  # any desk's bot may post the alert
        if bot is None:
            raise DeliveryError(f"no Telegram bot for desk {item.desk}")
        return bot

    async def push(self, item: OutboundItem, progress: Progress) -> None:
        bot = self._bot_for(item)
        chat_id: int | str = int(item.user) if item.user.lstrip("-").isdigit() else item.user
        parts = split_message(item.text)
        for index in range(item.parts_sent, len(parts)):
            markup = keyboard(item.buttons) if index == len(parts) - 1 else None
            try:
                await bot.send_message(chat_id=chat_id, text=parts[index], reply_markup=markup)
            except RetryAfter as exc:
                raise DeliveryError("Telegram flood control", retry_after=_seconds(exc.retry_after)) from exc
            except (Forbidden, BadRequest) as exc:  # blocked by the user, chat gone, malformed: will not improve
                raise DeliveryError(f"{type(exc).__name__}: {exc.message}", permanent=True) from exc
            except TelegramError as exc:  # network trouble, Telegram 5xx: try again later
                raise DeliveryError(f"{type(exc).__name__}: {exc.message}") from exc
            await progress(index + 1)


def _seconds(value: object) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)  # type: ignore[arg-type]


async def webhook(request: Request) -> Response:
    """POST /telegram/{desk}: Telegram's webhook. 403 without the secret; 200 only once the update is journalled."""
    desks: dict[str, TelegramDesk] = getattr(request.app.state, "telegram_desks", {})
    secret = request.app.state.settings.telegram_webhook_secret
    if not request.app.state.settings.telegram_webhook_url or not secret:
        return JSONResponse({"error": "Telegram webhooks are not enabled"}, status_code=404)
    given = request.headers.get(SECRET_HEADER, "")
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return JSONResponse({"error": "wrong or missing secret token"}, status_code=403)
    desk = desks.get(request.path_params["desk"])
    if desk is None:
        return JSONResponse({"error": "no Telegram bot for this desk"}, status_code=404)
    try:
        payload = parse_json(await request.body())  # nested, huge-number, surrogate, bad UTF-8: BadJson
        await desk.accept(payload)
    except ValueError as exc:  # includes BadJson
        log.warning("bad Telegram webhook body: %s", mask(str(exc))[:200])
        return JSONResponse({"error": "not a Telegram update"}, status_code=400)
    return Response(status_code=200)


routes = [Route("/telegram/{desk}", webhook, methods=["POST"])]


async def start_desks(settings: Settings, gateway: Gateway, engine: Engine) -> dict[str, TelegramDesk]:
    """Start one bot per desk that has a token. A bad token is logged, not fatal (the web chat still works);
    a webhook URL without its secret is fatal (an open webhook would accept forged updates)."""
    if settings.telegram_webhook_url and not settings.telegram_webhook_secret:
        raise RuntimeError("FRONTDOOR_TELEGRAM_WEBHOOK_URL is set but FRONTDOOR_TELEGRAM_WEBHOOK_SECRET is not")
    journal = TelegramJournal(engine)
    started: dict[str, TelegramDesk] = {}
    for desk_name in settings.desks:
        token = settings.telegram_token(desk_name)
        if not token:
            continue
        channel = TelegramChannel(
            desk_name, gateway, staff_chat_id=settings.telegram_staff_chat_id, oncall_chat_id=settings.oncall_chat_id
        )
        desk = TelegramDesk(
            desk_name,
            channel.build(token, base_url=settings.telegram_base_url),
            journal,
            webhook_url=settings.telegram_webhook_url,
            webhook_secret=settings.telegram_webhook_secret,
            leader=Leader(engine, f"telegram-poll:{desk_name}", settings.instance_id, settings.leader_lease_seconds),
        )
        try:
            await desk.start()
        except Exception as exc:
            log.error(
                "Telegram bot of desk %s could not start (%s): check FRONTDOOR_TELEGRAM_TOKEN_%s",
                desk_name,
                type(exc).__name__,
                desk_name,
            )
            continue
        started[desk_name] = desk
    return started
