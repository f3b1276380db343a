"""The app process: gateway, outbound worker, channels (REST, web chat, Telegram, WeChat, 微信客服) and the staff console."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.channels import api_models, rest, telegram_runtime, web, wechat, wechat_kf
from bot.channels.telegram_runtime import TelegramDesk, TelegramPusher, start_desks
from bot.console.catalogue_sync import CatalogueSync
from bot.console.routes import mount as console_mount
from bot.db.engine import make_engine
from bot.db.migrate import migrate
from bot.followups.runtime import FollowUpService
from bot.gateway.outbound import OutboundWorker
from bot.gateway.rasa_client import RasaClient
from bot.gateway.service import STAFF_CHANNEL, Decide, Gateway, triage_decide
from bot.security.abuse import AbuseLimits
from bot.security.body_limit import BodyLimit
from bot.settings import MissingSecretError, Settings, get_settings
from bot.shared_state.factory import SharedState

log = logging.getLogger(__name__)

CONSOLE_MAX_BODY_BYTES = 4 * 1024 * 1024
"""Console forms: a desk's catalogue (bot/data/desks/12345.yml, ~260 KB, ~800 KB form-encoded) is the largest."""


async def health(request: Request) -> JSONResponse:
    """200 once the app can answer well; 503 while the triage models still load (the launcher waits)."""
    rasa_up = await request.app.state.rasa.is_up()
    triage = request.app.state.triage_state()
    status = 503 if triage == "warming" else 200
    return JSONResponse(
        {"status": "warming" if status == 503 else "ok", "rasa": "up" if rasa_up else "down", "triage": triage},
        status_code=status,
    )


def _warm_up_triage() -> None:
    from bot.triage.engine import get_engine

    get_engine().warm_up()


def _start_warm_up(decide: Decide) -> Callable[[], str]:
    """Load the triage engine in the background; returns a probe: "warming", "ready" or "failed".

    Only the real engine needs it (tests that pass their own `decide` load nothing). A failure is
    logged and reported, and the app keeps serving: the gateway then sends no decision, the
    actions apologise, and Rasa's own crisis rules still apply.
    """
    if decide is not triage_decide:
        return lambda: "ready"
    task = asyncio.create_task(asyncio.to_thread(_warm_up_triage))

    def state() -> str:
        if not task.done():
            return "warming"
        if task.exception() is not None:
            return "failed"
        return "ready"

    def report(done: asyncio.Task[None]) -> None:
        if not done.cancelled() and done.exception() is not None:
            log.error("triage warm-up failed: %s", done.exception())

    task.add_done_callback(report)
    return state


def _rasa_api_token(settings: Settings) -> str | None:
    """Rasa's HTTP API token lets the gateway watch the handoff slot; without it only custom payloads count."""
    try:
        return settings.rasa_token
    except MissingSecretError:
        log.warning("FRONTDOOR_RASA_TOKEN is not set: the gateway cannot read Rasa's handoff slot")
        return None


def _configure_logging() -> None:
    """INFO for our own loggers; httpx stays at WARNING because its request lines carry bot tokens in URLs."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "telegram", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def create_app(settings: Settings | None = None, decide: Decide = triage_decide) -> Starlette:
    """Build the app; everything that opens connections happens in the lifespan, not at import."""
    settings = settings or get_settings()
    shared = SharedState(settings.redis_url, settings.limit_max_keys)  # limits and alert memory (Redis or here)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        _configure_logging()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.database_url)
        await asyncio.to_thread(migrate, engine)  # ticket store and gateway tables: one Alembic chain
        rasa = RasaClient(
            settings.rasa_url,
            timeout=settings.rasa_timeout_seconds,
            token=_rasa_api_token(settings),
            failover=settings.rasa_failover,
        )
        gateway = Gateway(
            engine,
            rasa,
            decide=decide,
            staff_chat_id=settings.telegram_staff_chat_id,
            oncall_chat_id=settings.oncall_chat_id,
            crisis_ack_minutes=settings.crisis_ack_minutes,
            handoff_ack_minutes=settings.handoff_ack_minutes,
            action_server_url=settings.action_url,
            rate_limiter=shared.limiter("conversation_messages", settings.limit_conversation_messages),
            new_conversations=shared.limiter("new_conversations", settings.limit_new_conversations),
            alerts={
                "coalesce": settings.alert_coalesce,
                "bulk": settings.alert_bulk_source,
                "max_keys": settings.limit_max_keys,
                "memory": shared.alert_memory(),
                "clock": shared.clock,
            },
            instance_id=settings.instance_id,
            inbound_lease_seconds=settings.inbound_lease_seconds,
        )
        app.state.settings = settings
        app.state.shared_state = shared
        app.state.engine = engine  # integration keys and web chat tokens (bot/channels/identity.py)
        app.state.triage_state = _start_warm_up(decide)
        app.state.rasa = rasa
        app.state.gateway = gateway
        # several instances on PostgreSQL: catalogue edits saved on any of them are made live here too
        catalogue_sync: asyncio.Task[None] | None = None
        if engine.dialect.name == "postgresql":
            sync = CatalogueSync(engine, settings)
            with contextlib.suppress(Exception):  # a new host starts with the edits (else the first poll)
                await asyncio.to_thread(sync.sync_once)
            catalogue_sync = asyncio.create_task(
                sync.run_forever(settings.catalogue_poll_seconds), name="catalogue-sync"
            )
        # recovery first: it locks the conversations it will answer, so newer messages queue behind
        recovery = await gateway.start_recovery(wait_for_rasa=settings.rasa_timeout_seconds * 3)
        telegram_desks: dict[str, TelegramDesk] = {}
        wechat_runtime = wechat.WeChatRuntime()
        kf_runtime = wechat_kf.KfRuntime()
        # return visits (回访) and SLA alerts, every minute by default
        follow_ups = FollowUpService(engine, gateway, interval=settings.follow_up_interval)
        worker = OutboundWorker(
            engine, pushers={}, instance_id=settings.instance_id, lease_seconds=settings.outbound_lease_seconds
        )
        gateway.on_outbound(worker.wake)
        await worker.start()
        try:
            telegram_desks = await start_desks(settings, gateway, engine)
            if telegram_desks:
                pusher = TelegramPusher({name: desk.bot for name, desk in telegram_desks.items()})
                worker.pushers.update({"telegram": pusher, STAFF_CHANNEL: pusher})
                worker.wake()
            app.state.telegram_desks = telegram_desks
            # WeChat Official Accounts (FRONTDOOR_WECHAT_<desk>_*): callbacks at /wechat/<desk>
            wechat_runtime = wechat.start(settings, gateway, engine, wake=worker.wake)
            if wechat_runtime.pusher is not None:
                worker.pushers[wechat.CHANNEL] = wechat_runtime.pusher
                worker.wake()
            app.state.wechat_desks = wechat_runtime.desks
            # WeCom 微信客服 accounts (FRONTDOOR_WECHAT_KF_<desk>_*): callbacks at /wechat-kf/<desk>
            kf_runtime = wechat_kf.start(settings, gateway, engine)
            if kf_runtime.pusher is not None:
                worker.pushers[wechat_kf.CHANNEL] = kf_runtime.pusher
                worker.wake()
            app.state.wechat_kf_desks = kf_runtime.desks
            kf_runtime.catch_up()  # what came while the app was down, from the stored cursor
            app.state.outbound = worker

            async def deliver_staff_message(conversation_id: str, text: str) -> None:
                """Kept for callers of the old API: staff_reply has queued the message; deliver it now."""
                worker.wake(conversation_id)

            app.state.deliver_staff_message = deliver_staff_message
            follow_ups.start()
            app.state.follow_ups = follow_ups
            yield
        finally:
            await follow_ups.stop()
            for task in (recovery, catalogue_sync):
                if task is not None:
                    task.cancel()
            for desk in telegram_desks.values():
                await desk.stop()
            await worker.stop()
            await wechat_runtime.aclose()  # after the worker: its pusher uses the channel's HTTP client
            await kf_runtime.aclose()
            await gateway.aclose()
            await rasa.aclose()
            await shared.aclose()
            engine.dispose()

    routes = [
        Route("/healthz", health),
        Route("/api/openapi.json", api_models.openapi),
        *rest.routes,
        *web.routes,
        *telegram_runtime.routes,
        *wechat.routes,
        *wechat_kf.routes,
        console_mount,
    ]
    body_limit = Middleware(
        BodyLimit,
        default=settings.max_body_bytes,  # the JSON APIs and anything not named below
        limits=[("/telegram/", telegram_runtime.MAX_UPDATE_BYTES), ("/console/", CONSOLE_MAX_BODY_BYTES)],
    )
    # abuse limits first (outermost): a refused request is answered before any handler or the body
    # limit reads or stores anything
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(AbuseLimits, settings=settings, shared_state=shared), body_limit],
    )
