"""Who is calling `/api/chat/{desk}`: decided by the server from a credential, never from a sender string.

- The web chat sends `X-Chat-Token` (bot/channels/chat_tokens.py): channel web, the token's sender.
- An integration sends `Authorization: Bearer fdk_...` (bot/channels/keys.py): channel rest, and its
  people are "<key name>:<sender>", so each integration has its own namespace.
Anything else is refused before the message is read or stored.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse

from bot.channels import chat_tokens, keys

TOKEN_INVALID = "chat_token_invalid"
"""The `code` of a 401 for an unknown or expired web token: the page asks for a new one."""
KEY_REQUIRED = "api_key_required"
MAX_SENDER = 128


@dataclass(frozen=True)
class Caller:
    """A caller proven by its credential: a web token's conversation, or an integration key."""

    channel: str  # "web" or "rest"
    web_sender: str | None = None  # the token's sender (channel web)
    key: keys.KeyInfo | None = None  # the integration's key (channel rest)

    def user(self, sender: object = None) -> str | JSONResponse:
        """The conversation user: the web token's sender, or "<key name>:<sender>" for an integration.

        `sender` is what the client sent: refused on the web (the token says who it is), required
        on REST (the integration's own id for the person).
        """
        if self.channel == "web":
            if sender is not None:
                return error(400, "the web chat's sender comes from its X-Chat-Token; do not send 'sender'")
            assert self.web_sender is not None
            return self.web_sender
        if not isinstance(sender, str) or not sender.strip() or len(sender) > MAX_SENDER:
            return error(400, "'sender' must be a non-empty string of at most 128 characters identifying the person")
        assert self.key is not None
        return f"{self.key.name}:{sender.strip()}"


def error(status: int, message: str, code: str | None = None) -> JSONResponse:
    body = {"error": message} | ({"code": code} if code else {})
    headers = {"WWW-Authenticate": 'Bearer realm="frontdoor"'} if status == 401 else None
    return JSONResponse(body, status_code=status, headers=headers)


def no_credential(desk: str) -> JSONResponse:
    return error(
        401,
        "this API needs a credential. Integrations send 'Authorization: Bearer fdk_...': "
        f"{keys.HOW_TO_GET_A_KEY}. The web chat sends 'X-Chat-Token' from POST /api/chat/{desk}/session.",
        KEY_REQUIRED,
    )


async def identify(request: Request, desk: str, channel: object = None) -> Caller | JSONResponse:
    """The proven caller of a request to `desk`, or the response that refuses it.

    `channel` is what the client asked for (body or query), checked against its credential.
    """
    engine = request.app.state.engine
    presented = keys.bearer(request.headers.get("authorization"))
    token = request.headers.get(chat_tokens.HEADER)
    if presented is not None:
        if channel not in (None, "rest"):
            return error(400, "an integration key speaks on channel 'rest' (the default); 'web' is the web chat's")
        key = await asyncio.to_thread(keys.authenticate, engine, presented)
        if key is None:
            return error(401, f"unknown or revoked API key; {keys.HOW_TO_GET_A_KEY}", KEY_REQUIRED)
        if not key.serves(desk):
            return error(403, f"this key is for desk {', '.join(key.desks)}, not {desk}; ask an admin for a key")
        return Caller("rest", key=key)
    if token is not None:
        if channel not in (None, "web"):
            return error(400, "a chat token speaks on channel 'web'; integrations use an API key")
        idle_days = request.app.state.settings.chat_token_idle_days
        sender = await asyncio.to_thread(chat_tokens.resolve, engine, token, desk, idle_days)
        if sender is None:
            return error(
                401,
                f"unknown or expired chat token for desk {desk}; get a new one from POST /api/chat/{desk}/session",
                TOKEN_INVALID,
            )
        return Caller("web", web_sender=sender)
    return no_credential(desk)
