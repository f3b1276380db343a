"""REST channel: `POST /api/chat/{desk}` for integrations and the web chat, and the web chat's session.

Who speaks is proven, never claimed (bot/channels/identity.py): an integration sends its API key
(`Authorization: Bearer fdk_...`) and its own id for the person in "sender"; the web chat sends its
conversation token (`X-Chat-Token`, from `POST /api/chat/{desk}/session`) and no sender. A WeChat or
SMS adapter can be written against this: it returns every reply with its buttons and its id.
Messages that arrive later (staff replies, follow-ups, the answer to a message a crashed process had
received) are fetched from `GET /api/chat/{desk}/updates` (bot/channels/web.py).

The body is read by `api_models.read_model` (size bounded before reading by bot.security.body_limit,
JSON read by bot.security.json_body, fields checked by `ChatRequest`); `GET /api/openapi.json`
describes it.
"""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.channels import chat_tokens
from bot.channels.api_models import ChatRequest, read_model
from bot.channels.identity import error, identify
from bot.gateway.service import Gateway, Inbound, Limited
from bot.security.abuse import SOURCE, too_many


def unknown_desk(request: Request, desk: str) -> JSONResponse | None:
    desks = request.app.state.settings.desks
    return None if desk in desks else error(404, f"unknown desk {desk!r}; this server serves {', '.join(desks)}")


async def chat(request: Request) -> JSONResponse:
    desk = request.path_params["desk"]
    if (refused := unknown_desk(request, desk)) is not None:
        return refused
    caller = await identify(request, desk)  # before the body is read: no credential, nothing read or stored
    if isinstance(caller, JSONResponse):
        return caller
    body = await read_model(request, ChatRequest)  # size, JSON and field limits: 400/413, never 500
    if isinstance(body, JSONResponse):
        return body
    if body.channel is not None and body.channel != caller.channel:  # never a Telegram chat's, nor another's
        return error(400, f"'channel' must be {caller.channel!r} for this credential (or left out)")
    user = caller.user(body.sender)
    if isinstance(user, JSONResponse):
        return user
    gateway: Gateway = request.app.state.gateway
    try:
        replies = await gateway.handle(
            Inbound(
                desk=desk,
                channel=caller.channel,
                user=user,
                text=body.text,
                message_id=body.channel_message_id(),
                source=request.scope.get("state", {}).get(SOURCE),
            )
        )
    except Limited as limited:  # nothing was stored: the client sends it again after Retry-After
        return too_many(limited.replies[0].text, limited.retry_after)
    return JSONResponse({"replies": [r.to_dict() for r in replies]})


async def session(request: Request) -> JSONResponse:
    """A new web chat conversation: its token (shown once, kept by the page) and the server-chosen sender."""
    desk = request.path_params["desk"]
    if (refused := unknown_desk(request, desk)) is not None:
        return refused
    idle_days = request.app.state.settings.chat_token_idle_days
    token, sender = await asyncio.to_thread(chat_tokens.issue, request.app.state.engine, desk, idle_days)
    return JSONResponse(
        {"token": token, "sender": sender, "header": chat_tokens.HEADER, "idle_days": idle_days},
        headers={"Cache-Control": "no-store"},
    )


routes = [
    Route("/api/chat/{desk}", chat, methods=["POST"]),
    Route("/api/chat/{desk}/session", session, methods=["POST"]),
]
