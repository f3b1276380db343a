"""REST channel for integrations: `POST /api/chat/{desk}` with {"sender", "text"[, "message_id"]}.

A WeChat or SMS adapter can be written against this: it returns every reply with its buttons and
its id. Messages that arrive later (staff replies, follow-ups, the answer to a message a crashed
process had received) are fetched from `GET /api/chat/{desk}/updates` (bot/channels/web.py).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.gateway.service import Gateway, Inbound, Limited
from bot.security.abuse import SOURCE, too_many

MAX_BODY_BYTES = 64 * 1024
POLLING_CHANNELS = ("rest", "web")  # channels whose clients fetch queued messages from /api/chat/{desk}/updates


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def chat(request: Request) -> JSONResponse:
    desk = request.path_params["desk"]
    if desk not in request.app.state.settings.desks:
        return _error(404, f"unknown desk {desk!r}; this server serves {', '.join(request.app.state.settings.desks)}")
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return _error(413, f"request body over {MAX_BODY_BYTES // 1024} KB; send shorter messages")
    try:
        payload: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _error(400, 'body must be UTF-8 JSON like {"sender": "user-1", "text": "你好"}')
    if not isinstance(payload, dict):
        return _error(400, 'body must be a JSON object like {"sender": "user-1", "text": "你好"}')
    sender, text, message_id = payload.get("sender"), payload.get("text", ""), payload.get("message_id")
    if not isinstance(sender, str) or not sender.strip() or len(sender) > 128:
        return _error(400, "'sender' must be a non-empty string of at most 128 characters identifying the person")
    if text is not None and not isinstance(text, str):
        return _error(400, "'text' must be a string")
    if message_id is not None and not isinstance(message_id, str | int):
        return _error(400, "'message_id' must be a string or a number")
    channel = payload.get("channel") or "rest"
    if channel not in POLLING_CHANNELS:  # a caller must not speak in a Telegram chat's conversation
        return _error(400, "'channel' must be 'rest' (default) or 'web'")
    gateway: Gateway = request.app.state.gateway
    try:
        replies = await gateway.handle(
            Inbound(
                desk=desk,
                channel=channel,
                user=sender.strip(),
                text=text,
                message_id=str(message_id) if message_id is not None else None,
                source=request.scope.get("state", {}).get(SOURCE),
            )
        )
    except Limited as limited:  # nothing was stored: the client sends it again after Retry-After
        return too_many(limited.replies[0].text, limited.retry_after)
    return JSONResponse({"replies": [r.to_dict() for r in replies]})


routes = [Route("/api/chat/{desk}", chat, methods=["POST"])]
