"""Web chat: one page per desk (`/chat/12345`, `/chat/12355`), served locally with no CDN.

The page asks `POST /api/chat/{desk}/session` for its conversation token, sends it in `X-Chat-Token`
with every call (bot/channels/identity.py) and talks to the REST channel; staff replies, follow-ups
and answers recovered after a crash reach it through `/api/chat/{desk}/updates`.
"""

from __future__ import annotations

import asyncio
import html
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.channels.identity import identify
from bot.channels.rest import unknown_desk
from bot.desks import profile
from bot.gateway.service import Gateway
from bot.gateway.store import conversation_key
from bot.privacy_notice import notice
from bot.voice import is_youth, staff, you

STATIC = Path(__file__).parent / "static"
YOUTH_PROMPT = "想聊什么、想问什么，都可以在这里说"
"""The message box's placeholder per desk (citizens: `CITIZEN_PROMPT`)."""
CITIZEN_PROMPT = "请输入您想咨询或反映的事情"


async def chat_page(request: Request) -> HTMLResponse:
    desk = request.path_params["desk"]
    if desk not in request.app.state.settings.desks:
        return HTMLResponse("<h1>没有这个服务台</h1>", status_code=404)
    page = (STATIC / "chat.html").read_text(encoding="utf-8")
    words = {
        "title": profile(desk).title,
        "desk": desk,
        "you": you(desk),
        "staff": staff(desk),
        "prompt": YOUTH_PROMPT if is_youth(desk) else CITIZEN_PROMPT,
        "notice": notice(desk),  # before the first message is sent (PIPL: notice before processing)
    }
    for key, value in words.items():
        page = page.replace("{" + key + "}", html.escape(value))
    return HTMLResponse(page)


async def updates(request: Request) -> JSONResponse:
    """Queued messages for one web (or REST) conversation after a given id: the page polls this.

    Staff replies, follow-ups and the bot's answers to messages recovered after a crash, each with
    `from` = "staff" or "bot". Delivery is at least once: clients drop ids they have already shown.
    The caller is proven as on `POST /api/chat/{desk}`: the web chat by its token (no `sender`), an
    integration by its key, seeing only its own people (`sender` is its id for the person).
    """
    desk = request.path_params["desk"]
    if (refused := unknown_desk(request, desk)) is not None:
        return refused
    caller = await identify(request, desk, request.query_params.get("channel"))
    if isinstance(caller, JSONResponse):
        return caller
    try:
        after = int(request.query_params.get("after", "0"))
    except ValueError:
        return JSONResponse({"error": "'after' must be a number"}, status_code=400)
    user = caller.user(request.query_params.get("sender"))
    if isinstance(user, JSONResponse):
        return user
    gateway: Gateway = request.app.state.gateway
    found = await asyncio.to_thread(gateway.queued_after, conversation_key(desk, caller.channel, user), after)
    return JSONResponse({"messages": found})


routes = [
    Route("/chat/{desk}", chat_page),
    Route("/api/chat/{desk}/updates", updates),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]
