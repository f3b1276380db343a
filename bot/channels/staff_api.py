"""Authenticated staff API: answer a person on their channel, take over or hand back a conversation.

Bearer token (`FRONTDOOR_STAFF_API_TOKEN`) until staff accounts exist; every call names the staff
member in `X-Staff-User` so the log says who did what.
"""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.channels.api_models import MAX_CONVERSATION_ID, HandoffRequest, StaffReplyRequest, read_model
from bot.gateway.service import Gateway


def _authorised(request: Request) -> str | None:
    """The staff user name when the bearer token matches, else None."""
    expected = request.app.state.settings.staff_api_token
    given = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        return None
    return request.headers.get("x-staff-user", "staff-api")[:64]


async def reply(request: Request) -> JSONResponse:
    staff = _authorised(request)
    if staff is None:
        return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
    body = await read_model(request, StaffReplyRequest)
    if isinstance(body, JSONResponse):
        return body
    text = body.text
    gateway: Gateway = request.app.state.gateway
    conversation_id = request.path_params["conversation_id"]
    if len(conversation_id) > MAX_CONVERSATION_ID:
        return JSONResponse({"error": "no such conversation"}, status_code=404)
    try:
        message_id = gateway.staff_reply(conversation_id, text, staff)
    except KeyError:
        return JSONResponse({"error": "no such conversation"}, status_code=404)
    except ValueError as exc:
        return JSONResponse({"error": str(exc)}, status_code=400)
    await request.app.state.deliver_staff_message(conversation_id, text)
    return JSONResponse({"id": message_id})


async def handoff(request: Request) -> JSONResponse:
    """POST .../handoff {"to": "staff"|"bot"}: take over, or hand the conversation back to the bot."""
    if _authorised(request) is None:
        return JSONResponse({"error": "missing or wrong bearer token"}, status_code=401)
    body = await read_model(request, HandoffRequest)
    if isinstance(body, JSONResponse):
        return body
    target = body.to
    gateway: Gateway = request.app.state.gateway
    conversation_id = request.path_params["conversation_id"]
    if gateway.conversation(conversation_id) is None:
        return JSONResponse({"error": "no such conversation"}, status_code=404)
    gateway.set_handoff(conversation_id, target == "staff", "staff" if target == "staff" else None)
    return JSONResponse({"conversation": conversation_id, "owner": target})


routes = [
    Route("/api/staff/conversations/{conversation_id}/reply", reply, methods=["POST"]),
    Route("/api/staff/conversations/{conversation_id}/handoff", handoff, methods=["POST"]),
]
