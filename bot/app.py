"""The app process: gateway + channels (REST now; web chat, Telegram and the staff console join here)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from telegram.ext import Application

from bot.channels import rest, staff_api, web
from bot.channels.telegram import TelegramChannel, start_polling, stop_polling
from bot.gateway.rasa_client import RasaClient
from bot.gateway.service import Gateway, SafetyScreen, triage_safety_screen
from bot.settings import Settings, get_settings
from bot.tickets.db import make_engine

log = logging.getLogger(__name__)


async def health(request: Request) -> JSONResponse:
    rasa_up = await request.app.state.rasa.is_up()
    return JSONResponse({"status": "ok", "rasa": "up" if rasa_up else "down"})


async def _start_telegram(settings: Settings, gateway: Gateway) -> list[Application]:
    """Start one polling Telegram bot per desk that has a token; a bad token is logged, not fatal."""
    started = []
    for desk in settings.desks:
        token = settings.telegram_token(desk)
        if not token:
            continue
        application = TelegramChannel(desk, gateway).build(token, base_url=settings.telegram_base_url)
        application.bot_data["desk"] = desk
        try:
            await start_polling(application)
        except Exception:
            log.exception("Telegram bot of desk %s could not start (check FRONTDOOR_TELEGRAM_TOKEN_%s)", desk, desk)
            continue
        log.info("Telegram bot of desk %s is polling", desk)
        started.append(application)
    return started


def create_app(settings: Settings | None = None, safety_screen: SafetyScreen = triage_safety_screen) -> Starlette:
    """Build the app; everything that opens connections happens in the lifespan, not at import."""
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.database_url)
        rasa = RasaClient(settings.rasa_url, timeout=settings.rasa_timeout_seconds)
        app.state.settings = settings
        app.state.rasa = rasa
        app.state.gateway = Gateway(engine, rasa, safety_screen=safety_screen)
        telegram_apps = await _start_telegram(settings, app.state.gateway)
        bots = {str(a.bot_data.get("desk")): a for a in telegram_apps}

        async def deliver_staff_message(conversation_id: str, text: str) -> None:
            """Push channels get staff messages at once; web and REST clients poll for them."""
            desk, channel, user = conversation_id.split(":", 2)
            if channel == "telegram" and desk in bots:
                await bots[desk].bot.send_message(chat_id=int(user), text=text)

        app.state.deliver_staff_message = deliver_staff_message
        try:
            yield
        finally:
            for telegram_app in telegram_apps:
                await stop_polling(telegram_app)
            await rasa.aclose()
            engine.dispose()

    routes = [Route("/healthz", health), *rest.routes, *web.routes, *staff_api.routes]
    return Starlette(routes=routes, lifespan=lifespan)
