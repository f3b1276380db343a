"""REST channel for integrations: `POST /api/chat/{desk}` with {"sender", "text"[, "message_id"]}.

The body is read by `api_models.read_model` (size bounded before reading by bot.security.body_limit,
JSON read by bot.security.json_body, fields checked by `ChatRequest`); `GET /api/openapi.json`
describes it.

A WeChat or SMS adapter can be written against this: it returns every reply with its buttons and
its id. Messages that arrive later (staff replies, follow-ups, the answer to a message a crashed
process had received) are fetched from `GET /api/chat/{desk}/updates` (bot/channels/web.py).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.channels.api_models import ChatRequest, read_model
from bot.gateway.service import Gateway, Inbound

POLLING_CHANNELS = ("rest", "web")  # channels whose clients fetch queued messages from /api/chat/{desk}/updates


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def chat(request: Request) -> JSONResponse:
    desk = request.path_params["desk"]
    if desk not in request.app.state.settings.desks:
        return _error(404, f"unknown desk {desk!r}; this server serves {', '.join(request.app.state.settings.desks)}")
    body = await read_model(request, ChatRequest)
    if isinstance(body, JSONResponse):
        return body
    # `channel` is 'rest' or 'web' only (ChatRequest): a caller must not speak in a Telegram chat's conversation
    gateway: Gateway = request.app.state.gateway
    replies = await gateway.handle(
        Inbound(desk=desk, channel=body.channel, user=body.sender, text=body.text, message_id=body.channel_message_id())
    )
    return JSONResponse({"replies": [r.to_dict() for r in replies]})


routes = [Route("/api/chat/{desk}", chat, methods=["POST"])]
