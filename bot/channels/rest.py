"""REST channel: `POST /api/chat/{desk}` for integrations and the web chat, and the web chat's session.

Who speaks is proven, never claimed (bot/channels/identity.py): an integration sends its API key
(`Authorization: Bearer fdk_...`) and its own id for the person in "sender"; the web chat sends its
conversation token (`X-Chat-Token`, from `POST /api/chat/{desk}/session`) and no sender. A WeChat or
SMS adapter can be written against this: it returns every reply with its buttons and its id.
Messages that arrive later (staff replies, follow-ups, the answer to a message a crashed process had
received) are fetched from `GET /api/chat/{desk}/updates` (bot/channels/web.py).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.channels import chat_tokens
from bot.channels.identity import error, identify
from bot.gateway.service import Gateway, Inbound, Limited
from bot.security.abuse import SOURCE, too_many

MAX_BODY_BYTES = 64 * 1024


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
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return error(413, f"request body over {MAX_BODY_BYTES // 1024} KB; send shorter messages")
    try:
        payload: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return error(400, 'body must be UTF-8 JSON like {"sender": "user-1", "text": "你好"}')
    if not isinstance(payload, dict):
        return error(400, 'body must be a JSON object like {"sender": "user-1", "text": "你好"}')
    text, message_id, channel = payload.get("text", ""), payload.get("message_id"), payload.get("channel")
    if channel is not None and channel != caller.channel:  # never a Telegram chat's conversation, nor another's
        return error(400, f"'channel' must be {caller.channel!r} for this credential (or left out)")
    user = caller.user(payload.get("sender"))
    if isinstance(user, JSONResponse):
        return user
    if text is not None and not isinstance(text, str):
        return error(400, "'text' must be a string")
    if message_id is not None and not isinstance(message_id, str | int):
        return error(400, "'message_id' must be a string or a number")
    gateway: Gateway = request.app.state.gateway
    try:
        replies = await gateway.handle(
            Inbound(
                desk=desk,
                channel=caller.channel,
                user=user,
                text=text,
                message_id=str(message_id) if message_id is not None else None,
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
