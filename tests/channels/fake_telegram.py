"""A local fake of Telegram's Bot API on 127.0.0.1, for driving the real PTB client in tests.

Telegram's servers cannot be reached from here; this fake speaks the same HTTP methods PTB uses
(getMe, setWebhook, deleteWebhook, getUpdates long polling, sendMessage, answerCallbackQuery) and
records what the bot sent. `fail_next_sends_with_429` makes it answer like Telegram's flood control,
`fail_next_sends_with_500` like a Telegram outage; `redeliver` hands out a confirmed update again.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.privacy_notice import MARK as NOTICE_MARK
from tests.support.servers import ThreadedServer, serve_in_thread

BOT = {
    "id": 4242,
    "is_bot": True,
    "first_name": "FrontDoor",
    "username": "frontdoor_test_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}


@dataclass
class FakeTelegram:
    port: int = 0  # set by serve()
    updates: list[dict[str, Any]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    answered_callbacks: list[str] = field(default_factory=list)
    fail_next_sends_with_429: int = 0
    fail_next_sends_with_500: int = 0
    webhooks: list[dict[str, Any]] = field(default_factory=list)
    send_times: list[float] = field(default_factory=list)
    _forced: list[dict[str, Any]] = field(default_factory=list)
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000))
    _message_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- what a test does -------------------------------------------------------------------
    def user_sends(self, chat_id: int, text: str, update_id: int | None = None) -> int:
        update_id = update_id if update_id is not None else next(self._update_ids)
        entities = (
            [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}] if text.startswith("/") else []
        )
        self.updates.append(
            {
                "update_id": update_id,
                "message": {
                    "message_id": next(self._message_ids),
                    "date": int(time.time()),
                    "text": text,
                    "entities": entities,
                    "chat": {"id": chat_id, "type": "private"},
                    "from": {"id": chat_id, "is_bot": False, "first_name": "U"},
                },
            }
        )
        return update_id

    def user_sends_sticker(self, chat_id: int) -> None:
        self.updates.append(
            {
                "update_id": next(self._update_ids),
                "message": {
                    "message_id": next(self._message_ids),
                    "date": int(time.time()),
                    "sticker": {
                        "file_id": "s1",
                        "file_unique_id": "s1",
                        "width": 1,
                        "height": 1,
                        "is_animated": False,
                        "is_video": False,
                        "type": "regular",
                    },
                    "chat": {"id": chat_id, "type": "private"},
                    "from": {"id": chat_id, "is_bot": False, "first_name": "U"},
                },
            }
        )

    def user_presses(self, chat_id: int, data: str) -> None:
        self.updates.append(
            {
                "update_id": next(self._update_ids),
                "callback_query": {
                    "id": f"cb{next(self._message_ids)}",
                    "chat_instance": "ci",
                    "data": data,
                    "from": {"id": chat_id, "is_bot": False, "first_name": "U"},
                    "message": {
                        "message_id": 1,
                        "date": int(time.time()),
                        "text": "…",
                        "chat": {"id": chat_id, "type": "private"},
                    },
                },
            }
        )

    def update(self, update_id: int) -> dict[str, Any]:
        return next(u for u in self.updates if u["update_id"] == update_id)

    def redeliver(self, update_id: int) -> None:
        """Hand out an already confirmed update again (Telegram does after a lost confirmation)."""
        self._forced.append(self.update(update_id))

    def texts_to(self, chat_id: int) -> list[str]:
        """What the bot sent the chat, without the privacy notice of its first answer (`notices_to`)."""
        return [t for t in self.all_texts_to(chat_id) if not t.startswith(NOTICE_MARK)]

    def notices_to(self, chat_id: int) -> list[str]:
        """The privacy notices the bot sent the chat (bot/privacy_notice.py)."""
        return [t for t in self.all_texts_to(chat_id) if t.startswith(NOTICE_MARK)]

    def all_texts_to(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.sent if int(m["chat_id"]) == chat_id]

    def wait_for(self, condition: Any, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            time.sleep(0.05)
        raise AssertionError(f"timed out; bot sent {self.sent}")

    # --- the Bot API ------------------------------------------------------------------------
    async def _params(self, request: Request) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            return dict(await request.json())
        form = await request.form()
        params: dict[str, Any] = {}
        for key, value in form.items():
            try:
                params[key] = json.loads(str(value))
            except json.JSONDecodeError:
                params[key] = value
        return params

    async def endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        params = await self._params(request)
        if method == "getMe":
            return self.ok(BOT)
        if method in ("deleteWebhook", "setMyCommands", "close", "logOut"):
            return self.ok(True)
        if method == "setWebhook":
            self.webhooks.append(params)
            return self.ok(True)
        if method == "getUpdates":
            offset = int(params.get("offset") or 0)
            deadline = time.monotonic() + min(float(params.get("timeout") or 0), 1.0)
            while (
                time.monotonic() < deadline
                and not self._forced
                and not [u for u in self.updates if u["update_id"] >= offset]
            ):
                await asyncio.sleep(0.02)
            forced, self._forced = self._forced, []
            return self.ok(forced + [u for u in self.updates if u["update_id"] >= offset])
        if method == "answerCallbackQuery":
            self.answered_callbacks.append(str(params["callback_query_id"]))
            return self.ok(True)
        if method == "sendMessage":
            if self.fail_next_sends_with_500 > 0:
                self.fail_next_sends_with_500 -= 1
                return JSONResponse({"ok": False, "error_code": 500, "description": "Internal Server Error"}, 500)
            if self.fail_next_sends_with_429 > 0:
                self.fail_next_sends_with_429 -= 1
                return JSONResponse(
                    {
                        "ok": False,
                        "error_code": 429,
                        "description": "Too Many Requests: retry after 1",
                        "parameters": {"retry_after": 1},
                    },
                    status_code=429,
                )
            self.sent.append(params)
            self.send_times.append(time.monotonic())
            return self.ok(
                {
                    "message_id": next(self._message_ids),
                    "date": int(time.time()),
                    "text": params["text"],
                    "chat": {"id": int(params["chat_id"]), "type": "private"},
                }
            )
        return JSONResponse({"ok": False, "error_code": 404, "description": f"fake: {method} not implemented"}, 404)

    @staticmethod
    def ok(result: Any) -> JSONResponse:
        return JSONResponse({"ok": True, "result": result})

    def serve(self) -> ThreadedServer:
        server = serve_in_thread(
            Starlette(routes=[Route("/bot{token}/{method}", self.endpoint, methods=["GET", "POST"])])
        )
        self.port = server.port
        return server
