"""The app process: gateway + channels (REST now; web chat, Telegram and the staff console join here)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.channels import rest
from bot.gateway.rasa_client import RasaClient
from bot.gateway.service import Gateway, SafetyScreen, triage_safety_screen
from bot.settings import Settings, get_settings
from bot.tickets.db import make_engine

log = logging.getLogger(__name__)


async def health(request: Request) -> JSONResponse:
    rasa_up = await request.app.state.rasa.is_up()
    return JSONResponse({"status": "ok", "rasa": "up" if rasa_up else "down"})


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
        try:
            yield
        finally:
            await rasa.aclose()
            engine.dispose()

    routes = [Route("/healthz", health), *rest.routes]
    return Starlette(routes=routes, lifespan=lifespan)
