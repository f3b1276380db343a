"""A request body limit enforced before and while the body is read (issue 18, item 4).

Starlette's `await request.body()` reads the whole body into memory before any handler can look at
its size, so a multi-GB POST (to the REST API, the Telegram webhook, the staff API or the console)
exhausted memory before the old `len(body) > MAX` check ran. This pure ASGI middleware sits in
front of every route:

- a Content-Length over the route's limit gets 413 at once, before one byte is read;
- a body without a length (chunked) is counted as it streams in; the chunk that crosses the limit
  ends the request with 413 and nothing more is read;
- a Content-Length that is not a number gets 400.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from starlette.types import ASGIApp, Message, Receive, Scope, Send

TOO_LARGE = "请求内容太大，请缩短后再发送。Request body too large: the limit for this address is {limit} KB."
BAD_LENGTH = "Content-Length must be a whole number of bytes."


class BodyTooLarge(Exception):
    """Raised inside the app's `receive` when a streamed body crosses the limit; answered 413 here."""


class BodyLimit:
    """Refuse request bodies over a limit: `default` bytes, or the limit of the longest matching path prefix."""

    def __init__(self, app: ASGIApp, default: int, limits: Sequence[tuple[str, int]] = ()) -> None:
        self.app = app
        self.default = default
        self.limits = sorted(limits, key=lambda item: len(item[0]), reverse=True)

    def limit_for(self, path: str) -> int:
        return next((limit for prefix, limit in self.limits if path.startswith(prefix)), self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope.get("path", ""))
        declared = _content_length(scope)
        if declared == -1:
            await _refuse(send, 400, BAD_LENGTH)
            return
        if declared is not None and declared > limit:
            await _refuse(send, 413, TOO_LARGE.format(limit=limit // 1024))
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if not started:
                await _refuse(send, 413, TOO_LARGE.format(limit=limit // 1024))


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when absent, -1 when it is not a plain number."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else -1
    return None


async def _refuse(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": message}, ensure_ascii=False).encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
